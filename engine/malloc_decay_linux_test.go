//go:build linux && cgo

package engine

import (
	"context"
	"testing"
)

// TestJemallocDecay: JemallocDecay reads the decay times of DuckDB's
// jemalloc, DuckDB's 1000/1000 ms (which a load now keeps).
func TestJemallocDecay(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, Memory, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Something allocated by DuckDB, so its jemalloc runs.
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE t AS SELECT range AS i FROM range(100000)`); err != nil {
		t.Fatal(err)
	}
	d, m, ok := JemallocDecay()
	if !ok {
		t.Skip("DuckDB without its own jemalloc")
	}
	if d != 1000 || m != 1000 {
		t.Fatalf("DuckDB's decay times %d/%d ms, want 1000/1000", d, m)
	}
}
