package export

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/hamba/avro/v2/ocf"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// lakeFiles lists a table's data files in the lake's current snapshot.
func lakeFiles(t *testing.T, tbl *table.Table) []string {
	t.Helper()
	s := tbl.CurrentSnapshot()
	if s == nil {
		return nil
	}
	fs, err := tbl.FS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dfs, err := snapshotDataFiles(fs, s)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, df := range dfs {
		out = append(out, localPath(df.FilePath()))
	}
	slices.Sort(out)
	return out
}

// partitionFiles maps each partition ("Y-M", from the year=Y/month=M
// directories) of a table's current snapshot to its data files.
func partitionFiles(t *testing.T, tbl *table.Table) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, f := range lakeFiles(t, tbl) {
		k, ok := pathPartition(f)
		if !ok {
			t.Fatalf("data file %s has no partition directory", f)
		}
		out[k] = append(out[k], f)
	}
	return out
}

// lakePartFiles is partitionFiles of a table in the lake's current export.
func lakePartFiles(t *testing.T, dir, name string) map[string][]string {
	t.Helper()
	snap, err := OpenLakeSnapshot(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return partitionFiles(t, snap.Tables[name])
}

// overFiles is a DuckDB relation over a table's current data files.
func overFiles(t *testing.T, tbl *table.Table) string {
	files := lakeFiles(t, tbl)
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = engine.QuoteString(f)
	}
	return "read_parquet([" + strings.Join(q, ", ") + "], hive_partitioning = false)"
}

// plainColumns are a table's columns that are not masked, partition or
// published differently (dim_customer's birth year).
func plainColumns(tbl *table.Table) []string {
	var out []string
	for _, f := range tbl.Schema().Fields() {
		switch f.Name {
		case "id_number", "name", "mobile", "email", "birth_year", "year", "month":
			continue
		}
		out = append(out, f.Name)
	}
	return out
}

func warehouseRelation(name string) string {
	if name == "dim_customer" {
		return "(SELECT *, CAST(year(birth_date) AS INTEGER) AS birth_year FROM dim_customer)"
	}
	return engine.QuoteIdent(name)
}

func TestLakeRoundTrip(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	dir := filepath.Join(t.TempDir(), "lake")
	res, err := Lake(ctx, w, LakeOptions{Dir: dir, Producer: "ckm test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "full" || res.DataVersion != 7 || !slices.Equal(res.ETLRuns, []int64{6, 7}) || res.ExportID != 1 {
		t.Errorf("result mode %s, data version %d, runs %v, export %d; want full, 7, [6 7], 1", res.Mode, res.DataVersion, res.ETLRuns, res.ExportID)
	}
	snap, err := OpenLakeSnapshot(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dim_customer", "dim_date", "dim_product", "fact_sales", "fact_interaction", "kb_model", "kb_rule", "etl_run"} {
		if snap.Tables[want] == nil {
			t.Errorf("lake lacks %s", want)
		}
	}
	if snap.Tables["etl_identity"] != nil || snap.Tables["etl_reject"] != nil {
		t.Error("lake has tables not for BI tools")
	}
	for name, tbl := range snap.Tables {
		// iceberg-go's own scan reads every row back.
		var wantN int64
		w.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+engine.QuoteIdent(name)).Scan(&wantN)
		at, err := tbl.Scan().ToArrowTable(ctx)
		if err != nil {
			t.Fatalf("%s: scan: %v", name, err)
		}
		if at.NumRows() != wantN {
			t.Errorf("%s: iceberg scan has %d rows, warehouse %d", name, at.NumRows(), wantN)
		}
		at.Release()
		// The snapshot summary records the data version and the runs.
		if s := tbl.CurrentSnapshot(); s != nil {
			if s.Summary.Properties[SummaryDataVersion] != "7" || s.Summary.Properties[SummaryETLRuns] != "[6,7]" {
				t.Errorf("%s: summary %v", name, s.Summary.Properties)
			}
		} else if name != "fact_interaction" && name != "fact_campaign" {
			t.Errorf("%s has no snapshot", name)
		}
		// DuckDB over the snapshot's data files: the same rows.
		if len(lakeFiles(t, tbl)) == 0 {
			continue
		}
		cols := plainColumns(tbl)
		wn, ws := checksum(t, w, warehouseRelation(name), cols)
		ln, ls := checksum(t, w, overFiles(t, tbl), cols)
		if wn != ln || ws != ls {
			t.Errorf("%s: lake files %d rows (%s), warehouse %d (%s)", name, ln, ls, wn, ws)
		}
	}
	// Same aggregates as the warehouse, by partition.
	agg := func(from string) string {
		rows, err := w.DB.QueryContext(ctx, `SELECT CASE WHEN date_key > 0 THEN date_key // 100 ELSE 0 END, count(*), sum(amount), sum(quantity) FROM `+from+` GROUP BY ALL ORDER BY ALL`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var ym, n, q int64
			var amt float64
			rows.Scan(&ym, &n, &amt, &q)
			fmt.Fprintf(&b, "%d:%d:%.2f:%d ", ym, n, amt, q)
		}
		return b.String()
	}
	if got, want := agg(overFiles(t, snap.Tables["fact_sales"])), agg("fact_sales"); got != want || want == "" {
		t.Errorf("fact_sales aggregates: lake %s, warehouse %s", got, want)
	}
	// Partitioned by year and month: one file per partition, in its
	// hive directory, with the partition values Iceberg records.
	files := lakeFiles(t, snap.Tables["fact_sales"])
	var parts []string
	for _, f := range files {
		parts = append(parts, filepath.Base(filepath.Dir(filepath.Dir(f)))+"/"+filepath.Base(filepath.Dir(f)))
	}
	if got := strings.Join(parts, " "); got != "year=0/month=0 year=2024/month=1 year=2024/month=2 year=2025/month=2" {
		t.Errorf("fact_sales files in %s", got)
	}
	// The masked customer, as Parquet did it.
	var id, mobile string
	w.DB.QueryRowContext(ctx, "SELECT id_number, mobile FROM "+overFiles(t, snap.Tables["dim_customer"])+" WHERE customer_key = 1").Scan(&id, &mobile)
	if id != "110105************" || mobile != "+86 138****8000" {
		t.Errorf("lake dim_customer id_number %q mobile %q", id, mobile)
	}
	checkLakeDuckDB(t, w, dir, snap)
	checkManifestsWithAvro(t, snap)
	checkFilesWithParquetGo(t, w, snap)
}

