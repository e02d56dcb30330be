package etl

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestStageAheadAnotherLoadBetween: a load stages its files in a
// transaction of its own before the load's (stageAhead), numbering them
// after the largest file id it saw. When another load of the same process
// commits in between and takes those ids, the load stages its files again
// after the new largest id: each file's lines land under its own etl_file
// row, and the ledger of each run accounts for its own lines only.
func TestStageAheadAnotherLoadBetween(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	header := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	lines := func(prefix string, n int) string {
		var b strings.Builder
		b.WriteString(header)
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "%s%d,1,ST01,北京朝阳店,张三,2024-03-%02d 10:00,M%d,,P001,1,100,0,100\n", prefix, i, 1+i%28, i%5)
		}
		return b.String()
	}
	outer, inner := t.TempDir(), t.TempDir()
	writeFile(t, outer, "pos_sales_1.csv", lines("A", 7), false)
	writeFile(t, outer, "pos_sales_2.csv", lines("B", 5), false)
	writeFile(t, inner, "pos_sales_3.csv", lines("C", 3), false)

	var logs []string
	between := 0
	rep, err := Load(ctx, w, []string{outer}, Options{AsOf: asOf2024(), stageAhead: true,
		Log: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) },
		afterStaging: func(ctx context.Context) error {
			between++
			_, err := Load(ctx, w, []string{inner}, Options{AsOf: asOf2024()})
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	if between != 1 {
		t.Fatalf("the hook between staging and the load ran %d times", between)
	}
	if rep.Loaded != 12 {
		t.Errorf("outer load: %d lines loaded, want 12", rep.Loaded)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "files staged again") {
		t.Errorf("the load did not say it staged its files again: %q", logs)
	}
	// The inner load took file id 1; the outer one's files follow it.
	for _, c := range []struct {
		file string
		id   int64
		want int64
	}{{"pos_sales_3.csv", 1, 3}, {"pos_sales_1.csv", 2, 7}, {"pos_sales_2.csv", 3, 5}} {
		id := queryInt(t, w, `SELECT file_id FROM etl_file WHERE path LIKE ?`, "%"+string(filepath.Separator)+c.file)
		if id != c.id {
			t.Errorf("%s: file id %d, want %d", c.file, id, c.id)
		}
		if n := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE etl_file_id = ?`, id); n != c.want {
			t.Errorf("%s: %d fact lines under file id %d, want %d", c.file, n, id, c.want)
		}
		prefix := map[string]string{"pos_sales_3.csv": "C", "pos_sales_1.csv": "A", "pos_sales_2.csv": "B"}[c.file]
		if n := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE etl_file_id = ? AND NOT starts_with(order_id, ?)`, id, prefix); n != 0 {
			t.Errorf("%s: %d lines of another file under its id", c.file, n)
		}
	}
	// Each run's counts are its own.
	for run, want := range map[int64]int64{1: 3, 2: 12} {
		if n := queryInt(t, w, `SELECT rows_loaded FROM etl_run WHERE run_id = ?`, run); n != want {
			t.Errorf("run %d: %d rows loaded, want %d", run, n, want)
		}
	}
}

