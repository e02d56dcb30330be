package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
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
	var got string
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
	if !made || got != want {
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
// count and a sum of its rows' hashes (each row as JSON), leaving out the
// change record's first row and schema_version's times.
func warehouseFingerprint(t *testing.T, w *Warehouse) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, q := range []string{
		`SELECT schema_name, table_name, sql FROM duckdb_tables() WHERE database_name = current_database() ORDER BY ALL`,
		`SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database() ORDER BY ALL`,
		`SELECT schema_name, function_name, function_type, CAST(parameters AS VARCHAR), macro_definition FROM duckdb_functions()
			WHERE NOT internal AND database_name = current_database() ORDER BY ALL`,
		`SELECT schema_name, sequence_name, start_value, increment_by, min_value, max_value, cycle, last_value FROM duckdb_sequences()
			WHERE database_name = current_database() ORDER BY ALL`,
		`SELECT schema_name, index_name, table_name, sql FROM duckdb_indexes() WHERE database_name = current_database() ORDER BY ALL`,
		`SELECT schema_name, table_name, constraint_type, constraint_text FROM duckdb_constraints() WHERE database_name = current_database() ORDER BY ALL`,
		`SELECT schema_name, type_name, logical_type FROM duckdb_types() WHERE NOT internal AND database_name = current_database() ORDER BY ALL`,
		`SELECT schema_name FROM duckdb_schemas() WHERE NOT internal AND database_name = current_database() ORDER BY ALL`,
		`SELECT tags FROM duckdb_databases() WHERE database_name = current_database()`,
	} {
		dumpRows(t, w.DB, &b, q)
	}
	rows, err := w.DB.QueryContext(ctx, `SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	var tables [][2]string
	for rows.Next() {
		var s, n string
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, [2]string{s, n})
	}
	rows.Close()
	for _, tb := range tables {
		from := QuoteIdent(tb[0]) + "." + QuoteIdent(tb[1])
		switch tb[1] {
		case "schema_version":
			from = "(SELECT * EXCLUDE (applied_at) FROM " + from + ")"
		case "ckm_change":
			from = "(SELECT * FROM " + from + " WHERE seq > (SELECT min(seq) FROM " + from + "))"
		}
		dumpRows(t, w.DB, &b, `SELECT '`+tb[0]+`.`+tb[1]+`', count(*), CAST(coalesce(sum(CAST(hash(CAST(to_json(t) AS VARCHAR)) AS HUGEINT)), 0) AS VARCHAR) FROM `+from+` t`)
	}
	return b.String()
}

// dumpRows writes every row of q, tab-separated, to b.
func dumpRows(t *testing.T, db *sql.DB, b *strings.Builder, q string) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('\t')
			}
			fmt.Fprint(b, v)
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// firstDiff names the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d: template %q, migrations %q", i+1, gl, wl)
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