// checkLakeDuckDB opens lake.duckdb's views and compares them with the
// warehouse.
func checkLakeDuckDB(t *testing.T, w *engine.Warehouse, dir string, snap *LakeSnapshot) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.DB.ExecContext(ctx, "ATTACH "+engine.QuoteString(filepath.Join(dir, LakeDuckDBFile))+" AS lakecat (READ_ONLY)"); err != nil {
		t.Fatal(err)
	}
	defer w.DB.ExecContext(ctx, "DETACH lakecat")
	// Each view says which snapshot it reads: the current one.
	rows, err := w.DB.QueryContext(ctx, "SELECT name, snapshot_id FROM lakecat.ckm_lake_tables")
	if err != nil {
		t.Fatal(err)
	}
	views := map[string]int64{}
	for rows.Next() {
		var n string
		var id int64
		if err := rows.Scan(&n, &id); err != nil {
			t.Fatal(err)
		}
		views[n] = id
	}
	rows.Close()
	for name, tbl := range snap.Tables {
		want := int64(-1)
		if s := tbl.CurrentSnapshot(); s != nil {
			want = s.SnapshotID
		}
		if id, ok := views[name]; !ok || id != want {
			t.Errorf("lake.duckdb ckm_lake_tables %s: snapshot %d (listed %v), current %d", name, id, ok, want)
		}
	}
	if len(views) != len(snap.Tables) {
		t.Errorf("lake.duckdb lists %d tables, the lake has %d", len(views), len(snap.Tables))
	}
	for name, tbl := range snap.Tables {
		cols := plainColumns(tbl)
		wn, ws := checksum(t, w, warehouseRelation(name), cols)
		ln, ls := checksum(t, w, "lakecat."+engine.QuoteIdent(name), cols)
		if wn != ln || ws != ls {
			t.Errorf("lake.duckdb %s: %d rows (%s), warehouse %d (%s)", name, ln, ls, wn, ws)
		}
	}
}

