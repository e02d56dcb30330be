package etl

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/olap"
)

// TestRollupsRefreshedInPlace: loads that bring only CRM records, add
// sales, complete an inferred product from the product master, restate a
// sale and merge two customers refresh the sales cube's rollups in place,
// as ckm load's hook does (olap.RefreshRollups): after each load every
// rollup is still the table made empty before the first load (the same
// table, never rebuilt), records the load's run and its true row count,
// and holds exactly the rows a rebuild from the base tables computes.
func TestRollupsRefreshedInPlace(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	model, err := olap.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.Cube("sales")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := olap.CreateEmptyRollups(ctx, tx, model); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	oid := func(table string) int64 {
		return queryInt(t, w, `SELECT table_oid FROM duckdb_tables() WHERE table_name = ?`, table)
	}
	made := map[string]int64{}
	for _, r := range c.Rollups {
		made[r.Name] = oid(r.Table(c))
	}
	if len(made) != 3 {
		t.Fatalf("%d sales rollups made empty, want 3", len(made))
	}
	// As the CLI runs it: after the load commits (etl.Options.AfterCommit).
	opts := Options{AfterCommit: []func(context.Context, *sql.Tx) error{
		func(ctx context.Context, tx *sql.Tx) error { return olap.RefreshRollups(ctx, tx, model) },
	}}
	loadDir := func(asOf, dir string) *Report {
		t.Helper()
		o := opts
		o.AsOf = day(t, asOf)
		rep, err := Load(ctx, w, []string{dir}, o)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	load := func(asOf string, files map[string]string) *Report {
		t.Helper()
		dir := t.TempDir()
		for name, content := range files {
			writeFile(t, dir, name, content, false)
		}
		return loadDir(asOf, dir)
	}
	crm := func(n int, asOf string, records ...crmChange) *Report {
		t.Helper()
		return loadDir(asOf, crmDir(t, n, records))
	}
	check := func(step string, rep *Report) {
		t.Helper()
		for _, r := range c.Rollups {
			table := r.Table(c)
			if got := oid(table); got != made[r.Name] {
				t.Errorf("%s: rollup %s was rebuilt (table %d, made %d), not refreshed in place", step, r.Name, got, made[r.Name])
			}
			var version, rows int64
			if err := w.DB.QueryRow(`SELECT data_version, row_count FROM `+engine.RollupRegistry+` WHERE cube = 'sales' AND rollup = ?`, r.Name).Scan(&version, &rows); err != nil {
				t.Fatal(err)
			}
			if n := queryInt(t, w, `SELECT count(*) FROM `+engine.QuoteIdent(table)); version != rep.RunID || rows != n {
				t.Errorf("%s: rollup %s records run %d and %d rows, want run %d and its %d rows", step, r.Name, version, rows, rep.RunID, n)
			}
			text, args := olap.RollupSQL(c, r)
			if n := queryInt(t, w, `SELECT count(*) FROM ((FROM `+engine.QuoteIdent(table)+` EXCEPT ALL `+text+`)
				UNION ALL (`+text+` EXCEPT ALL FROM `+engine.QuoteIdent(table)+`))`, args...); n != 0 {
				t.Errorf("%s: rollup %s differs from a rebuild in %d rows", step, r.Name, n)
			}
		}
	}
	sales := func(lines ...string) string { return mergePOSHeader + strings.Join(lines, "\n") + "\n" }

	check("CRM only", crm(1, "2024-03-31", crmChange{"M1", "普通", ""}, crmChange{"M2", "普通", ""}, crmChange{"M3", "普通", ""}))
	check("sales", load("2024-08-31", map[string]string{"pos_sales_1.csv": sales(
		posLine("S1", "2023-04-10 10:00", "M1", ""),
		posLine("S2", "2024-05-10 10:00", "M1", ""),
		posLine("S3", "2023-04-11 10:00", "", mobileOf("M2")),
		posLine("S4", "2023-06-11 10:00", "M2", ""),
		posLine("S9", "2024-06-12 10:00", "M3", ""))}))
	if n := queryInt(t, w, `SELECT count(*) FROM dim_product WHERE product_code = 'P001' AND is_inferred`); n != 1 {
		t.Fatalf("P001 inferred %d times, want once", n)
	}
	// The master completes P001 (inferred by the sales): every period it
	// sold in has a new subcategory.
	check("product master", load("2024-08-31", map[string]string{"products.csv": "商品编码,商品名称,品类,品牌,成本,标价\n" +
		"P001,电饭锅A,家电>厨房电器>电饭锅,美的,60.00,100.00\n"}))
	if got := queryString(t, w, `SELECT subcategory FROM dim_product WHERE product_code = 'P001'`); got != "厨房电器" {
		t.Fatalf("P001 subcategory %q after the master, want 厨房电器", got)
	}
	// S2 re-exported with two pieces: restated.
	check("restatement", load("2024-08-31", map[string]string{"pos_sales_2.csv": sales(
		posLine("S1", "2023-04-10 10:00", "M1", ""),
		"S2,1,ST01,北京朝阳店,张三,2024-05-10 10:00,M1,,P001,2,100,0,200")}))
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE restated_by_run IS NOT NULL`); n != 1 {
		t.Fatalf("%d restated lines, want S2's", n)
	}
	// A line with A's card and B's mobile merges them: 2023's customers
	// (A and B) become one, though the load has no sale of 2023.
	rep := load("2024-12-31", map[string]string{"pos_sales_3.csv": sales(posLine("S5", "2024-12-01 10:00", "M1", mobileOf("M2")))})
	if n := queryInt(t, w, `SELECT count(*) FROM customer_merge WHERE run_id = ?`, rep.RunID); n != 1 {
		t.Fatalf("%d merges in the load, want 1", n)
	}
	if n := queryInt(t, w, `SELECT count(DISTINCT customer_id) FROM fact_sales_current WHERE year(order_ts) = 2023`); n != 1 {
		t.Fatalf("%d customers bought in 2023 after the merge, want 1", n)
	}
	check("merge", rep)
	check("CRM change", crm(2, "2024-12-31", crmChange{"M3", "金卡", "2024-10-01"}))
}
