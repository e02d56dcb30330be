package etl

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// parallelMapping maps the test exports: three fields of a product.
const parallelMapping = `sources:
  - name: par
    target: products
    pattern: "par*.csv"
    columns:
      product_code: [order_id]
      product_name: [store]
      list_price: [price]
`

// extractBoth extracts text (a file of encoding enc) in order and in
// blocks of block bytes, and returns both: records, rejects and the staged
// rows, each staged row as its CSV fields, sorted by line. Block 0 keeps
// the sizes a load uses (parallelMinBytes, blockBytes).
func extractBoth(t *testing.T, text []byte, enc string, block int) (seq, par extracted) {
	t.Helper()
	ms, err := ParseMappings("ckm.yaml", []byte(parallelMapping))
	if err != nil {
		t.Fatal(err)
	}
	d, err := detectHead("par.csv", text[:min(len(text), sniffSize)], &ms[0])
	if err != nil {
		t.Fatal(err)
	}
	if enc != "" {
		d.Encoding = enc
	}
	run := func(parallel bool) extracted {
		defer func(min int64, b int) { parallelMinBytes, blockBytes = min, b }(parallelMinBytes, blockBytes)
		switch {
		case !parallel:
			parallelMinBytes = 1 << 62
		case block > 0:
			parallelMinBytes, blockBytes = 0, block
		} // block 0: the sizes a load uses
		x, err := extractTabular(context.Background(), bytes.NewReader(text), int64(len(text)), d, &ms[0], t.TempDir())
		if err != nil {
			t.Fatalf("parallel %v: %v", parallel, err)
		}
		got := extracted{records: x.records, rejects: x.rejects, files: len(x.files())}
		for _, f := range x.files() {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
			if err != nil {
				t.Fatalf("staged file %s: %v", f, err)
			}
			got.rows = append(got.rows, rows[1:]...)
		}
		slices.SortFunc(got.rows, func(a, b []string) int {
			i, _ := strconv.Atoi(a[0])
			j, _ := strconv.Atoi(b[0])
			return cmp.Compare(i, j)
		})
		return got
	}
	return run(false), run(true)
}

type extracted struct {
	records int64
	rejects []reject
	rows    [][]string
	files   int
}