// checkManifestsWithAvro reads each table's manifest list and manifests
// with hamba/avro (not iceberg-go's Avro) and checks them against the
// files on disk: paths exist, record counts match the Parquet footers,
// partitions are the hive directory's.
func checkManifestsWithAvro(t *testing.T, snap *LakeSnapshot) {
	t.Helper()
	readOCF := func(path string) []map[string]any {
		f, err := os.Open(localPath(path))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dec, err := ocf.NewDecoder(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var out []map[string]any
		for dec.HasNext() {
			var rec map[string]any
			if err := dec.Decode(&rec); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, rec)
		}
		if dec.Error() != nil {
			t.Fatalf("%s: %v", path, dec.Error())
		}
		return out
	}
	for name, tbl := range snap.Tables {
		s := tbl.CurrentSnapshot()
		if s == nil {
			continue
		}
		var files []string
		for _, m := range readOCF(s.ManifestList) {
			if num(m["content"]) != 0 {
				continue
			}
			for _, e := range readOCF(m["manifest_path"].(string)) {
				if st := num(e["status"]); st == 2 { // deleted
					continue
				}
				df := e["data_file"].(map[string]any)
				path := localPath(df["file_path"].(string))
				files = append(files, path)
				if df["file_format"] != "PARQUET" {
					t.Errorf("%s: %s format %v", name, path, df["file_format"])
				}
				pf, err := os.Open(path)
				if err != nil {
					t.Fatalf("%s: manifest names %s: %v", name, path, err)
				}
				st, _ := pf.Stat()
				pq, err := parquet.OpenFile(pf, st.Size())
				if err != nil {
					t.Fatal(err)
				}
				if num(df["record_count"]) != pq.NumRows() || num(df["file_size_in_bytes"]) != st.Size() {
					t.Errorf("%s: %s manifest says %v rows %v bytes, file has %d rows %d bytes", name, path, df["record_count"], df["file_size_in_bytes"], pq.NumRows(), st.Size())
				}
				pf.Close()
				if name == "fact_sales" {
					p := df["partition"].(map[string]any)
					want := fmt.Sprintf("year=%v/month=%v", unwrapUnion(p["year"]), unwrapUnion(p["month"]))
					if got := filepath.Base(filepath.Dir(filepath.Dir(path))) + "/" + filepath.Base(filepath.Dir(path)); got != want {
						t.Errorf("fact_sales %s: manifest partition %s", path, want)
					}
				}
			}
		}
		slices.Sort(files)
		if !slices.Equal(files, lakeFiles(t, tbl)) {
			t.Errorf("%s: avro manifests list %v, iceberg-go %v", name, files, lakeFiles(t, tbl))
		}
	}
}

// num is an Avro int or long as hamba decodes it.
func num(v any) int64 {
	switch v := v.(type) {
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case int64:
		return v
	}
	return -1 << 62
}

// unwrapUnion takes the value out of an Avro union as hamba decodes it.
func unwrapUnion(v any) any {
	if m, ok := v.(map[string]any); ok {
		for _, x := range m {
			return x
		}
	}
	return v
}

// checkFilesWithParquetGo opens every data file with parquet-go: field
// ids are the table schema's, types match, and rows and a sample value
// agree with the warehouse.
func checkFilesWithParquetGo(t *testing.T, w *engine.Warehouse, snap *LakeSnapshot) {
	t.Helper()
	for name, tbl := range snap.Tables {
		var rows int64
		for _, path := range lakeFiles(t, tbl) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := f.Stat()
			pf, err := parquet.OpenFile(f, st.Size())
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			rows += pf.NumRows()
			fields := pf.Schema().Fields()
			if len(fields) != len(tbl.Schema().Fields()) {
				t.Errorf("%s: %d parquet columns, schema %d", path, len(fields), len(tbl.Schema().Fields()))
			}
			for i, sf := range tbl.Schema().Fields() {
				if i >= len(fields) {
					break
				}
				pfld := fields[i]
				if pfld.Name() != sf.Name || pfld.ID() != sf.ID {
					t.Errorf("%s: column %d is %s id %d, Iceberg %s id %d", path, i, pfld.Name(), pfld.ID(), sf.Name, sf.ID)
				}
				if !parquetTypeFits(pfld, sf.Type) {
					t.Errorf("%s: column %s parquet type %v for Iceberg %s", path, sf.Name, pfld.Type(), sf.Type)
				}
			}
			f.Close()
		}
		var want int64
		w.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM "+engine.QuoteIdent(name)).Scan(&want)
		if rows != want {
			t.Errorf("%s: parquet-go counts %d rows, warehouse %d", name, rows, want)
		}
	}
	// A sample value read by parquet-go: the product names.
	var got []string
	for _, path := range lakeFiles(t, snap.Tables["dim_product"]) {
		for _, v := range parquetColumn(t, path, "product_name") {
			if v != "" {
				got = append(got, v)
			}
		}
	}
	sort.Strings(got)
	if !slices.Contains(got, "电饭锅") || !slices.Contains(got, "空调") {
		t.Errorf("dim_product names read by parquet-go: %v", got)
	}
}