// TestDuckDBTakesTxTablesForEmpty pins what stageAhead and fileRows are
// built on: DuckDB 1.5.6 estimates a table by its committed rows, so a
// table filled in the reading transaction is planned as empty (~0 rows),
// and the same rows committed before are planned as what they are.
// (DataTable::MaxThreads counts committed rows too: such a table is also
// scanned on one thread.) Should a DuckDB upgrade count a transaction's own
// rows, this test says so, and the split of staging and file rows may go.
func TestDuckDBTakesTxTablesForEmpty(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	estimate := func(table string) string {
		t.Helper()
		var kind, plan string
		if err := conn.QueryRowContext(ctx, "EXPLAIN SELECT * FROM "+table).Scan(&kind, &plan); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(plan, "\n") {
			if i := strings.Index(l, "~"); i >= 0 && strings.Contains(l, "row") {
				return strings.Trim(strings.TrimSpace(l[i:]), "│ ")
			}
		}
		t.Fatalf("no estimate in the plan of %s:\n%s", table, plan)
		return ""
	}
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TEMP TABLE committed_rows AS SELECT i FROM range(300000) t(i)`)
	exec(`BEGIN`)
	exec(`CREATE TEMP TABLE tx_rows AS SELECT i FROM range(300000) t(i)`)
	if got := estimate("tx_rows"); got != "~0 rows" {
		t.Errorf("300,000 rows written in the reading transaction: estimated %q (DuckDB now counts them: see stageAhead)", got)
	}
	if got := estimate("committed_rows"); got != "~300,000 rows" {
		t.Errorf("300,000 committed rows: estimated %q", got)
	}
	exec(`COMMIT`)
}

// TestStageAheadOverSmallLoadBytes: a load of more than SmallLoadBytes of
// files and more than OneThreadLines lines stages them ahead of its
// transaction (its trace has the step "stage ahead") and runs on the
// warehouse's threads; a smaller one, in bytes or in lines, stages inside
// it ("stage") on one thread; the rule left to the load's transaction
// holds on every line of the larger one.
func TestStageAheadOverSmallLoadBytes(t *testing.T) {
	ctx := context.Background()
	header := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	write := func(n int) string {
		var b strings.Builder
		b.WriteString(header)
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "S%d,1,ST01,北京朝阳店,张三,2024-03-%02d 10:00,M%d,,P001,1,100,0,100\n", i, 1+i%28, i%500)
		}
		// Three lines sent twice: duplicates, whose ledger entries carry
		// their raw records too, rebuilt with the unknown products'.
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(&b, "S%d,1,ST01,北京朝阳店,张三,2024-03-%02d 10:00,M%d,,P001,1,100,0,100\n", i, 1+i%28, i%500)
		}
		dir := t.TempDir()
		p := writeFile(t, dir, "pos_sales_1.csv", b.String(), false)
		return p
	}
	for _, c := range []struct {
		lines      int
		big, ahead bool
	}{{100, false, false}, {80_000, true, false}, {130_000, true, true}} {
		p := write(c.lines)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if big := st.Size() > SmallLoadBytes; big != c.big {
			t.Fatalf("%d lines: %d bytes, over SmallLoadBytes %v", c.lines, st.Size(), big)
		}
		var trace bytes.Buffer
		w := openMem(t)
		threads := func(q rowQuerier) int64 { return duckThreads(t, q) }
		before, during := threads(w.DB), int64(0)
		rep, err := Load(ctx, w, []string{p}, Options{AsOf: asOf2024(), Trace: &trace,
			AfterIdentity: func(ctx context.Context, tx *sql.Tx) error { during = threads(tx); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int64{false: 1, true: before}[c.ahead]; during != want {
			t.Errorf("%d lines (%d bytes): %d DuckDB threads during the load, want %d (the warehouse's %d)", c.lines, st.Size(), during, want, before)
		}
		if rep.Loaded != int64(c.lines) || rep.Duplicates != 3 {
			t.Errorf("%d lines: %d loaded, %d duplicates; want %[1]d and 3", c.lines, rep.Loaded, rep.Duplicates)
		}
		if got := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE rule = 'duplicate' AND raw_record LIKE '%"order_id":"S_"%' AND raw_record LIKE '%"product_code":"P001"%'`); got != 3 {
			t.Errorf("%d lines: %d duplicate entries with their raw record, want 3", c.lines, got)
		}
		ahead := regexp.MustCompile(`(?m)^ *[0-9.]+s stage ahead( cpu|$)`).MatchString(trace.String())
		inside := regexp.MustCompile(`(?m)^ *[0-9.]+s stage( cpu|$)`).MatchString(trace.String())
		if ahead != c.ahead || inside == c.ahead {
			t.Errorf("%d lines (%d bytes): staged ahead %v, inside %v; want ahead %v", c.lines, st.Size(), ahead, inside, c.ahead)
		}
		// No product file: every line's product is unknown, a rule the
		// load's transaction applies after cleaning ahead — on every line
		// of more than one row group (122,880 lines), each with its raw
		// record rebuilt (the duplicates' warnings go with them).
		if got := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE rule = 'product_unknown' AND raw_record LIKE '%"product_code":"P001"%'`); got != int64(c.lines) || rep.Warned != int64(c.lines) {
			t.Errorf("%d lines: %d product_unknown entries with their raw record, %d warned; want every line", c.lines, got, rep.Warned)
		}
		// Staged ahead, the lines are cleaned there too: c_sales is made
		// before the staging transaction's trace line, and not again.
		tr := trace.String()
		clean := regexp.MustCompile(`validate "CREATE OR REPLACE TEMP TABLE c_sales(_d)? AS`).FindAllStringIndex(tr, -1)
		staged := regexp.MustCompile(`(?m)^ *[0-9.]+s stage( ahead)?( cpu|$)`).FindStringIndex(tr)
		if len(clean) != 1 || staged == nil || (clean[0][0] < staged[0]) != c.ahead {
			t.Errorf("%d lines: c_sales made at %v, the staging step's line at %v; want once, before it %v", c.lines, clean, staged, c.ahead)
		}
	}
}

// TestLoadedMeanwhile: a file that another load of the same process loads
// while this one runs (after this one found it not loaded before) fails
// this load with the file and the other run named, and leaves the other
// load's lines once — staged ahead or inside the transaction alike.
func TestLoadedMeanwhile(t *testing.T) {
	ctx := context.Background()
	header := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	for _, ahead := range []bool{false, true} {
		t.Run(fmt.Sprintf("ahead=%v", ahead), func(t *testing.T) {
			w := openMem(t)
			outer, inner := t.TempDir(), t.TempDir()
			body := header + "A1,1,ST01,北京朝阳店,张三,2024-03-01 10:00,M1,,P001,1,100,0,100\n" +
				"A2,1,ST01,北京朝阳店,张三,2024-03-02 10:00,M2,,P001,2,100,0,200\n"
			writeFile(t, outer, "pos_sales_1.csv", body, false)
			writeFile(t, outer, "pos_sales_2.csv", header+"B1,1,ST01,北京朝阳店,张三,2024-03-03 10:00,M3,,P001,1,100,0,100\n", false)
			writeFile(t, inner, "pos_sales_9.csv", body, false) // the same content under another name
			opts := Options{AsOf: asOf2024(), stageAhead: ahead, stageInLoad: !ahead}
			hook := func(ctx context.Context) error {
				_, err := Load(ctx, w, []string{inner}, Options{AsOf: asOf2024()})
				return err
			}
			if ahead {
				opts.afterStaging = hook
			} else {
				opts.beforeLoad = hook
			}
			_, err := Load(ctx, w, []string{outer}, opts)
			if err == nil || !strings.Contains(err.Error(), "pos_sales_9.csv (the same content) was loaded by run 1 while this load ran") {
				t.Fatalf("want the load to fail naming pos_sales_9.csv and run 1, got %v", err)
			}
			if n := queryInt(t, w, `SELECT count(*) FROM fact_sales`); n != 2 {
				t.Errorf("%d fact lines, want the inner load's 2", n)
			}
			if n := queryInt(t, w, `SELECT count(*) FROM etl_run`); n != 1 {
				t.Errorf("%d runs recorded, want 1", n)
			}
		})
	}
}
