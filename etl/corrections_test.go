package etl

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

const tillHeader = "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"

// till is one till export line: order, line, store, quantity, unit price.
func till(order string, line int, store string, qty int, price string) string {
	return fmt.Sprintf("%s,%d,%s,北京朝阳店,张三,2024/1/5 14:22,M0001,,P001,%d,%s,0,\n", order, line, store, qty, price)
}

// sourceLike returns a copy of the built-in mapping name, renamed and
// re-patterned, with a correction policy.
func sourceLike(t *testing.T, builtin, name, pattern, corrections string) Mapping {
	t.Helper()
	ms, err := DefaultMappings()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == builtin {
			m.Name, m.Pattern, m.Corrections = name, pattern, corrections
			return m
		}
	}
	t.Fatalf("no built-in mapping %s", builtin)
	return Mapping{}
}

func TestCorrectedReExport(t *testing.T) {
	ctx := context.Background()
	first := till("S1", 1, "ST01", 5, "10.00") + till("S1", 2, "ST01", 1, "20.00") + till("S2", 1, "ST01", 2, "7.50")
	// The re-export: S1 line 1 corrected (quantity 5 → 6), the rest unchanged.
	second := till("S1", 1, "ST01", 6, "10.00") + till("S1", 2, "ST01", 1, "20.00") + till("S2", 1, "ST01", 2, "7.50")
	for _, tc := range []struct {
		policy             string
		loaded, rejected   int64
		revenue            string
		rule, severity     string
		restated, reversal int64
	}{
		{CorrectionsRestate, 1, 0, "95.00", "correction", "info", 1, 1},
		{CorrectionsReject, 0, 1, "85.00", "correction_rejected", "error", 0, 0},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			dir := t.TempDir()
			w := openMem(t)
			opts := Options{AsOf: asOf2024(), Mappings: []Mapping{sourceLike(t, "pos_sales", "till", "till_*.csv", tc.policy)}}
			writeFile(t, dir, "till_0105.csv", tillHeader+first, false)
			if _, err := Load(ctx, w, []string{dir + "/till_0105.csv"}, opts); err != nil {
				t.Fatal(err)
			}
			writeFile(t, dir, "till_0105_v2.csv", tillHeader+second, false)
			rep, err := Load(ctx, w, []string{dir + "/till_0105_v2.csv"}, opts)
			if err != nil && !(tc.rejected > 0 && rep != nil) {
				t.Fatal(err)
			}
			f := rep.Files[0]
			if f.Loaded != tc.loaded || f.Rejected != tc.rejected || f.Duplicates != 2 {
				t.Errorf("re-export: loaded %d rejected %d duplicates %d, want %d %d 2", f.Loaded, f.Rejected, f.Duplicates, tc.loaded, tc.rejected)
			}
			// 5×10 + 20 + 15 = 85 before; restated: 6×10 + 20 + 15 = 95.
			if got := queryString(t, w, `SELECT CAST(sum(amount) AS VARCHAR) FROM fact_sales`); got != tc.revenue {
				t.Errorf("revenue %s, want %s", got, tc.revenue)
			}
			// The decision is in the ledger, pointing at run 1's line 2.
			if n := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE run_id = 2 AND line = 2 AND rule = ? AND severity = ?
				AND ref_run_id = 1 AND ref_line = 2`, tc.rule, tc.severity); n != 1 {
				t.Errorf("ledger has %d %s entries for line 2 pointing at run 1 line 2, want 1", n, tc.rule)
			}
			if n := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE run_id = 2 AND severity <> 'warn'`); n != 3 {
				t.Errorf("run 2 has %d ledger decisions, want 3 (one per line)", n)
			}
			if n := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE restated_by_run = 2 AND etl_run_id = 1 AND order_id = 'S1' AND line_no = 1`); n != tc.restated {
				t.Errorf("%d restated lines, want %d", n, tc.restated)
			}
			if n := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE is_reversal AND etl_run_id = 2 AND quantity = -5 AND amount = -50`); n != tc.reversal {
				t.Errorf("%d reversals of the old line, want %d", n, tc.reversal)
			}
			// The current books (what cubes read): three lines and the same total.
			if got := queryString(t, w, `SELECT count(*) || '/' || CAST(sum(amount) AS VARCHAR) FROM fact_sales_current`); got != "3/"+tc.revenue {
				t.Errorf("fact_sales_current: %s, want 3/%s", got, tc.revenue)
			}
			// Loading the corrected export again changes nothing more.
			writeFile(t, dir, "till_0105_v3.csv", tillHeader+second+"\n", false)
			rep, err = Load(ctx, w, []string{dir + "/till_0105_v3.csv"}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if f := rep.Files[0]; f.Duplicates != 3 || f.Loaded != 0 || f.Rejected != 0 {
				t.Errorf("third export: loaded %d rejected %d duplicates %d, want 0 0 3", f.Loaded, f.Rejected, f.Duplicates)
			}
			if got := queryString(t, w, `SELECT CAST(sum(amount) AS VARCHAR) FROM fact_sales`); got != tc.revenue {
				t.Errorf("revenue after the third export %s, want %s", got, tc.revenue)
			}
		})
	}
}