// parquetTypeFits checks a Parquet column's physical/logical type against
// the Iceberg type.
func parquetTypeFits(f parquet.Field, it iceberg.Type) bool {
	typ := f.Type()
	var lv format.LogicalTypeValue
	if lt := typ.LogicalType(); lt != nil {
		lv = lt.Value
	}
	switch it := it.(type) {
	case iceberg.Int32Type:
		return typ.Kind() == parquet.Int32
	case iceberg.Int64Type:
		return typ.Kind() == parquet.Int64
	case iceberg.Float64Type:
		return typ.Kind() == parquet.Double
	case iceberg.BooleanType:
		return typ.Kind() == parquet.Boolean
	case iceberg.StringType:
		_, ok := lv.(*format.StringType)
		return typ.Kind() == parquet.ByteArray && ok
	case iceberg.DateType:
		_, ok := lv.(*format.DateType)
		return typ.Kind() == parquet.Int32 && ok
	case iceberg.TimestampType:
		ts, ok := lv.(*format.TimestampType)
		return typ.Kind() == parquet.Int64 && ok && !ts.IsAdjustedToUTC
	case iceberg.DecimalType:
		d, ok := lv.(*format.DecimalType)
		return ok && int(d.Precision) == it.Precision()
	case *iceberg.ListType:
		_, ok := lv.(*format.ListType)
		return ok
	}
	return true
}

