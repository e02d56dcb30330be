package engine

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// persistentObjects are the objects migration 4 gives every warehouse: the
// OLAP query log and rollup registry, and the mining table macros.
var persistentObjects = struct{ tables, macros []string }{
	tables: []string{"olap_query_log", "olap_rollup_state"},
	macros: []string{"ckm_rfm", "ckm_profit", "ckm_anomaly", "ckm_churn", "ckm_clv_scores"},
}

func checkPersistentObjects(t *testing.T, w *Warehouse) {
	t.Helper()
	ctx := context.Background()
	for _, name := range persistentObjects.tables {
		var n int
		if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("table %s missing after migrations", name)
		}
	}
	for _, name := range persistentObjects.macros {
		var n int
		if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_functions() WHERE function_type = 'table_macro' AND function_name = ?`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("table macro %s missing after migrations", name)
		}
	}
}

// TestFreshWarehouseHasEveryPersistentObject checks that Open's migrations
// alone create the query log, the rollup registry and the mining macros:
// no other package creates a persistent object.
func TestFreshWarehouseHasEveryPersistentObject(t *testing.T) {
	w, err := Open(context.Background(), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if SchemaVersion() < 4 {
		t.Fatalf("schema version %d, want at least 4", SchemaVersion())
	}
	checkPersistentObjects(t, w)
}

// TestUpgradeVersion3To4 upgrades a warehouse written by an older ckm (the
// etl upgrade fixture, schema version 1, migrated through 2 and 3) to 4.
func TestUpgradeVersion3To4(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.duckdb")
	src, err := os.Open(filepath.Join("..", "etl", "testdata", "upgrade", "v1.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	// First to version 3 only, as the previous ckm left it.
	w, err := Open(ctx, path, Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	current, err := w.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Migrations {
		if m.Version > current && m.Version <= 3 {
			if err := w.apply(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The previous ckm created the query log and rollup registry on first
	// use, so a version 3 warehouse may have them already.
	for _, ddl := range []string{
		`CREATE TABLE olap_query_log (ts TIMESTAMP, cube VARCHAR, levels VARCHAR[], measures VARCHAR[], rollup VARCHAR, elapsed_ms DOUBLE)`,
		`INSERT INTO olap_query_log VALUES (now(), 'sales', ['date.year'], ['revenue'], '', 1.5)`,
		`CREATE TABLE olap_rollup_state (cube VARCHAR, rollup VARCHAR, table_name VARCHAR, model_hash VARCHAR,
			data_version BIGINT, row_count BIGINT, refreshed_at TIMESTAMP, PRIMARY KEY (cube, rollup))`,
	} {
		if _, err := w.DB.ExecContext(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := w.Version(ctx); err != nil || v != 3 {
		t.Fatalf("before the upgrade: version %d (%v), want 3", v, err)
	}
	w.Close()
	w, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if v, err := w.Version(ctx); err != nil || v != SchemaVersion() {
		t.Fatalf("after the upgrade: version %d (%v), want %d", v, err, SchemaVersion())
	}
	checkPersistentObjects(t, w)
	var logged int
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM olap_query_log`).Scan(&logged); err != nil || logged != 1 {
		t.Fatalf("query log has %d rows after the upgrade (%v), want the 1 logged before", logged, err)
	}
}