// TestParallelSameAsSequential extracts exports in blocks parsed apart and
// in order: the same records, rejects (rule, line, record) and staged
// lines, for files without a quote (parsed in blocks to the end), with a
// quoted header, with quotes from the middle on (a field spanning lines
// across a block's end, an unbalanced quote), with a line longer than a
// block, CRLF and CR line ends, blank lines, short rows, NUL bytes, bytes
// not in the encoding, a field too long, trailing delimiters, no final
// line break, a BOM, and a GB18030 file.
func TestParallelSameAsSequential(t *testing.T) {
	lines := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			b.WriteString(f(i))
		}
		return b.String()
	}
	plain := func(i int) string {
		switch {
		case i%97 == 0:
			return "\n" // blank
		case i%89 == 0:
			return fmt.Sprintf("O%d,S%d\n", i, i%7) // short: malformed
		case i%83 == 0:
			return fmt.Sprintf("O%d,S\x00%d,1,2\n", i, i) // NUL
		case i%79 == 0:
			return fmt.Sprintf("O%d,S\xff%d,1,2\n", i, i) // not UTF-8
		case i%73 == 0:
			return fmt.Sprintf("O%d,S%d,2,9,,\n", i, i) // trailing delimiters
		}
		return fmt.Sprintf("O%d,门店%d,%d,%d.50\n", i, i%13, i%5, i)
	}
	header := "order_id,store,qty,price\n"
	long := strings.Repeat("x", 5000)
	cases := []struct {
		name  string
		text  string
		enc   string
		block int
		// blocks: whether the data was parsed in blocks (more staged files)
		blocks bool
	}{
		{"no quotes", header + lines(3000, plain), "", 1000, true},
		{"no final line break", header + strings.TrimSuffix(lines(500, plain), "\n"), "", 700, true},
		{"blank lines before the header", "\n\n" + header + lines(800, plain), "", 512, true},
		{"quoted header", `"order_id","store","qty","price"` + "\n" + lines(2000, plain), "", 900, true},
		{"BOM", "\xef\xbb\xbf" + header + lines(1000, plain), "", 800, true},
		{"CRLF", strings.ReplaceAll(header+lines(2000, plain), "\n", "\r\n"), "", 1000, true},
		{"CR only", strings.NewReplacer("\n", "\r", "\x00", "0", "\xff", "f").Replace(header + lines(2000, plain)), "", 1000, true},
		{"quotes from the middle", header + lines(1500, plain) +
			lines(400, func(i int) string {
				switch {
				case i%50 == 0:
					return fmt.Sprintf("O%d,\"store\n%d\nspans lines\",3,1\n", i, i) // a field over three lines
				case i%77 == 0:
					return fmt.Sprintf("O%d,\"unbalanced,1,2\n", i)
				}
				return plain(i)
			}) + lines(500, plain), "", 1000, true},
		{"line longer than a block", header + lines(300, plain) + "O1," + long + ",1,2\n" + lines(300, plain), "", 1000, true},
		{"field too long", header + lines(100, plain) + "O2," + strings.Repeat("y", maxFieldBytes+1) + ",1,2\n" + lines(100, plain), "", 4096, true},
		{"header only", header, "", 100, false},
		{"blank", "\n\n", "", 100, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seq, par := extractBoth(t, []byte(c.text), c.enc, c.block)
			if seq.records != par.records {
				t.Errorf("records: in order %d, in blocks %d", seq.records, par.records)
			}
			if !reflect.DeepEqual(seq.rejects, par.rejects) {
				t.Errorf("rejects differ:\nin order  %v\nin blocks %v", brief(seq.rejects), brief(par.rejects))
			}
			if !reflect.DeepEqual(seq.rows, par.rows) {
				t.Errorf("staged lines differ: in order %d, in blocks %d", len(seq.rows), len(par.rows))
				for i := range min(len(seq.rows), len(par.rows)) {
					if !reflect.DeepEqual(seq.rows[i], par.rows[i]) {
						t.Errorf("first difference: %q against %q", seq.rows[i], par.rows[i])
						break
					}
				}
			}
			if c.blocks != (par.files > 1) {
				t.Errorf("%d staged files in blocks: parsed in blocks %v, want %v", par.files, par.files > 1, c.blocks)
			}
			if seq.files != 1 && c.text != "\n\n" {
				t.Errorf("in order: %d staged files", seq.files)
			}
			if c.name == "no quotes" && (seq.records < 2900 || len(seq.rejects) < 60) {
				t.Errorf("the export is not what the test means: %d records, %d rejects", seq.records, len(seq.rejects))
			}
		})
	}
	// A field spanning lines, and an unbalanced quote, wherever a block
	// ends: the blocks stop at the first quote.
	t.Run("quotes at every block end", func(t *testing.T) {
		text := header + lines(200, plain) + lines(300, func(i int) string {
			switch i % 7 {
			case 0:
				return fmt.Sprintf("O%d,\"store\n%d\n\"\"spans\"\" lines\",3,1\n", i, i)
			case 3:
				return fmt.Sprintf("O%d,\"unbalanced,1,2\n", i)
			}
			return plain(i)
		})
		for block := 256; block < 4096; block += 61 {
			seq, par := extractBoth(t, []byte(text), "", block)
			if seq.records != par.records || !reflect.DeepEqual(seq.rejects, par.rejects) || !reflect.DeepEqual(seq.rows, par.rows) {
				t.Fatalf("blocks of %d bytes: in order %d records %d rejects %d lines, in blocks %d, %d, %d", block,
					seq.records, len(seq.rejects), len(seq.rows), par.records, len(par.rejects), len(par.rows))
			}
		}
	})
	// At the sizes a load uses: a 12 MB file, parsed in 2 MB blocks past
	// 8 MB, its lines crossing the blocks' ends wherever they fall, and a
	// field spanning lines 10 MB in.
	t.Run("sizes a load uses", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(header)
		for i := 1; b.Len() < 12<<20; i++ {
			if b.Len() > 10<<20 && i%1000 == 0 {
				fmt.Fprintf(&b, "O%d,\"store\n%d\",3,1\n", i, i)
				continue
			}
			b.WriteString(plain(i))
		}
		if int64(b.Len()) < parallelMinBytes {
			t.Fatalf("%d bytes: below the parallel size", b.Len())
		}
		seq, par := extractBoth(t, []byte(b.String()), "", 0)
		if seq.records != par.records || !reflect.DeepEqual(seq.rejects, par.rejects) || !reflect.DeepEqual(seq.rows, par.rows) {
			t.Errorf("in order %d records %d rejects %d lines, in blocks %d, %d, %d",
				seq.records, len(seq.rejects), len(seq.rows), par.records, len(par.rejects), len(par.rows))
		}
		if par.files < 3 || seq.records < 300000 {
			t.Errorf("%d staged files in blocks, %d records: not the sizes meant", par.files, seq.records)
		}
	})
	t.Run("GB18030", func(t *testing.T) {
		text, err := simplifiedchinese.GB18030.NewEncoder().String(header + lines(3000, func(i int) string {
			if i%79 == 0 {
				return fmt.Sprintf("O%d,门店%d,%d,%d.50\n", i, i, i%5, i) // encoded like the rest
			}
			return plain(i)
		}))
		if err != nil {
			t.Fatal(err)
		}
		seq, par := extractBoth(t, []byte(text), "gb18030", 1500)
		if seq.records != par.records || !reflect.DeepEqual(seq.rejects, par.rejects) || !reflect.DeepEqual(seq.rows, par.rows) {
			t.Errorf("GB18030: in order %d records %d rejects %d lines, in blocks %d, %d, %d",
				seq.records, len(seq.rejects), len(seq.rows), par.records, len(par.rejects), len(par.rows))
		}
		if len(seq.rows) == 0 || !strings.Contains(strings.Join(seq.rows[0], ","), "门店") || par.files < 2 {
			t.Errorf("decoded lines %q, %d staged files in blocks", seq.rows[:min(1, len(seq.rows))], par.files)
		}
	})
}