// addDay loads one day of sales (a new run) into 2025-03.
func addDay(t *testing.T, w *engine.Warehouse, run int, day string) {
	t.Helper()
	q := fmt.Sprintf(`INSERT INTO etl_run (run_id, started_at, finished_at, status, rows_read, rows_loaded)
		VALUES (%d, TIMESTAMP '2025-03-01', TIMESTAMP '2025-03-01', 'committed', 1, 1);
		INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, etl_run_id)
		VALUES ('R%d', 1, %s, 1, 1001, 1, 1, 1, 199.00, 199.00, false, %d)`, run, run, day, run)
	if _, err := w.DB.ExecContext(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// sameAsFull fails the test where the lake in dir differs, table by
// table, from a full export of w into a directory of its own (what names
// the case).
func sameAsFull(t *testing.T, w *engine.Warehouse, dir, what string) {
	t.Helper()
	full := filepath.Join(t.TempDir(), "full")
	if _, err := Lake(context.Background(), w, LakeOptions{Dir: full, Full: true}); err != nil {
		t.Fatalf("%s: a full export: %v", what, err)
	}
	inc, fl := lakeState(t, w, dir), lakeState(t, w, full)
	names := maps.Clone(inc)
	maps.Copy(names, fl)
	for _, k := range slices.Sorted(maps.Keys(names)) {
		if inc[k] != fl[k] {
			t.Errorf("%s: the lake's %s %q, a full export's %q", what, k, inc[k], fl[k])
		}
	}
}

// lakeState is every table's rows in the current snapshot, as checksums.
func lakeState(t *testing.T, w *engine.Warehouse, dir string) map[string]string {
	t.Helper()
	snap, err := OpenLakeSnapshot(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, tbl := range snap.Tables {
		if len(lakeFiles(t, tbl)) == 0 {
			out[name] = "empty"
			continue
		}
		var cols []string
		for _, f := range tbl.Schema().Fields() {
			cols = append(cols, f.Name)
		}
		n, s := checksum(t, w, overFiles(t, tbl), cols)
		out[name] = fmt.Sprintf("%d:%s", n, s)
	}
	return out
}

func TestLakeIncremental(t *testing.T) {
	ctx := context.Background()
	w, dir := smallLake(t)
	before, _ := OpenLakeSnapshot(ctx, dir)
	oldFiles := lakeFiles(t, before.Tables["fact_sales"])

	// A one-day load: only that day's partition is written.
	addDay(t, w, 8, "20250315")
	res, err := Lake(ctx, w, LakeOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "incremental" || !slices.Equal(res.ETLRuns, []int64{8}) || res.DataVersion != 8 {
		t.Errorf("mode %s, runs %v, version %d", res.Mode, res.ETLRuns, res.DataVersion)
	}
	for _, tr := range res.Tables {
		switch tr.Name {
		case "fact_sales":
			if !slices.Equal(tr.Partitions, []string{"2025-3"}) || tr.Written != 1 || tr.Replaced != 0 {
				t.Errorf("fact_sales: rewrote %v, wrote %d, replaced %d; want [2025-3], 1, 0", tr.Partitions, tr.Written, tr.Replaced)
			}
		case "etl_run", "fact_sales_current", "kb_model_status":
			// A new run, the view of current sales, and the models'
			// staleness (against the data version) did change.
			if !tr.Changed {
				t.Errorf("%s changed but was not rewritten", tr.Name)
			}
		default:
			if tr.Changed {
				t.Errorf("%s did not change but was rewritten", tr.Name)
			}
		}
	}
	after, _ := OpenLakeSnapshot(ctx, dir)
	// Each table's file count, read or from its summary, is its snapshot's.
	for _, tr := range res.Tables {
		if n := len(lakeFiles(t, after.Tables[tr.Name])); tr.Files != n {
			t.Errorf("%s: result says %d files, the snapshot has %d", tr.Name, tr.Files, n)
		}
	}
	newFiles := lakeFiles(t, after.Tables["fact_sales"])
	var added []string
	for _, f := range newFiles {
		if !slices.Contains(oldFiles, f) {
			added = append(added, f)
		}
	}
	if len(added) != 1 || !strings.Contains(added[0], filepath.Join("year=2025", "month=3")) || len(newFiles) != len(oldFiles)+1 {
		t.Errorf("snapshot file list after a one-day load: added %v (old %d, new %d files)", added, len(oldFiles), len(newFiles))
	}
	// The dimension kept its snapshot.
	if after.Tables["dim_customer"].CurrentSnapshot().SnapshotID != before.Tables["dim_customer"].CurrentSnapshot().SnapshotID {
		t.Error("dim_customer got a new snapshot without a change")
	}
	// lake.duckdb, updated in place of a rewrite, reads the new snapshots.
	checkLakeDuckDB(t, w, dir, after)

	// After each kind of change, the incremental lake equals a full one.
	for _, c := range []struct{ kind, sql, parts string }{
		{"restatement of an old order", `UPDATE fact_sales SET amount = 350.00, quantity = 3 WHERE order_id = 'O1' AND line_no = 1`, "2024-1"},
		{"customer merge (facts move to the survivor)", `UPDATE fact_sales SET customer_key = 1, customer_id = 1001 WHERE customer_key = 2;
			UPDATE dim_customer SET is_current = false WHERE customer_key = 2`, "2024-2,2025-2"},
		{"customer split", `UPDATE fact_sales SET customer_key = 2, customer_id = 1002 WHERE order_id = 'O3'`, "2025-2"},
		{"erasure", `UPDATE dim_customer SET name = NULL, mobile = NULL, email = NULL, id_number = NULL WHERE customer_key = 1`, ""},
		{"lifecycle change", `UPDATE dim_customer SET customer_type = 'lost' WHERE customer_key = 3`, ""},
		{"late order for an unknown date", `INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, etl_run_id)
			VALUES ('O9', 1, -1, -1, -1, 1, 1, 1, 1.00, 1.00, false, 8)`, "0-0"},
		{"all of a month deleted", `DELETE FROM fact_sales WHERE date_key BETWEEN 20240100 AND 20240199`, "2024-1"},
	} {
		if _, err := w.DB.ExecContext(ctx, c.sql); err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		res, err := Lake(ctx, w, LakeOptions{Dir: dir})
		if err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		for _, tr := range res.Tables {
			if tr.Name == "fact_sales" && strings.Join(tr.Partitions, ",") != c.parts {
				t.Errorf("%s: fact_sales rewrote %v, want %s", c.kind, tr.Partitions, c.parts)
			}
		}
		sameAsFull(t, w, dir, c.kind)
		snapNow, _ := OpenLakeSnapshot(ctx, dir)
		checkLakeDuckDB(t, w, dir, snapNow)
		// And both are the warehouse.
		cols := plainColumns(after.Tables["fact_sales"])
		wn, ws := checksum(t, w, "fact_sales", cols)
		snap, _ := OpenLakeSnapshot(ctx, dir)
		ln, ls := checksum(t, w, overFiles(t, snap.Tables["fact_sales"]), cols)
		if wn != ln || ws != ls {
			t.Errorf("%s: lake fact_sales %d (%s), warehouse %d (%s)", c.kind, ln, ls, wn, ws)
		}
	}
}

func TestLakeExpiry(t *testing.T) {
	ctx := context.Background()
	w, dir := smallLake(t)
	first, _ := OpenLakeSnapshot(ctx, dir)
	firstFiles := lakeFiles(t, first.Tables["etl_run"])
	addDay(t, w, 8, "20250315")
	// Retained: the replaced snapshot and its files stay for readers.
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, Retain: time.Hour}); err != nil {
		t.Fatal(err)
	}
	s, _ := OpenLakeSnapshot(ctx, dir)
	if n := len(s.Tables["etl_run"].Metadata().Snapshots()); n != 2 {
		t.Errorf("etl_run has %d snapshots within the retention, want 2", n)
	}
	for _, f := range firstFiles {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("a retained snapshot's file is gone: %v", err)
		}
	}
	// Expired: one snapshot per table remains and the old files are gone.
	res, err := Lake(ctx, w, LakeOptions{Dir: dir, Retain: -1})
	if err != nil {
		t.Fatal(err)
	}
	s, _ = OpenLakeSnapshot(ctx, dir)
	if n := len(s.Tables["etl_run"].Metadata().Snapshots()); n != 1 || res.SnapshotsExpired == 0 {
		t.Errorf("after expiry etl_run has %d snapshots (%d expired), want 1", n, res.SnapshotsExpired)
	}
	for _, f := range firstFiles {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("expired snapshot's file %s is still there", f)
		}
	}
	assertOnlyReferenced(t, dir)
}

