package etl

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestPostconditionAtScale runs the restatement and the post-condition
// "keys with more than one current line" on a fact table of four DuckDB
// row groups (491,520 earlier lines, checkpointed to disk), whose order ids
// share an 11-character prefix: DuckDB keeps only the first 8 bytes of a
// string column's min and max, so every row group's zone map admits every
// id, and a check that reads only the row groups between the run's least
// and greatest order id must not lose a line there. The earlier line the
// load restates lies in the third row group, the run's line in the last.
// Tampered (that earlier line made current again), the load must fail
// naming the key and leave the warehouse as it was; untampered, exactly
// that earlier line is restated.
func TestPostconditionAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("491,520 lines")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	first := t.TempDir()
	writeFile(t, first, "pos_sales_1.csv", tillHeader+till("A1", 1, "ST01", 1, "10.00"), false)
	if _, err := Load(ctx, w, []string{first}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	// Run 1's line copied under 491,520 order ids S01202401050000000..;
	// the one of i = 300,000 (row 300,001 of the table) is restated below.
	const n, restated = 4 * 122880, "S0120240105000300000"
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO fact_sales SELECT f.* REPLACE ('S0120240105' || lpad(CAST(i AS VARCHAR), 9, '0') AS order_id)
		FROM fact_sales f, range(`+strconv.Itoa(n)+`) r(i) WHERE order_id = 'A1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.ExecContext(ctx, `CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	if g := queryInt(t, w, `SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('fact_sales')`); g < 4 {
		t.Fatalf("fact_sales in %d row groups, want at least 4", g)
	}
	if rg := queryInt(t, w, `SELECT rowid // 122880 FROM fact_sales WHERE order_id = ?`, restated); rg != 2 {
		t.Fatalf("the earlier line is in row group %d, want 2", rg)
	}

	second := t.TempDir()
	writeFile(t, second, "pos_sales_2.csv", tillHeader+till(restated, 1, "ST01", 4, "10.00"), false)
	tamperedLoadFails(t, w, []string{second}, "1 fact_sales keys with more than one current line",
		`UPDATE fact_sales SET restated_by_run = NULL WHERE order_id = ? AND etl_run_id = 1`, restated)

	if _, err := Load(ctx, w, []string{second}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	// Exactly the earlier line of that key restated by run 2, reversed once;
	// current: the other copies, A1 and run 2's line.
	if got := queryLines(t, w, `SELECT order_id FROM fact_sales WHERE restated_by_run IS NOT NULL`); len(got) != 1 || got[0] != restated {
		t.Errorf("restated lines %v, want [%s]", got, restated)
	}
	if c := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE is_reversal`); c != 1 {
		t.Errorf("%d reversals, want 1", c)
	}
	if c := queryInt(t, w, `SELECT count(*) FROM fact_sales_current`); c != n+1 {
		t.Errorf("%d current lines, want %d", c, n+1)
	}
	if q := queryInt(t, w, `SELECT quantity FROM fact_sales_current WHERE order_id = ?`, restated); q != 4 {
		t.Errorf("the restated key's current quantity %d, want 4", q)
	}
	if c := queryInt(t, w, `SELECT count(*) FROM (SELECT source, store_code, order_id, line_key FROM fact_sales_current GROUP BY ALL HAVING count(*) > 1)`); c != 0 {
		t.Errorf("%d keys with more than one current line", c)
	}
}
