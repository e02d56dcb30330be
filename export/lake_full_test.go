package export

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/ckm-dev/ckm/engine"
)

// filesByPartition maps each partition of a lake table's current
// snapshot to its one data file.
func filesByPartition(t *testing.T, snap *LakeSnapshot, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, files := range partitionFiles(t, snap.Tables[name]) {
		if len(files) != 1 {
			t.Fatalf("%s: %d data files for partition %s", name, len(files), k)
		}
		out[k] = files[0]
	}
	return out
}

// parquetColumn reads one column of a Parquet file with parquet-go: its
// values as text ("" for NULL), in file order.
func parquetColumn(t *testing.T, path, column string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	col, ok := pf.Schema().Lookup(column)
	if !ok {
		t.Fatalf("%s: no column %s", path, column)
	}
	var out []string
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[col.ColumnIndex].Pages()
		for {
			p, err := pages.ReadPage()
			if err != nil {
				break
			}
			vals := make([]parquet.Value, p.NumValues())
			n, _ := p.Values().ReadValues(vals)
			for _, v := range vals[:n] {
				if v.IsNull() {
					out = append(out, "")
				} else {
					out = append(out, v.String())
				}
			}
		}
		pages.Close()
	}
	if int64(len(out)) != pf.NumRows() {
		t.Fatalf("%s: read %d values of %s, the file has %d rows", path, len(out), column, pf.NumRows())
	}
	return out
}