// assertOnlyReferenced checks that every file under the lake's tables is
// one the current metadata reaches.
func assertOnlyReferenced(t *testing.T, dir string) {
	t.Helper()
	var files []string
	filepath.WalkDir(filepath.Join(dir, LakeNamespace), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	snap, err := OpenLakeSnapshot(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := removeUnreferenced(context.Background(), t.TempDir(), snap, DefaultLakeRetain, time.Now(), nil)
	_ = n
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.Contains(f, ".tmp") {
			t.Errorf("temporary file left: %s", f)
		}
	}
	for _, tbl := range snap.Tables {
		for _, f := range lakeFiles(t, tbl) {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("current snapshot file missing: %v", err)
			}
		}
	}
	var data int
	for _, f := range files {
		if strings.HasSuffix(f, ".parquet") {
			data++
		}
	}
	live := map[string]bool{}
	for _, tbl := range snap.Tables {
		fs, _ := tbl.FS(context.Background())
		for _, s := range tbl.Metadata().Snapshots() {
			dfs, err := snapshotDataFiles(fs, &s)
			if err != nil {
				t.Fatal(err)
			}
			for _, df := range dfs {
				live[localPath(df.FilePath())] = true
			}
		}
	}
	if data != len(live) {
		t.Errorf("%d data files on disk, %d in the live snapshots", data, len(live))
	}
}

// TestLakeReaderDuringExports polls the current snapshot while loads and
// exports alternate: every read sees one export whole, with the rows the
// warehouse had at that export's data version.
func TestLakeReaderDuringExports(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	dir := filepath.Join(t.TempDir(), "lake")
	want := sync.Map{} // data version -> "sales:runs"
	record := func(v int64) {
		var sales, runs int64
		w.DB.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM fact_sales), (SELECT count(*) FROM etl_run)").Scan(&sales, &runs)
		want.Store(v, fmt.Sprintf("%d:%d", sales, runs))
	}
	record(7)
	// Three tables keep the test fast; what it checks does not depend on how many.
	tables := []string{"fact_sales", "etl_run", "dim_customer"}
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: tables}); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var reads, errs atomic.Int64
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			snap, err := OpenLakeSnapshot(ctx, dir)
			if err != nil {
				errs.Add(1)
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
				continue
			}
			count := func(name string) int64 {
				at, err := snap.Tables[name].Scan().ToArrowTable(ctx)
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("export %d %s: %v", snap.ExportID, name, err))
					mu.Unlock()
					return -1
				}
				defer at.Release()
				return at.NumRows()
			}
			got := fmt.Sprintf("%d:%d", count("fact_sales"), count("etl_run"))
			exp, _ := want.Load(snap.DataVersion)
			if got != exp {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("export %d (data version %d): read %s, want %v", snap.ExportID, snap.DataVersion, got, exp))
				mu.Unlock()
			}
			reads.Add(1)
		}
	}()
	for i := 0; i < 20; i++ {
		run := 8 + i
		addDay(t, w, run, fmt.Sprintf("2025%02d%02d", 3+i%6, 1+i))
		record(int64(run))
		if _, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: tables, Retain: 2 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d of %d reads failed; first: %s", len(failures), reads.Load(), failures[0])
	}
	if reads.Load() < 5 {
		t.Errorf("only %d reads during 20 exports", reads.Load())
	}
	t.Logf("%d consistent reads during 20 exports", reads.Load())
}

// TestLakeKilledExport kills an export (a child process) after it has
// written its data files and manifests, before the catalog commit.
func TestLakeKilledExport(t *testing.T) {
	if os.Getenv("CKM_LAKE_CHILD") != "" {
		lakeChild(t)
		return
	}
	ctx := context.Background()
	w, dir := smallLake(t)
	addDay(t, w, 8, "20250315")
	before := lakeState(t, w, dir)
	path := w.Path
	w.Close()

	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLakeKilledExport$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CKM_LAKE_CHILD=1", "CKM_LAKE_WAREHOUSE="+path, "CKM_LAKE_DIR="+dir, "CKM_LAKE_READY="+ready)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child export never reached its commit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	w2, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	// The killed export left files, but the lake is the one before.
	var orphans int
	filepath.WalkDir(filepath.Join(dir, LakeNamespace), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, "e000002-") {
			orphans++
		}
		return nil
	})
	if orphans == 0 {
		t.Fatal("the killed export wrote no data files: the test kills too early")
	}
	if after := lakeState(t, w2, dir); !maps.Equal(before, after) {
		t.Errorf("a killed export changed what readers see: %v, was %v", after, before)
	}
	res, err := Lake(ctx, w2, LakeOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesRemoved < orphans {
		t.Errorf("next export removed %d files, the killed one left %d data files", res.FilesRemoved, orphans)
	}
	assertOnlyReferenced(t, dir)
}

