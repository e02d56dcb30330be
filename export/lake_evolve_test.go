package export

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/iceberg-go/table"
)

// A column added to the warehouse (a later ckm version's migration) is
// added to the lake table's schema with a new field id; the table is
// rewritten with it, and the snapshots before it stay readable with
// their own schema.
func TestLakeSchemaEvolution(t *testing.T) {
	ctx := context.Background()
	w, dir := smallLake(t)
	before, err := OpenLakeSnapshot(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	oldProduct := before.Tables["dim_product"].CurrentSnapshot().SnapshotID
	oldSales := before.Tables["fact_sales"].CurrentSnapshot().SnapshotID
	oldMaxID := before.Tables["fact_sales"].Schema().HighestFieldID()
	oldRows := map[string]int64{}
	for _, name := range []string{"dim_product", "fact_sales"} {
		var n int64
		w.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+name).Scan(&n)
		oldRows[name] = n
	}
	for _, q := range []string{
		`ALTER TABLE dim_product ADD COLUMN eco_label VARCHAR`,
		`UPDATE dim_product SET eco_label = 'E-' || product_code`,
		`ALTER TABLE fact_sales ADD COLUMN coupon_code VARCHAR`,
		`UPDATE fact_sales SET coupon_code = 'SPRING' WHERE order_id = 'O1'`,
	} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Lake(ctx, w, LakeOptions{Dir: dir})
	if err != nil {
		t.Fatalf("export after added columns: %v", err)
	}
	for _, tr := range res.Tables {
		if tr.Name == "fact_sales" && strings.Join(tr.Partitions, ",") != "0-0,2024-1,2024-2,2025-2" {
			t.Errorf("fact_sales rewrote %v, want every partition", tr.Partitions)
		}
		if tr.Name == "dim_product" && !tr.Changed {
			t.Error("dim_product not rewritten after its new column")
		}
	}
	after, err := OpenLakeSnapshot(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	sales := after.Tables["fact_sales"]
	f, ok := sales.Schema().FindFieldByName("coupon_code")
	if !ok || f.ID <= oldMaxID {
		t.Fatalf("fact_sales schema %s: want coupon_code with an id above %d", sales.Schema(), oldMaxID)
	}
	// year and month stay the last columns (the export writes them last).
	fields := sales.Schema().Fields()
	if n := len(fields); fields[n-2].Name != "year" || fields[n-1].Name != "month" || fields[n-3].Name != "coupon_code" {
		t.Errorf("fact_sales columns end %s, %s, %s", fields[n-3].Name, fields[n-2].Name, fields[n-1].Name)
	}
	if got := len(sales.Metadata().Schemas()); got != 2 {
		t.Errorf("fact_sales has %d schemas, want 2 (the old one kept)", got)
	}
	// The files carry the new field ids (checked with parquet-go), and the
	// lake equals the warehouse (DuckDB over the files, lake.duckdb).
	checkFilesWithParquetGo(t, w, after)
	checkLakeDuckDB(t, w, dir, after)
	var want int64
	w.DB.QueryRowContext(ctx, `SELECT count(*) FROM fact_sales WHERE coupon_code = 'SPRING'`).Scan(&want)
	var got int64
	w.DB.QueryRowContext(ctx, `SELECT count(*) FROM `+overFiles(t, sales)+` WHERE coupon_code = 'SPRING'`).Scan(&got)
	if want != 2 || got != want {
		t.Errorf("coupon_code SPRING: lake %d rows, warehouse %d (want 2)", got, want)
	}
	// iceberg-go reads the current snapshot with the new column ...
	at, err := after.Tables["dim_product"].Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if at.Schema().FieldIndices("eco_label") == nil || at.NumRows() != oldRows["dim_product"] {
		t.Errorf("current dim_product: %d rows, schema %s", at.NumRows(), at.Schema())
	}
	at.Release()
	// ... and the old snapshots as they were.
	for name, id := range map[string]int64{"dim_product": oldProduct, "fact_sales": oldSales} {
		tbl := after.Tables[name]
		snap := tbl.SnapshotByID(id)
		if snap == nil {
			t.Fatalf("%s: old snapshot %d gone", name, id)
		}
		if snap.SchemaID == nil || *snap.SchemaID == tbl.Schema().ID {
			t.Errorf("%s: old snapshot's schema id %v, current %d", name, snap.SchemaID, tbl.Schema().ID)
		}
		at, err := tbl.Scan(table.WithSnapshotID(id)).ToArrowTable(ctx)
		if err != nil {
			t.Fatalf("%s: scan of old snapshot: %v", name, err)
		}
		wantRows := oldRows[name]
		if at.NumRows() != wantRows || at.Schema().FieldIndices("eco_label") != nil || at.Schema().FieldIndices("coupon_code") != nil {
			t.Errorf("%s old snapshot: %d rows, want %d, in its own schema: %s", name, at.NumRows(), wantRows, at.Schema())
		}
		at.Release()
	}

	// A column gone or retyped is refused with the reason.
	if _, err := w.DB.ExecContext(ctx, `ALTER TABLE dim_product DROP COLUMN eco_label`); err != nil {
		t.Fatal(err)
	}
	_, err = Lake(ctx, w, LakeOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "column eco_label is gone") || !strings.Contains(err.Error(), "dim_product") {
		t.Errorf("dropped column: %v", err)
	}
	if _, err := w.DB.ExecContext(ctx, `ALTER TABLE dim_product ADD COLUMN eco_label INTEGER`); err != nil {
		t.Fatal(err)
	}
	_, err = Lake(ctx, w, LakeOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "column eco_label is now int, was string") {
		t.Errorf("retyped column: %v", err)
	}
}

// A lake folder that was moved is refused with the reason (Iceberg
// metadata holds absolute paths), by an export and by a reader, and works
// again where it was written.
func TestLakeMoved(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	root := t.TempDir()
	dir, moved := filepath.Join(root, "lake"), filepath.Join(root, "moved")
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	want := "lake " + moved + " was written at " + dir + ": Iceberg metadata holds absolute paths"
	if _, err := Lake(ctx, w, LakeOptions{Dir: moved}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("export into a moved lake: %v", err)
	}
	if _, err := OpenLakeSnapshot(ctx, moved); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("reading a moved lake: %v", err)
	}
	// Through a symbolic link it is the same folder.
	if err := os.Rename(moved, dir); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Lake(ctx, w, LakeOptions{Dir: link}); err != nil {
		t.Errorf("export through a link to the lake: %v", err)
	}
	s, err := OpenLakeSnapshot(ctx, dir)
	if err != nil || s.ExportID != 2 {
		t.Fatalf("lake after the export through the link: %v, %v", s, err)
	}
	// Nothing it still uses was taken for unreferenced (paths spelt two ways).
	lakeState(t, w, dir)
	checkLakeDuckDB(t, w, dir, s)
	assertOnlyReferenced(t, dir)
}