func brief(rs []reject) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%d:%s", r.line, r.rule))
	}
	return out
}

// parallelLoadMapping maps a plain sales export, beside joinMapping's
// joined one (raw files staged whole).
const parallelLoadMapping = `sources:
  - name: ps
    target: sales
    channel: pos
    pattern: "ps*.csv"
    columns:
      order_id: [order_id]
      line_no: [line_no]
      ts: [ts]
      member_card: [card]
      product_code: [sku]
      quantity: [qty]
      unit_price: [price]
`

// TestParallelLoadSameAsSequential loads the same exports with their files
// parsed in blocks and in order: the same fact lines, customers and
// ledger, for a mapped export (staged from several files) and a joined
// one (its raw files staged from several).
func TestParallelLoadSameAsSequential(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var ps, items, orders strings.Builder
	bad, orphans := 0, 0
	ps.WriteString("order_id,line_no,ts,card,sku,qty,price\n")
	for i := 1; i <= 3000; i++ {
		qty, ts := fmt.Sprint(i%4+1), fmt.Sprintf("2024-01-%02d 10:00:00", i%28+1)
		switch {
		case i%97 == 0:
			qty, bad = "two", bad+1
		case i%101 == 0:
			ts, bad = "2024-02-30 10:00:00", bad+1
		case i%89 == 0:
			fmt.Fprintf(&ps, "O%d,%d\n", i/3, i%3+1)
			bad++
			continue
		}
		card := ""
		if i%5 != 0 {
			card = fmt.Sprintf("M%03d", i%70)
		}
		fmt.Fprintf(&ps, "O%d,%d,%s,%s,P%d,%s,%d.50\n", i/3, i%3+1, ts, card, i%9, qty, i%40)
	}
	orders.WriteString("id,ts,cust\n")
	for k := 0; k < 300; k++ {
		fmt.Fprintf(&orders, "A%d,2024-03-%02d 09:00,%d\n", k, k%28+1, k%40)
	}
	items.WriteString("oid,sku,price\n")
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&items, "A%d,P%d,%d.25\n", i%310, i%7, i%30) // A300–A309: no order
		if i%310 >= 300 {
			orphans++
		}
	}
	writeFile(t, dir, "ps.csv", ps.String(), false)
	writeFile(t, dir, "orders.csv", orders.String(), false)
	writeFile(t, dir, "items.csv", items.String(), false)
	ms, err := ParseMappings("ckm.yaml", []byte(parallelLoadMapping))
	if err != nil {
		t.Fatal(err)
	}
	ms = append(ms, joinMappings(t, "guest", "")...)
	load := func(parallel bool) [3]string {
		defer func(min int64, b int) { parallelMinBytes, blockBytes = min, b }(parallelMinBytes, blockBytes)
		parallelMinBytes, blockBytes = 1<<62, 4096
		if parallel {
			parallelMinBytes = 0
		}
		w := openMem(t)
		if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Mappings: ms}); err != nil {
			t.Fatal(err)
		}
		return [3]string{
			queryString(t, w, `SELECT count(*) || ' lines: ' || string_agg(order_id || '/' || line_no || '/' || quantity || '/' || amount || '/' || order_ts || '/' || product_key, ' '
				ORDER BY order_id, line_no, amount) FROM fact_sales`),
			queryString(t, w, `SELECT count(*) || ' customers: ' || string_agg(k, ' ' ORDER BY k) FROM (
				SELECT string_agg(DISTINCT order_id, ',' ORDER BY order_id) AS k FROM fact_sales WHERE customer_id > 0 GROUP BY customer_id)`),
			queryString(t, w, `SELECT count(*) FILTER (WHERE severity = 'error') || ' rejects: ' || string_agg(regexp_extract(path, '[^/]+$') || ':' || line || ' ' || rule, '|' ORDER BY path, line, rule)
				FROM etl_reject`),
		}
	}
	seq, par := load(false), load(true)
	for i, what := range []string{"fact lines", "customers", "ledger"} {
		if seq[i] != par[i] {
			t.Errorf("%s differ:\nin order  %.300s\nin blocks %.300s", what, seq[i], par[i])
		}
	}
	// The exports are what the test means: lines loaded, the faults and
	// the orphan items rejected.
	if !strings.HasPrefix(seq[0], fmt.Sprintf("%d lines:", 3000-bad+2000-orphans)) || !strings.HasPrefix(seq[2], fmt.Sprintf("%d rejects:", bad+orphans)) {
		t.Errorf("in order: %.40s; %.60s", seq[0], seq[2])
	}
}
