package olap

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestRollupRoutingNeverChangesAnswers runs queries with and without the
// rollups and compares every cell; it also checks which ones were routed.
func TestRollupRoutingNeverChangesAnswers(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	m, _ := Builtin()
	e := NewExecutor(w, m)
	e.CacheSize = 0
	if err := e.Refresh(ctx, "sales", nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		q      Query
		rollup string // expected rollup, "" for base tables
	}{
		{Query{Measures: []string{"revenue", "quantity"}, Rows: []string{"date.year"}}, "year_province"},
		{Query{Measures: []string{"revenue", "orders", "customers"}, Rows: []string{"date.year", "region.province"}}, "year_province"},
		{Query{Measures: []string{"customers"}, Rows: []string{"region.province"}}, ""}, // distinct count below the grain
		{Query{Measures: []string{"revenue", "customers"}, Rows: []string{"date.year", "region.province"}, Totals: true}, ""},
		{Query{Measures: []string{"revenue", "margin", "avg_line_amount", "min_line_amount", "max_line_amount", "returns"}, Rows: []string{"date.quarter", "product.category"}, Totals: true}, "month_region_category"},
		{Query{Measures: []string{"revenue", "order_lines"}, Rows: []string{"region.province", "region.city"}, Cols: []string{"date.year"}, Totals: true,
			Where: []Filter{{Level: "product.subcategory", Op: "ne", Values: []any{"Kitchen"}}}}, "month_region_category"},
		{Query{Measures: []string{"revenue", "revenue_share"}, Rows: []string{"region.city"}, Top: &Top{Level: "region.city", N: 2, By: "revenue", Other: true}}, "month_region_category"},
		{Query{Measures: []string{"revenue"}, Rows: []string{"region.county"}}, ""},
		{Query{Measures: []string{"last_day_revenue", "avg_daily_revenue"}, Rows: []string{"date.year", "date.month"}, Totals: true}, "day_channel"},
		{Query{Measures: []string{"last_day_revenue", "revenue"}, Rows: []string{"channel.channel"}, Cols: []string{"date.quarter"}, Totals: true}, "day_channel"},
		{Query{Measures: []string{"last_day_customers"}, Rows: []string{"date.month"}}, ""},
		{Query{Measures: []string{"last_day_revenue"}, Rows: []string{"region.province"}}, ""},
		{Query{Measures: []string{"revenue_prior_period"}, Rows: []string{"date.month"}}, ""},
	}
	for _, tc := range cases {
		tc.q.Cube = "sales"
		name := strings.Join(tc.q.Measures, ",") + " by " + strings.Join(append(tc.q.Rows, tc.q.Cols...), ",")
		t.Run(name, func(t *testing.T) {
			routed, err := e.Query(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if routed.Rollup != tc.rollup {
				t.Fatalf("rollup = %q, want %q (rejected: %v)", routed.Rollup, tc.rollup, routed.Rejected)
			}
			base := tc.q
			base.NoRollups = true
			raw, err := e.Query(ctx, base)
			if err != nil {
				t.Fatal(err)
			}
			if raw.Rollup != "" {
				t.Fatal("NoRollups still routed")
			}
			sameRows(t, routed.Data, raw.Data, true)
		})
	}
}

// TestRollupStaleAfterLoad checks that a rollup built before new data is
// not used, and that the result cache is keyed by the data version.
func TestRollupStaleAfterLoad(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	m, _ := Builtin()
	e := NewExecutor(w, m)
	if err := e.Refresh(ctx, "sales", []string{"year_province"}); err != nil {
		t.Fatal(err)
	}
	q := Query{Cube: "sales", Measures: []string{"revenue"}, Rows: []string{"date.year"}}
	r1, err := e.Query(ctx, q)
	if err != nil || r1.Rollup != "year_province" || r1.Cached {
		t.Fatalf("first: %+v %v", r1, err)
	}
	r2, _ := e.Query(ctx, q)
	if !r2.Cached {
		t.Fatal("second identical query not cached")
	}
	// A new ETL run: more data (its lines carry the run, as a load's do)
	// and a new data version.
	for _, s := range []string{
		`INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, region_key, quantity, amount, is_return, etl_run_id) VALUES ('O99', 1, 20240601, 1, 101, 1, 1, 1, 1000.00, false, 1)`,
		`INSERT INTO etl_run (run_id, status) VALUES (1, 'committed')`,
	} {
		if _, err := w.DB.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	r3, err := e.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Cached || r3.Rollup != "" {
		t.Fatalf("after load: cached=%v rollup=%q, want a fresh base-table answer", r3.Cached, r3.Rollup)
	}
	if got := norm(r3.Data[len(r3.Data)-1][1]); got != norm(1000.0+1250) {
		t.Fatalf("2024 revenue after load = %s", got)
	}
	tx, _ := w.DB.BeginTx(ctx, nil)
	if err := RefreshRollups(ctx, tx, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r4, _ := e.Query(ctx, Query{Cube: "sales", Measures: []string{"revenue"}, Rows: []string{"date.year"}, Limit: 5})
	if r4.Rollup != "year_province" {
		t.Fatalf("after refresh: rollup %q, rejected %v", r4.Rollup, r4.Rejected)
	}
	sameRows(t, r4.Data, r3.Data, true)
}

// TestAdviseFromQueryLog checks that base-table queries are logged and turned
// into rollup suggestions, heaviest grain first, without distinct counts.
func TestAdviseFromQueryLog(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	m, _ := Builtin()
	e := NewExecutor(w, m)
	e.CacheSize = 0
	qs := []Query{
		{Cube: "sales", Measures: []string{"revenue", "customers"}, Rows: []string{"product.category"}, Where: []Filter{{Level: "date.year", Op: "eq", Values: []any{2024}}}},
		{Cube: "sales", Measures: []string{"margin"}, Rows: []string{"product.category"}, Where: []Filter{{Level: "date.year", Op: "eq", Values: []any{2023}}}},
		{Cube: "sales", Measures: []string{"order_lines"}, Rows: []string{"channel.channel"}},
	}
	for _, q := range qs {
		if _, err := e.Query(ctx, q); err != nil {
			t.Fatal(err)
		}
		if e.LogErr != nil {
			t.Fatal(e.LogErr)
		}
	}
	advice, err := Advise(ctx, w.DB, builtinCube(t, "sales"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(advice) != 2 {
		t.Fatalf("advice %+v", advice)
	}
	var found bool
	for _, a := range advice {
		if strings.Join(a.Levels, ",") == "date.year,product.category" {
			found = true
			if a.Queries != 2 || strings.Join(a.Measures, ",") != "cost,revenue" || strings.Join(a.Skipped, ",") != "customers" {
				t.Fatalf("advice %+v", a)
			}
			if got := a.YAML("x"); got != "  - {name: x, levels: [date.year, product.category], measures: [cost, revenue]}" {
				t.Fatalf("yaml %q", got)
			}
		}
	}
	if !found {
		t.Fatalf("no advice for year × category: %+v", advice)
	}
}

// TestRollupRefreshInPlace: after each run RefreshRollups refreshes the
// sales rollups in place when it can trace what the run changed — new
// lines, a restated line and its reversal, a product's new subcategory
// (all of its periods), a merge that moves a customer's sales (its
// periods, though the run has no sale there) or nothing at all — and
// rebuilds them when it cannot: a line dated Unknown, rollups marked
// stale. Every time each rollup holds exactly what a rebuild computes and
// records the run and its row count.
func TestRollupRefreshInPlace(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	m, _ := Builtin()
	c := builtinCube(t, "sales")
	oids := func() map[string]int64 {
		out := map[string]int64{}
		for _, r := range c.Rollups {
			var oid int64
			if err := w.DB.QueryRowContext(ctx, `SELECT table_oid FROM duckdb_tables() WHERE table_name = ?`, r.Table(c)).Scan(&oid); err != nil {
				t.Fatal(err)
			}
			out[r.Name] = oid
		}
		return out
	}
	run := func(id int64, stmts ...string) {
		t.Helper()
		refreshRun(t, w, m, c, id, stmts...)
	}
	inPlace := func(id int64, want bool, stmts ...string) {
		t.Helper()
		before := oids()
		run(id, stmts...)
		after := oids()
		for name, oid := range before {
			if (after[name] == oid) != want {
				t.Errorf("run %d: rollup %s refreshed in place: %v, want %v", id, name, after[name] == oid, want)
			}
		}
	}
	sale := func(order string, date int, product, customer, run int) string {
		return fmt.Sprintf(`INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, store_key, region_key,
			quantity, unit_price, amount, cost_amount, is_return, etl_run_id) VALUES ('%s', 1, %d, 1, %d, %d, 1, -1, 2, 1, 50, 50.00, 20.00, false, %d)`,
			order, date, customer, product, run)
	}
	run(1) // built whole: nothing was materialized
	inPlace(2, true, sale("O20", 20240220, 1, 101, 2), sale("O21", 20250101, 2, 103, 2))
	inPlace(3, true, `UPDATE fact_sales SET restated_by_run = 3 WHERE order_id = 'O3'`,
		`INSERT INTO fact_sales (order_id, line_no, date_key, customer_id, product_key, channel_key, region_key, quantity, amount, cost_amount, is_return, is_reversal, etl_run_id)
			VALUES ('O3', 1, 20240105, 101, 2, 1, 2, -3, -105.00, -54.00, false, true, 3)`,
		sale("O3", 20240105, 2, 101, 3))
	inPlace(4, true, `UPDATE dim_product SET subcategory = 'Rice', etl_run_id = 4 WHERE product_key = 3`)
	inPlace(5, true, `INSERT INTO customer_merge (merge_id, kind, run_id, survivor, other, merged_at) VALUES (1, 'load_merge', 5, 101, 104, now())`,
		`UPDATE fact_sales SET customer_id = 101 WHERE customer_id = 104`)
	inPlace(6, true)
	inPlace(7, false, sale("O22", -1, 1, 101, 7))
	inPlace(8, false, `UPDATE `+RollupStateTable+` SET data_version = -1`)
	// A refresh with no new run (a load with nothing new, finishing what a
	// crash after a commit left undone) leaves current rollups untouched.
	var stamp string
	if err := w.DB.QueryRowContext(ctx, `SELECT string_agg(rollup || refreshed_at, ',' ORDER BY rollup) FROM `+RollupStateTable).Scan(&stamp); err != nil {
		t.Fatal(err)
	}
	before := oids()
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := RefreshRollups(ctx, tx, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var again string
	if err := w.DB.QueryRowContext(ctx, `SELECT string_agg(rollup || refreshed_at, ',' ORDER BY rollup) FROM `+RollupStateTable).Scan(&again); err != nil {
		t.Fatal(err)
	}
	if after := oids(); fmt.Sprint(after) != fmt.Sprint(before) || again != stamp {
		t.Errorf("a refresh with nothing new changed current rollups: tables %v -> %v, refreshed %s -> %s", before, after, stamp, again)
	}
}

// TestRollupRefreshTouchedRegions: a run whose lines are all in one region
// refreshes, in the periods it touched, only the rows of that region's
// labels. A 2024 sale in Guangzhou (Guangdong) recomputes year_province's
// 2024 Guangdong row (a new rowid) and leaves 2024 Zhejiang and the 2023
// rows as they were (same rowid); every rollup still equals a rebuild. A
// later run with a line in a region outside dim_region (a NULL label)
// refreshes its periods in every region, and still equals a rebuild.
func TestRollupRefreshTouchedRegions(t *testing.T) {
	// The runs here only add lines: recomputed, not added (addAppended,
	// TestRollupRefreshAddsAppended), as a run that restates lines is.
	addByDelta = false
	defer func() { addByDelta = true }()
	w := smallWarehouse(t)
	m, _ := Builtin()
	c := builtinCube(t, "sales")
	run := func(id int64, stmts ...string) {
		t.Helper()
		refreshRun(t, w, m, c, id, stmts...)
	}
	rowids := func() map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for k, v := range yearProvinceCells(t, w, c) {
			out[k] = v.rowid
		}
		return out
	}
	sale := func(order string, region, run int) string {
		return fmt.Sprintf(`INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, store_key, region_key,
			quantity, unit_price, amount, cost_amount, is_return, etl_run_id) VALUES ('%s', 1, 20240220, 1, 101, 1, 1, -1, %d, 1, 50, 50.00, 20.00, false, %d)`,
			order, region, run)
	}
	run(1)
	before := rowids()
	for _, k := range []string{"2023 Guangdong", "2024 Guangdong", "2024 Zhejiang"} {
		if _, ok := before[k]; !ok {
			t.Fatalf("year_province has no row %q: %v", k, before)
		}
	}
	run(2, sale("O30", 2, 2))
	after := rowids()
	for k, same := range map[string]bool{"2023 Guangdong": true, "2023 Zhejiang": true, "2024 Guangdong": false, "2024 Zhejiang": true} {
		if _, ok := before[k]; !ok {
			continue
		}
		if (after[k] == before[k]) != same {
			t.Errorf("run 2: year_province row %s kept its rowid: %v, want %v", k, after[k] == before[k], same)
		}
	}
	// Region 99 is not in dim_region: its line has no province.
	before = after
	run(3, sale("O31", 99, 3))
	after = rowids()
	if after["2024 Zhejiang"] == before["2024 Zhejiang"] || after["2023 Guangdong"] != before["2023 Guangdong"] {
		t.Errorf("run 3: want 2024 recomputed in every province and 2023 kept: rowids %v -> %v", before, after)
	}
}

// TestRollupRefreshAddsAppended: a run that only adds lines is added to
// the rollups cell by cell (addAppended): a cell it touches keeps its row
// (rowid) with the run's aggregates added, a cell it lacks is inserted,
// and cells it does not touch are left alone. Distinct counts grow only by
// values no earlier line of the cell holds: a second line of customer 101
// in 2024 Guangdong adds no customer, a new customer in it adds one, an
// order already counted there adds no order. Each time every rollup holds
// exactly what a rebuild computes (refreshRun), including a line in a
// region outside dim_region (NULL labels) twice and a run of 3,000 lines
// (distinct counts over more than a vector of values). A run with more new
// values than appendedValues, one that restates a line, and any run into
// a warehouse of fewer lines than appendedMinLines are recomputed (a new
// rowid).
func TestRollupRefreshAddsAppended(t *testing.T) {
	// The small warehouse's few lines stand for a large one's.
	appendedMinLines = -1
	defer func() { appendedMinLines = 122_880 }()
	ctx := context.Background()
	w := smallWarehouse(t)
	m, _ := Builtin()
	c := builtinCube(t, "sales")
	cells := func() map[string]ypCell { t.Helper(); return yearProvinceCells(t, w, c) }
	sale := func(order string, date, region, customer, run int, amount string) string {
		return fmt.Sprintf(`INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, store_key, region_key,
			quantity, unit_price, amount, cost_amount, is_return, etl_run_id) VALUES ('%s', %d, %d, 1, %d, 1, 1, -1, %d, 1, %s, %s, 20.00, false, %d)`,
			order, run, date, customer, region, amount, amount, run)
	}
	refreshRun(t, w, m, c, 1)
	before := cells()
	gd := before["2024 Guangdong"]
	if gd.customers == 0 {
		t.Fatalf("no 2024 Guangdong customers to repeat: %v", before)
	}
	var oldOrder string
	if err := w.DB.QueryRowContext(ctx, `SELECT min(order_id) FROM fact_sales f JOIN dim_region r USING (region_key) JOIN dim_date d USING (date_key)
		WHERE r.province = 'Guangdong' AND d.year = 2024`).Scan(&oldOrder); err != nil {
		t.Fatal(err)
	}
	// Customer 101 again, a new customer 990 on an order already counted,
	// a cell of its own (2025 Zhejiang), a huge and a tiny amount (the
	// month's greatest and least line).
	refreshRun(t, w, m, c, 2, sale("O40", 20240221, 2, 101, 2, "9999.00"), sale(oldOrder, 20240222, 2, 990, 2, "0.01"),
		sale("O41", 20250301, 4, 101, 2, "5.00"))
	after := cells()
	want := ypCell{gd.rowid, gd.lines + 2, gd.orders + 1, gd.customers + 1}
	if got := after["2024 Guangdong"]; got != want {
		t.Errorf("2024 Guangdong %+v, want %+v (the same row, two lines, one new order, one new customer)", got, want)
	}
	for k, v := range before {
		if k != "2024 Guangdong" && after[k] != v {
			t.Errorf("untouched %s changed: %+v -> %+v", k, v, after[k])
		}
	}
	if z := after["2025 Zhejiang"]; z.lines != 1 || z.orders != 1 || z.customers != 1 {
		t.Errorf("2025 Zhejiang %+v, want a new cell of one line, order and customer", z)
	}
	// A region outside dim_region, twice: its NULL labels are one cell.
	refreshRun(t, w, m, c, 3, sale("O42", 20240223, 99, 101, 3, "7.00"))
	refreshRun(t, w, m, c, 4, sale("O43", 20240224, 99, 102, 4, "8.00"))
	if n := after["2024 -"]; n != (ypCell{}) {
		t.Fatalf("a NULL-province cell before the runs: %+v", n)
	}
	if got := cells()["2024 -"]; got.lines != 2 || got.customers != 2 {
		t.Errorf("2024 NULL province %+v, want 2 lines of 2 customers", got)
	}
	// 3,000 lines (more than a vector of values per distinct count): two
	// lines an order, every other line a new customer, the others the
	// earlier four, over 300 days of 2024 in every region.
	before = cells()
	refreshRun(t, w, m, c, 5, `INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, store_key, region_key,
			quantity, unit_price, amount, cost_amount, is_return, etl_run_id)
		SELECT 'B' || (i // 2), i % 2 + 1, CAST(strftime(DATE '2024-01-01' + CAST(i % 300 AS INTEGER), '%Y%m%d') AS INTEGER), 1,
			CASE WHEN i % 2 = 0 THEN 5000 + i ELSE 101 + i % 4 END, 1 + i % 4, 1 + i % 3, -1, 1 + i % 4, 1, i % 97, i % 97, 1.00, false, 5
		FROM range(3000) r(i)`)
	if got := cells()["2024 Guangdong"]; got.rowid != before["2024 Guangdong"].rowid || got.lines != before["2024 Guangdong"].lines+2250 {
		t.Errorf("after 3,000 lines 2024 Guangdong %+v, want the same row with 2,250 lines more than %+v", got, before["2024 Guangdong"])
	}
	// A run of more new values than appendedValues is recomputed.
	appendedValues = 1
	before = cells()
	refreshRun(t, w, m, c, 6, sale("O44", 20240225, 2, 101, 6, "3.00"), sale("O45", 20240226, 2, 101, 6, "4.00"))
	appendedValues = 10_000
	if got := cells()["2024 Guangdong"]; got.rowid == before["2024 Guangdong"].rowid || got.orders != before["2024 Guangdong"].orders+2 {
		t.Errorf("after two new orders over the bound 2024 Guangdong %+v, want a recomputed row of two orders more than %+v", got, before["2024 Guangdong"])
	}
	// A restatement is recomputed: the touched row is a new one.
	before = cells()
	refreshRun(t, w, m, c, 7, `UPDATE fact_sales SET restated_by_run = 7 WHERE order_id = 'O40'`)
	if got := cells()["2024 Guangdong"]; got.rowid == before["2024 Guangdong"].rowid || got.lines != before["2024 Guangdong"].lines-1 {
		t.Errorf("after the restatement 2024 Guangdong %+v, want a recomputed row of one line less than %+v", got, before["2024 Guangdong"])
	}
	// A warehouse of fewer lines than appendedMinLines recomputes.
	appendedMinLines = 122_880
	before = cells()
	refreshRun(t, w, m, c, 8, sale("O46", 20240227, 2, 101, 8, "3.00"))
	if got := cells()["2024 Guangdong"]; got.rowid == before["2024 Guangdong"].rowid || got.lines != before["2024 Guangdong"].lines+1 {
		t.Errorf("in a small warehouse 2024 Guangdong %+v, want a recomputed row of one line more than %+v", got, before["2024 Guangdong"])
	}
}

// ypCell is a row of the sales cube's year_province rollup.
type ypCell struct {
	rowid                    int64
	lines, orders, customers int64
}

// yearProvinceCells reads c's year_province rollup by "year province"
// ("-" for a NULL province).
func yearProvinceCells(t *testing.T, w *engine.Warehouse, c *Cube) map[string]ypCell {
	t.Helper()
	var yp *Rollup
	for _, r := range c.Rollups {
		if r.Name == "year_province" {
			yp = r
		}
	}
	rows, err := w.DB.Query(`SELECT ` + quoteIdent(labelCol(yp.levels[0])) + ` || ' ' || coalesce(` + quoteIdent(labelCol(yp.levels[1])) + `, '-'),
		rowid, "m:order_lines", "m:orders", "m:customers" FROM ` + quoteIdent(yp.Table(c)))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]ypCell{}
	for rows.Next() {
		var k string
		var v ypCell
		if err := rows.Scan(&k, &v.rowid, &v.lines, &v.orders, &v.customers); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// refreshRun commits run id (its etl_run row and stmts) with the rollups
// refreshed in its transaction, then checks that each rollup of c holds
// exactly what a rebuild computes and records the run and its row count.
func refreshRun(t *testing.T, w *engine.Warehouse, m *Model, c *Cube, id int64, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, s := range append([]string{fmt.Sprintf(`INSERT INTO etl_run (run_id, status) VALUES (%d, 'committed')`, id)}, stmts...) {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := RefreshRollups(ctx, tx, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Rollups {
		text, args := RollupSQL(c, r)
		table := quoteIdent(r.Table(c))
		var diff, rows, version, recorded int64
		if err := w.DB.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ((FROM `+table+` EXCEPT ALL `+text+`) UNION ALL (`+text+` EXCEPT ALL FROM `+table+`))),
			(SELECT count(*) FROM `+table+`), data_version, row_count FROM `+RollupStateTable+` WHERE cube = 'sales' AND rollup = '`+r.Name+`'`, args...).
			Scan(&diff, &rows, &version, &recorded); err != nil {
			t.Fatal(err)
		}
		if diff != 0 || version != id || recorded != rows {
			t.Errorf("run %d: rollup %s differs from a rebuild in %d rows, records run %d and %d rows (has %d)", id, r.Name, diff, version, recorded, rows)
		}
	}
}

// TestPartitionLevelFromJoinsRead: a rollup is refreshed in part only when
// every table its base rows join is one whose changes a run can be traced
// in; which tables those are comes from the joins the SQL builder rendered
// (not from searching the SQL's text). The built-in rollups refresh by
// their finest date level; one reading dim_customer or dim_store (whose
// rows change without the run's sales saying so) is rebuilt; one over the
// sales line's own columns (country) refreshes by month. The joins
// reported are exactly those the SQL holds.
func TestPartitionLevelFromJoinsRead(t *testing.T) {
	data, err := builtinCubes.ReadFile("cubes/sales.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte(`
  - name: month_member
    levels: [date.month, customer.member_level]
    measures: [revenue]
  - name: year_store
    levels: [date.year, store.store]
    measures: [revenue]
  - name: month_country
    levels: [date.month, country.country]
    measures: [revenue]
`)...)
	c, err := Parse("sales.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"month_region_category": "date.month", "day_channel": "date.day", "year_province": "date.year",
		"month_member": "", "year_store": "", "month_country": "date.month",
	}
	seen := 0
	for _, r := range c.Rollups {
		w, ok := want[r.Name]
		if !ok {
			continue
		}
		seen++
		got := ""
		if l := partitionLevel(c, r); l != nil {
			got = l.dim.Name + "." + l.Name
		}
		if got != w {
			t.Errorf("%s: refreshed in part by %q, want %q", r.Name, got, w)
		}
		text, _, joins := rollupSQLJoins(c, r, "")
		var inText []string
		for _, j := range c.Joins {
			if strings.Contains(text, " JOIN "+quoteIdent(j.Table)+" AS "+quoteIdent(j.Name)+" ON ") {
				inText = append(inText, j.Name)
			}
		}
		var reported []string
		for _, j := range joins {
			reported = append(reported, j.Name)
		}
		if fmt.Sprint(reported) != fmt.Sprint(inText) {
			t.Errorf("%s: joins reported %v, the SQL joins %v", r.Name, reported, inText)
		}
	}
	if seen != len(want) {
		t.Fatalf("%d of the %d rollups found", seen, len(want))
	}
}
