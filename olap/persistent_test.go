package olap

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// catalogObjects counts the tables, views and macros of a warehouse.
func catalogObjects(t *testing.T, w *engine.Warehouse) int {
	t.Helper()
	var n int
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM duckdb_tables() WHERE NOT temporary) +
		(SELECT count(*) FROM duckdb_views() WHERE NOT internal AND NOT temporary) +
		(SELECT count(*) FROM duckdb_functions() WHERE function_type IN ('macro', 'table_macro') AND NOT internal)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCubeQueryCreatesNothing checks that answering (and logging) cube
// queries runs no DDL: the query log is the engine's, made by migrations.
func TestCubeQueryCreatesNothing(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	m, _ := Builtin()
	e := NewExecutor(w, m)
	before := catalogObjects(t, w)
	if _, err := e.Query(ctx, Query{Cube: "sales", Measures: []string{"revenue"}, Rows: []string{"date.year"}}); err != nil {
		t.Fatal(err)
	}
	if e.LogErr != nil {
		t.Fatal(e.LogErr)
	}
	if after := catalogObjects(t, w); after != before {
		t.Fatalf("a cube query changed the catalog from %d to %d objects", before, after)
	}
	var logged int
	if err := w.DB.QueryRow(`SELECT count(*) FROM ` + QueryLogTable).Scan(&logged); err != nil || logged != 1 {
		t.Fatalf("query log has %d rows (%v), want 1", logged, err)
	}
}

// TestCubeQueryReadOnly answers cube queries, from the base tables and from
// a rollup, on a warehouse opened read-only.
func TestCubeQueryReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	w := smallWarehouseAt(t, path)
	m, _ := Builtin()
	if err := NewExecutor(w, m).Refresh(ctx, "sales", []string{"year_province"}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	ro, err := engine.Open(ctx, path, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	e := NewExecutor(ro, m)
	for _, q := range []Query{
		{Cube: "sales", Measures: []string{"revenue"}, Rows: []string{"date.year"}},
		{Cube: "sales", Measures: []string{"customers"}, Rows: []string{"product.category"}},
	} {
		r, err := e.Query(ctx, q)
		if err != nil {
			t.Fatalf("%+v on a read-only warehouse: %v", q, err)
		}
		if len(r.Data) == 0 {
			t.Fatalf("%+v: no rows", q)
		}
		if q.Measures[0] == "revenue" && r.Rollup != "year_province" {
			t.Errorf("revenue by year answered from %q, want the rollup year_province (rejected %v)", r.Rollup, r.Rejected)
		}
	}
	if e.LogErr != nil {
		t.Fatal(e.LogErr)
	}
}