// TestCorrectionInOneLoad: both versions of a line arrive in one load; the
// later one restates the earlier.
func TestCorrectionInOneLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := openMem(t)
	writeFile(t, dir, "pos_sales_a.csv", tillHeader+till("S1", 1, "ST01", 5, "10.00"), false)
	writeFile(t, dir, "pos_sales_b.csv", tillHeader+till("S1", 1, "ST01", 6, "10.00")+till("S1", 1, "ST01", 6, "10.00"), false)
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rep.Loaded, rep.Duplicates, rep.Rejected)
	if got != "2 1 0" {
		t.Errorf("loaded/duplicates/rejected %s, want 2 1 0", got)
	}
	if got := queryString(t, w, `SELECT CAST(sum(amount) AS VARCHAR) || '/' || CAST(sum(quantity) AS VARCHAR) FROM fact_sales`); got != "60.00/6" {
		t.Errorf("revenue/quantity %s, want 60.00/6", got)
	}
}

// TestCollidingSources: two till systems numbering their orders the same
// way, with the same store codes, are two sources: nothing is lost.
func TestCollidingSources(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := openMem(t)
	var a, b strings.Builder
	a.WriteString(tillHeader)
	b.WriteString(tillHeader)
	for i := 1; i <= 50; i++ {
		a.WriteString(till(fmt.Sprintf("T%d", i), 1, "ST01", 1, "10.00"))
		a.WriteString(till(fmt.Sprintf("T%d", i), 2, "ST01", 2, "5.00"))
		b.WriteString(till(fmt.Sprintf("T%d", i), 1, "ST01", 3, "1.00"))
	}
	writeFile(t, dir, "tilla_1.csv", a.String(), false)
	writeFile(t, dir, "tillb_1.csv", b.String(), false)
	opts := Options{AsOf: asOf2024(), Mappings: []Mapping{
		sourceLike(t, "pos_sales", "till_a", "tilla_*.csv", ""),
		sourceLike(t, "pos_sales", "till_b", "tillb_*.csv", ""),
	}}
	rep, err := Load(ctx, w, []string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loaded != 150 || rep.Duplicates != 0 {
		t.Errorf("loaded %d duplicates %d, want 150 0", rep.Loaded, rep.Duplicates)
	}
	// 50 × (10 + 10) + 50 × 3 = 1150
	if got := queryString(t, w, `SELECT CAST(sum(amount) AS VARCHAR) FROM fact_sales`); got != "1150.00" {
		t.Errorf("revenue %s, want 1150.00", got)
	}
}

// TestExportWithoutLineNumbers: lines are numbered by position in their
// order and keyed by content; only a whole repeated record is a duplicate,
// and a re-export with a line removed corrects nothing.
func TestExportWithoutLineNumbers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := openMem(t)
	m := sourceLike(t, "pos_sales", "shop", "shop_*.csv", "")
	delete(m.Columns, "line_no")
	opts := Options{AsOf: asOf2024(), Mappings: []Mapping{m}}
	header := "单号,门店编号,销售时间,会员卡号,商品编码,数量,单价\n"
	line := func(order, product string, qty int) string {
		return fmt.Sprintf("%s,ST01,2024/1/5 14:22,M0001,%s,%d,10.00\n", order, product, qty)
	}
	export := header + line("O1", "P001", 1) + line("O1", "P002", 2) + line("O1", "P003", 3) +
		line("O1", "P001", 1) + // the whole record again: a duplicate
		line("O2", "P001", 1) + line("O2", "P001", 2)
	writeFile(t, dir, "shop_1.csv", export, false)
	rep, err := Load(ctx, w, []string{dir + "/shop_1.csv"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Files[0]; f.Loaded != 5 || f.Duplicates != 1 {
		t.Errorf("loaded %d duplicates %d, want 5 1", f.Loaded, f.Duplicates)
	}
	if got := queryString(t, w, `SELECT string_agg(order_id || ':' || line_no, ',' ORDER BY order_id, line_no) FROM fact_sales`); got != "O1:1,O1:2,O1:3,O2:1,O2:2" {
		t.Errorf("lines %s", got)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE rule = 'duplicate' AND line = 5 AND ref_line = 2`); n != 1 {
		t.Errorf("the repeated record is not a duplicate of line 2 in the ledger")
	}
	// The same export with O1's second line removed: every line a duplicate.
	again := header + line("O1", "P001", 1) + line("O1", "P003", 3) + line("O2", "P001", 1) + line("O2", "P001", 2)
	writeFile(t, dir, "shop_2.csv", again, false)
	rep, err = Load(ctx, w, []string{dir + "/shop_2.csv"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Files[0]; f.Loaded != 0 || f.Duplicates != 4 || f.Rejected != 0 {
		t.Errorf("re-export: loaded %d duplicates %d rejected %d, want 0 4 0", f.Loaded, f.Duplicates, f.Rejected)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE is_reversal OR restated_by_run IS NOT NULL`); n != 0 {
		t.Errorf("%d lines restated by a re-export without line numbers", n)
	}
}

// TestPostconditionCatchesBrokenLedger breaks what the load wrote just
// before the post-conditions run: each break must fail the load and leave
// the warehouse as it was.
func TestPostconditionCatchesBrokenLedger(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, sql, want string
	}{
		{"ledger lost its errors", `DELETE FROM etl_reject WHERE run_id = (SELECT max(run_id) FROM etl_run) AND severity = 'error'`,
			"neither loaded, rejected nor duplicates"},
		{"a rejected line in the facts", `INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, quantity, unit_price, amount,
			etl_run_id, etl_file_id, source_line, source, line_key, is_reversal)
			SELECT 'X', 1, 20240105, TIMESTAMP '2024-01-05', 1, 1, 1, run_id, file_id, line, 'pos_sales', '1', false
			FROM etl_reject WHERE severity = 'error' AND run_id = (SELECT max(run_id) FROM etl_run) LIMIT 1`,
			"rejected lines have fact rows"},
		{"an amount lost", `UPDATE fact_sales SET amount = NULL WHERE order_id = 'S1'`, "NULL amount"},
		// The checks of a line's values share one scan with the date's.
		{"a day the calendar lacks", `UPDATE fact_sales SET date_key = 20991231 WHERE order_id = 'S1'`,
			"1 fact_sales lines whose date is not in dim_date"},
		{"a line key lost", `UPDATE fact_sales SET line_key = NULL WHERE order_id = 'S1'`,
			"1 fact_sales lines with a NULL key"},
		{"a manifest that lies", `UPDATE etl_file SET rows_rejected = 0`, "manifest says"},
		{"a key with two current lines", `INSERT INTO fact_sales SELECT * FROM fact_sales WHERE order_id = 'S1'`,
			"1 fact_sales keys with more than one current line"},
		// A line loaded twice under another key: every staged line is one
		// row here, so its two fact rows count twice (a DISTINCT of the
		// fact lines let it through).
		{"a line with two fact rows", `INSERT INTO fact_sales SELECT * REPLACE ('x' || line_key AS line_key) FROM fact_sales WHERE order_id = 'S1'`,
			"2 lines read, but 3 staged or in the ledger"},
		// Keys are matched by their hash: a NULL store code is one key too.
		{"a key without a store with two current lines", `UPDATE fact_sales SET store_code = NULL WHERE order_id = 'S1';
			INSERT INTO fact_sales SELECT * FROM fact_sales WHERE order_id = 'S1'`,
			"1 fact_sales keys with more than one current line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := openMem(t)
			writeFile(t, dir, "pos_sales_1.csv", tillHeader+till("S1", 1, "ST01", 5, "10.00")+till("S2", 1, "ST01", 0, "10.00"), false)
			tamperedLoadFails(t, w, []string{dir}, tc.want, tc.sql)
			// Untampered, the same load passes.
			if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