// lakeChild runs the export the parent kills: it signals when its data is
// written and waits before the commit.
func lakeChild(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, os.Getenv("CKM_LAKE_WAREHOUSE"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lakeBeforeCommit = func() {
		os.WriteFile(os.Getenv("CKM_LAKE_READY"), nil, 0o644)
		time.Sleep(time.Minute)
	}
	Lake(ctx, w, LakeOptions{Dir: os.Getenv("CKM_LAKE_DIR")})
	t.Fatal("the child export was not killed")
}

func TestLakeTargets(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644)
	if _, err := Lake(ctx, w, LakeOptions{Dir: foreign}); err == nil || !strings.Contains(err.Error(), "not a ckm lake") {
		t.Errorf("export over a foreign directory: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "lake")
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: []string{"etl_identity"}}); err == nil || !strings.Contains(err.Error(), "etl_identity is not a lake table") {
		t.Errorf("etl_identity as analyst: %v", err)
	}
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: []string{"dim_nosuch"}}); err == nil || !strings.Contains(err.Error(), "dim_nosuch") {
		t.Errorf("unknown table: %v", err)
	}
	// Configured permissions.
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, DirMode: 0o750, FileMode: 0o640}); err != nil {
		t.Fatal(err)
	}
	checkModes(t, dir, 0o750, 0o640)
}

// TestForgetInLake: after an erasure, no snapshot of the lake holds the
// customer's (masked) personal data any more: older snapshots are expired
// at once and their files and replaced metadata removed.
func TestForgetInLake(t *testing.T) {
	ctx := context.Background()
	w, dir := smallLake(t)
	first, _ := OpenLakeSnapshot(ctx, dir)
	oldCustomerFiles := lakeFiles(t, first.Tables["dim_customer"])
	// What ckm forget does to the dimension (vault.Forget blanks the versions).
	if _, err := w.DB.ExecContext(ctx, `UPDATE dim_customer SET id_number = NULL, name = NULL, mobile = NULL, email = NULL WHERE customer_id = 1001`); err != nil {
		t.Fatal(err)
	}
	res, err := ForgetInLake(ctx, w, dir, privacy.Principal{User: "root", Role: privacy.Admin}, "request 42")
	if err != nil {
		t.Fatal(err)
	}
	if res.SnapshotsExpired == 0 {
		t.Error("no snapshot expired")
	}
	snap, _ := OpenLakeSnapshot(ctx, dir)
	for name, tbl := range snap.Tables {
		if n := len(tbl.Metadata().Snapshots()); n > 1 {
			t.Errorf("%s keeps %d snapshots after forget", name, n)
		}
		if n := len(slices.Collect(tbl.Metadata().PreviousFiles())); n > 0 {
			// Entries may remain in the log, but their files must be gone.
			for e := range tbl.Metadata().PreviousFiles() {
				if _, err := os.Stat(localPath(e.MetadataFile)); err == nil {
					t.Errorf("%s: replaced metadata %s survives", name, e.MetadataFile)
				}
			}
		}
	}
	for _, f := range oldCustomerFiles {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("the old dim_customer file %s survives forget", f)
		}
	}
	// Every dim_customer file on disk is the current one, without the customer's values.
	var n int
	if err := w.DB.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+engine.QuoteString(filepath.Join(dir, LakeNamespace, "dim_customer", "data", "**", "*.parquet"))+
		") WHERE customer_id = 1001 AND (name IS NOT NULL OR mobile IS NOT NULL OR id_number IS NOT NULL OR email IS NOT NULL)").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows of the lake's files still hold customer 1001's values", n)
	}
	assertOnlyReferenced(t, dir)
}

