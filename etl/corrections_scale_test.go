package etl

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestCorrectionsPastRowGroup re-exports, at sizes past DuckDB's row group
// (122,880), a till file with line numbers (every 7th line corrected) and a
// shop file without (every 10th line dropped), next to a header-only file
// of the same target (an empty insert before a large one: the pattern that
// made DuckDB 1.5.6 lose rows). Expected figures are computed here from
// what the test wrote, not from the loader.
func TestCorrectionsPastRowGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	const n = 130_000
	ctx := context.Background()
	dir := t.TempDir()
	shop := sourceLike(t, "pos_sales", "shop", "shop_*.csv", "")
	delete(shop.Columns, "line_no")
	opts := Options{AsOf: asOf2024(), Mappings: []Mapping{shop}}
	write := func(name string, fn func(w *bufio.Writer)) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		fn(w)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	const shopHeader = "单号,门店编号,销售时间,会员卡号,商品编码,数量,单价\n"
	qty := func(i int, corrected bool) int {
		q := 1 + i%5
		if corrected && i%7 == 0 {
			q++
		}
		return q
	}
	till := func(corrected bool) func(w *bufio.Writer) {
		return func(w *bufio.Writer) {
			w.WriteString(tillHeader)
			for i := 0; i < n; i++ {
				fmt.Fprintf(w, "T%d,%d,ST01,北京朝阳店,张三,2024/1/5 14:22,M0001,,P001,%d,10.00,0,\n", i/3, i%3+1, qty(i, corrected))
			}
		}
	}
	shopLines := func(drop bool) func(w *bufio.Writer) {
		return func(w *bufio.Writer) {
			w.WriteString(shopHeader)
			for i := 0; i < n; i++ {
				if drop && i%10 == 0 {
					continue
				}
				fmt.Fprintf(w, "W%d,ST02,2024/2/5 10:00,M0002,P%03d,%d,2.00\n", i/4, i%4, 1+i%3)
			}
		}
	}
	wh := openMem(t)
	load := func(paths ...string) *Report {
		t.Helper()
		rep, err := Load(ctx, wh, paths, opts)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	// Revenue in cents, from what was written.
	revenue := func(corrected bool) (cents int64) {
		for i := 0; i < n; i++ {
			cents += int64(qty(i, corrected)) * 1000
			cents += int64(1+i%3) * 200
		}
		return cents
	}
	cents := func() int64 {
		return queryInt(t, wh, `SELECT CAST(sum(amount) * 100 AS BIGINT) FROM fact_sales`)
	}
	rep := load(write("pos_sales_0.csv", func(w *bufio.Writer) { w.WriteString(tillHeader) }),
		write("pos_sales_1.csv", till(false)), write("shop_1.csv", shopLines(false)))
	if rep.Read != 2*n || rep.Loaded != 2*n || rep.Duplicates != 0 || rep.Rejected != 0 {
		t.Fatalf("first load: read %d loaded %d duplicates %d rejected %d, want %d %d 0 0", rep.Read, rep.Loaded, rep.Duplicates, rep.Rejected, 2*n, 2*n)
	}
	if got, want := cents(), revenue(false); got != want {
		t.Fatalf("first load: revenue %d cents, want %d", got, want)
	}
	corrections := int64(0)
	for i := 0; i < n; i++ {
		if i%7 == 0 {
			corrections++
		}
	}
	kept := int64(n - n/10)
	rep = load(write("pos_sales_2.csv", till(true)), write("shop_2.csv", shopLines(true)))
	byName := map[string]FileReport{}
	for _, f := range rep.Files {
		byName[filepath.Base(f.Path)] = f
	}
	if f := byName["pos_sales_2.csv"]; f.Loaded != corrections || f.Duplicates != n-corrections || f.Rejected != 0 {
		t.Errorf("corrected till export: loaded %d duplicates %d rejected %d, want %d %d 0", f.Loaded, f.Duplicates, f.Rejected, corrections, n-corrections)
	}
	if f := byName["shop_2.csv"]; f.Read != kept || f.Loaded != 0 || f.Duplicates != kept {
		t.Errorf("shop re-export without every 10th line: read %d loaded %d duplicates %d, want %d 0 %d", f.Read, f.Loaded, f.Duplicates, kept, kept)
	}
	if got, want := cents(), revenue(true); got != want {
		t.Errorf("after the corrections: revenue %d cents, want %d", got, want)
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM fact_sales WHERE is_reversal`:                                     corrections,
		`SELECT count(*) FROM fact_sales WHERE restated_by_run = 2`:                             corrections,
		`SELECT count(*) FROM fact_sales_current`:                                               2 * n,
		`SELECT count(*) FROM etl_reject WHERE run_id = 2 AND rule = 'correction'`:              corrections,
		`SELECT count(*) FROM etl_reject WHERE run_id = 2 AND rule = 'duplicate'`:               n - corrections + kept,
		`SELECT count(*) FROM fact_sales WHERE source = 'shop' AND restated_by_run IS NOT NULL`: 0,
	} {
		if got := queryInt(t, wh, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
}