// TestLakeFullLinksFilterView: a full export writes fact_sales_current's
// partitions where the view keeps every line of fact_sales (no reversal,
// no restated line) as fact_sales's own files, hard-linked, and writes the
// others itself. Readers of fact_sales_current see exactly the current
// lines — checked over the files with DuckDB (as multisets, both ways)
// and with parquet-go (per file: its row count, and is_reversal and
// restated_by_run of every row) — and the fingerprints its snapshot
// records are the view's own: the next incremental export rewrites
// nothing, and after a line and its reversal in a linked month rewrites
// that month and equals a full export (which writes that month itself).
// The old full export copied every partition a second time (no file the
// same).
func TestLakeFullLinksFilterView(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	// 2025-03: current lines only (linked); 2025-04: one line and its
	// reversal (the view keeps one of three: written); 2025-05: a restated
	// line alone (the view has no such partition).
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, is_reversal, restated_by_run, etl_run_id) VALUES
		('M1', 1, 20250303, 1, 1001, 1, 1, 1, 199.00, 199.00, false, false, NULL, 7),
		('M1', 2, 20250303, 1, 1001, 2, 1, 1, 2999.00, 2999.00, false, false, NULL, 7),
		('M2', 1, 20250320, 2, 1002, 1, 2, 3, 199.00, 597.00, false, false, NULL, 7),
		('A1', 1, 20250402, 2, 1002, 1, 2, 1, 199.00, 199.00, false, false, 7, 6),
		('A1', 1, 20250402, 2, 1002, 1, 2, -1, 199.00, -199.00, false, true, NULL, 7),
		('A1', 1, 20250402, 2, 1002, 1, 2, 2, 199.00, 398.00, false, false, NULL, 7),
		('Z1', 1, 20250511, 1, 1001, 2, 1, 1, 2999.00, 2999.00, false, false, 7, 6)`); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lake")
	res, err := Lake(ctx, w, LakeOptions{Dir: dir, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Tables {
		if tr.Name == "fact_sales_current" && tr.Check != LakeCheckCounts {
			t.Errorf("fact_sales_current checked by %q, want %q", tr.Check, LakeCheckCounts)
		}
	}
	snap, err := OpenLakeSnapshot(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	sales, current := filesByPartition(t, snap, "fact_sales"), filesByPartition(t, snap, "fact_sales_current")

	// Which partitions the view keeps whole, and its rows per partition,
	// from the warehouse.
	whole, viewRows := map[string]bool{}, map[string]int64{}
	rows, err := w.DB.QueryContext(ctx, `SELECT `+engine.ChangeMonthKey+` AS m, count(*), count(*) FILTER (WHERE NOT is_reversal AND restated_by_run IS NULL) FROM fact_sales GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m, n, cur int64
		if err := rows.Scan(&m, &n, &cur); err != nil {
			t.Fatal(err)
		}
		whole[monthKey(m)] = n == cur
		if cur > 0 {
			viewRows[monthKey(m)] = cur
		}
	}
	rows.Close()
	if !whole["2025-3"] || whole["2025-4"] || whole["2025-5"] || viewRows["2025-4"] != 1 || viewRows["2025-5"] != 0 {
		t.Fatalf("setup: partitions kept whole %v, view rows %v", whole, viewRows)
	}
	if got, want := slices.Sorted(maps.Keys(current)), slices.Sorted(maps.Keys(viewRows)); !slices.Equal(got, want) {
		t.Fatalf("fact_sales_current's partitions %v, the view's %v", got, want)
	}
	for k, f := range current {
		a, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.Stat(sales[k])
		if err != nil {
			t.Fatal(err)
		}
		if same := os.SameFile(a, b); same != whole[k] {
			t.Errorf("partition %s: fact_sales_current's file is fact_sales's: %v, want %v (every line current: %v)", k, same, whole[k], whole[k])
		}
		// parquet-go, independently of DuckDB: each file holds the
		// partition's current lines and nothing else.
		rev, restated := parquetColumn(t, f, "is_reversal"), parquetColumn(t, f, "restated_by_run")
		if int64(len(rev)) != viewRows[k] {
			t.Errorf("partition %s: parquet-go reads %d rows, the view has %d", k, len(rev), viewRows[k])
		}
		for i := range rev {
			if rev[i] != "false" || restated[i] != "" {
				t.Errorf("partition %s row %d: is_reversal %q, restated_by_run %q in fact_sales_current", k, i, rev[i], restated[i])
			}
		}
	}
	// DuckDB over the files: the same multiset of lines as the view.
	cols := plainColumns(snap.Tables["fact_sales_current"])
	list := ""
	for i, c := range cols {
		if i > 0 {
			list += ", "
		}
		list += engine.QuoteIdent(c)
	}
	lake, view := "SELECT "+list+" FROM "+overFiles(t, snap.Tables["fact_sales_current"]), "SELECT "+list+" FROM fact_sales_current"
	for _, q := range []string{"(" + lake + ") EXCEPT ALL (" + view + ")", "(" + view + ") EXCEPT ALL (" + lake + ")"} {
		var n int64
		if err := w.DB.QueryRowContext(ctx, "SELECT count(*) FROM ("+q+")").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d lines in %s", n, q)
		}
	}
	// The fingerprints recorded are the view's own.
	recorded := map[string]string{}
	if err := json.Unmarshal([]byte(snap.Tables["fact_sales_current"].CurrentSnapshot().Summary.Properties[SummaryFingerprints]), &recorded); err != nil {
		t.Fatal(err)
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	own, err := rowFingerprints(ctx, conn, "main.fact_sales_current", true)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(recorded, own) {
		t.Errorf("fact_sales_current's snapshot records %v, the view's fingerprints are %v", recorded, own)
	}

	// The next incremental export rewrites nothing of it; after a line and
	// its reversal in a linked month, that month; the lake equals a full
	// export each time.
	inc := func(what string, want []string) {
		t.Helper()
		res, err := Lake(ctx, w, LakeOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range res.Tables {
			if tr.Name == "fact_sales_current" && !slices.Equal(tr.Partitions, want) {
				t.Errorf("%s: fact_sales_current rewrote %v, want %v", what, tr.Partitions, want)
			}
		}
		sameAsFull(t, w, dir, what)
	}
	inc("nothing changed", nil)
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO etl_run (run_id, started_at, finished_at, status, rows_read, rows_loaded)
			VALUES (8, TIMESTAMP '2025-03-25', TIMESTAMP '2025-03-25', 'committed', 1, 1);
		INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, is_reversal, etl_run_id)
			VALUES ('N1', 1, 20250325, 2, 1002, 1, 2, 1, 199.00, 199.00, false, false, 8),
			       ('N1', 1, 20250325, 2, 1002, 1, 2, -1, 199.00, -199.00, false, true, 8)`); err != nil {
		t.Fatal(err)
	}
	inc("a line and its reversal in 2025-03", []string{"2025-3"})
}
