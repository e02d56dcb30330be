package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestWarehouseTemplate makes a warehouse by the migrations and two from
// the template (template.duckdb.gz): the three must have the same schema
// (tables, views, macros, sequences, indexes, constraints, types) and the
// same rows in every table, all but what makes a warehouse its own — the
// change record's first row (a UUID naming the warehouse, and its time)
// and the migrations' times — which differ between the two copies. With
// CKM_WRITE_TEMPLATE=1 a template that differs is written again from the
// migrations' warehouse.
func TestWarehouseTemplate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	useTemplate = false
	migPath := filepath.Join(dir, "migrations.duckdb")
	mig, err := Open(ctx, migPath, Options{})
	useTemplate = true
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mig.DB.ExecContext(ctx, `CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	if err := mig.Close(); err != nil {
		t.Fatal(err)
	}
	// Read back from its file, as the copies are: DuckDB writes a view or
	// macro it has just created otherwise than one it read (CAST(x AS
	// "DATE"), an EXCLUDE list's order).
	raw, err := os.ReadFile(migPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "reread.duckdb"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	reread, err := Open(ctx, filepath.Join(dir, "reread.duckdb"), Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	want := warehouseFingerprint(t, reread)
	reread.Close()
	made, err := writeTemplate(filepath.Join(dir, "probe.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var owners []string
	for _, name := range []string{"a.duckdb", "b.duckdb"} {
		w, err := Open(ctx, filepath.Join(dir, name), Options{})
		if err != nil {
			t.Fatal(err)
		}
		got = warehouseFingerprint(t, w)
		var owner string
		if err := w.DB.QueryRowContext(ctx, `SELECT writer FROM ckm_change ORDER BY seq LIMIT 1`).Scan(&owner); err != nil {
			t.Fatal(err)
		}
		owners = append(owners, owner)
		w.Close()
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want a file of mode 0600", name, fi.Mode(), err)
		}
	}
	if !made || strings.Join(got, "\n") != strings.Join(want, "\n") {
		if os.Getenv("CKM_WRITE_TEMPLATE") == "" {
			t.Fatalf("template.duckdb.gz is not the warehouse the migrations make (usable %v; run CKM_WRITE_TEMPLATE=1 go test ./engine -run TestWarehouseTemplate):\n%s", made, firstDiff(got, want))
		}
		writeTemplateFile(t, migPath)
		t.Logf("wrote template.duckdb.gz (schema version %d)", SchemaVersion())
		return
	}
	if owners[0] == owners[1] || !strings.HasPrefix(owners[0], "warehouse ") || len(owners[0]) != len("warehouse ")+36 {
		t.Errorf("the copies name themselves %q, want two warehouse UUIDs", owners)
	}
}

// writeTemplateFile gzips the warehouse at path into template.duckdb.gz.
func writeTemplateFile(t *testing.T, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Comment = templateComment(SchemaVersion())
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("template.duckdb.gz", buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// warehouseFingerprint lists w's schema objects and, per table, its row
// count and a sum of its rows' hashes (rowsHash), leaving out the change
// record's first row and schema_version's times.
func warehouseFingerprint(t *testing.T, w *Warehouse) []string {
	t.Helper()
	var out []string
	here := " WHERE database_name = current_database()"
	for _, q := range []string{
		`SELECT schema_name, table_name, sql FROM duckdb_tables()` + here,
		`SELECT schema_name, view_name, sql FROM duckdb_views()` + here + ` AND NOT internal`,
		`SELECT schema_name, function_name, function_type, parameters, macro_definition FROM duckdb_functions()` + here + ` AND NOT internal`,
		`SELECT schema_name, sequence_name, start_value, increment_by, min_value, max_value, cycle, last_value FROM duckdb_sequences()` + here,
		`SELECT schema_name, index_name, table_name, sql FROM duckdb_indexes()` + here,
		`SELECT schema_name, table_name, constraint_type, constraint_text FROM duckdb_constraints()` + here,
		`SELECT schema_name, type_name, logical_type FROM duckdb_types()` + here + ` AND NOT internal`,
		`SELECT schema_name FROM duckdb_schemas()` + here + ` AND NOT internal`,
		`SELECT tags FROM duckdb_databases()` + here,
	} {
		// Each row as its text.
		out = append(out, queryLines(t, w, `SELECT CAST(x AS VARCHAR) AS s FROM (`+q+`) x ORDER BY s`)...)
	}
	for _, name := range queryLines(t, w, `SELECT schema_name || '.' || table_name AS s FROM duckdb_tables()`+here+` ORDER BY s`) {
		from := name
		switch name {
		case "main.schema_version":
			from = "(SELECT * EXCLUDE (applied_at) FROM " + name + ")"
		case "main.ckm_change":
			from = "(SELECT * FROM " + name + " WHERE seq > (SELECT min(seq) FROM " + name + "))"
		}
		out = append(out, name+": "+rowsHash(t, w, from))
	}
	return out
}

// firstDiff names the first line where got and want differ.
func firstDiff(got, want []string) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("line %d: template %q, migrations %q", i+1, g, w)
		}
	}
	return "equal"
}

// TestWarehouseTemplateOneWriter: eight writers of one new warehouse's
// template at once; one writes the file, the others leave it to it (and
// their copies go), and the file opens at the schema version.
func TestWarehouseTemplateOneWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.duckdb")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := writeTemplate(path)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d writers made the file, want 1", n)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "w.duckdb" {
		t.Fatalf("the folder holds %v (%v), want w.duckdb alone", entries, err)
	}
	w, err := Open(context.Background(), path, Options{MustExist: true, NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if v, err := w.Version(context.Background()); err != nil || v != SchemaVersion() {
		t.Errorf("version %d (%v), want %d", v, err, SchemaVersion())
	}
}