// TestLakeSourceCheck: an incremental export does not read a table whose
// definitions and base tables are unchanged (the masked dim_customer after
// a one-day load), and does notice a change that reaches a table only
// through its view (vault_display, joined by the masked dim_customer).
func TestLakeSourceCheck(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	dir := filepath.Join(t.TempDir(), "lake")
	if _, err := w.DB.ExecContext(ctx, `UPDATE dim_customer SET mobile = 'tok-1' WHERE customer_key = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	checks := func(res *LakeResult) map[string]LakeTableResult {
		out := map[string]LakeTableResult{}
		for _, tr := range res.Tables {
			out[tr.Name] = tr
		}
		return out
	}
	addDay(t, w, 8, "20250315")
	res, err := Lake(ctx, w, LakeOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := checks(res)
	if c["dim_customer"].Check != LakeCheckSources || c["dim_product"].Check != LakeCheckSources {
		t.Errorf("after a one-day load dim_customer was checked by %q, dim_product by %q; want %q (not read)",
			c["dim_customer"].Check, c["dim_product"].Check, LakeCheckSources)
	}
	if c["fact_sales"].Check != LakeCheckRows || !slices.Equal(c["fact_sales"].Partitions, []string{"2025-3"}) {
		t.Errorf("fact_sales checked by %q, rewrote %v; want %q, [2025-3]", c["fact_sales"].Check, c["fact_sales"].Partitions, LakeCheckRows)
	}
	if f := c["fact_sales_current"]; f.Check != LakeCheckBase || !slices.Equal(f.Partitions, []string{"2025-3"}) {
		t.Errorf("fact_sales_current checked by %q, rewrote %v; want %q, [2025-3]", f.Check, f.Partitions, LakeCheckBase)
	}
	// Only the vault's display of the token changes.
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO vault_display VALUES ('tok-1', 'mobile', '+86 139****0000')`); err != nil {
		t.Fatal(err)
	}
	if res, err = Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	c = checks(res)
	if d := c["dim_customer"]; !d.Changed || d.Check != LakeCheckWritten {
		t.Errorf("dim_customer after a vault change: changed %v, checked by %q; want rewritten, %q", d.Changed, d.Check, LakeCheckWritten)
	}
	if c["dim_product"].Changed || c["fact_sales"].Changed {
		t.Error("a vault change rewrote dim_product or fact_sales")
	}
	snap, _ := OpenLakeSnapshot(ctx, dir)
	var mobile string
	if err := w.DB.QueryRowContext(ctx, "SELECT mobile FROM "+overFiles(t, snap.Tables["dim_customer"])+" WHERE customer_key = 1").Scan(&mobile); err != nil {
		t.Fatal(err)
	}
	if mobile != "+86 139****0000" {
		t.Errorf("lake dim_customer mobile of customer 1 = %q, want the vault's display +86 139****0000", mobile)
	}
	same := func(what string) {
		t.Helper()
		sameAsFull(t, w, dir, what)
	}
	same("vault change")
	// A change the analyst's view does not show (the birth date within
	// its year: the lake has the birth year): written, compared, dropped.
	if _, err := w.DB.ExecContext(ctx, `UPDATE dim_customer SET birth_date = DATE '1990-01-01' WHERE customer_key = 1`); err != nil {
		t.Fatal(err)
	}
	if res, err = Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if d := checks(res)["dim_customer"]; !d.Changed {
		t.Error("dim_customer not rewritten after a birth year appeared")
	}
	if _, err := w.DB.ExecContext(ctx, `UPDATE dim_customer SET birth_date = DATE '1990-06-15' WHERE customer_key = 1`); err != nil {
		t.Fatal(err)
	}
	kept, _ := OpenLakeSnapshot(ctx, dir)
	if res, err = Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if d := checks(res)["dim_customer"]; d.Changed || d.Check != LakeCheckWritten || d.Written != 0 {
		t.Errorf("dim_customer after a change it does not show: changed %v, checked by %q, wrote %d; want kept, %q, 0", d.Changed, d.Check, d.Written, LakeCheckWritten)
	}
	snap, _ = OpenLakeSnapshot(ctx, dir)
	if a, b := snap.Tables["dim_customer"].CurrentSnapshot().SnapshotID, kept.Tables["dim_customer"].CurrentSnapshot().SnapshotID; a != b {
		t.Errorf("dim_customer snapshot %d, want the one kept %d", a, b)
	}
	assertOnlyReferenced(t, dir) // the file written to compare is gone
	same("birth date within its year")
	// A masking macro redefined: no row changed, every masked name did.
	if _, err := w.DB.ExecContext(ctx, `CREATE OR REPLACE MACRO ckm_mask_name(s) AS CASE WHEN s IS NULL THEN NULL ELSE 'N?' END`); err != nil {
		t.Fatal(err)
	}
	if res, err = Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if d := checks(res)["dim_customer"]; !d.Changed {
		t.Error("dim_customer not rewritten after its masking macro changed")
	}
	var names int
	snap, _ = OpenLakeSnapshot(ctx, dir)
	if err := w.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+overFiles(t, snap.Tables["dim_customer"])+" WHERE name = 'N?'").Scan(&names); err != nil {
		t.Fatal(err)
	}
	var want int
	w.DB.QueryRowContext(ctx, "SELECT count(name) FROM main.dim_customer").Scan(&want)
	if names != want || want == 0 {
		t.Errorf("lake dim_customer has %d names masked by the new macro, want %d", names, want)
	}
	same("macro change")
}
