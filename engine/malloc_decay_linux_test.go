//go:build linux && cgo

package engine

import (
	"context"
	"testing"
)

// TestSetJemallocDecay: SetJemallocDecay sets the decay times of DuckDB's
// jemalloc arenas, which read back as set, and what it returns puts
// DuckDB's 1000 ms back.
func TestSetJemallocDecay(t *testing.T) {
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
	restore, ok := SetJemallocDecay(100, 0)
	if !ok {
		t.Fatal("SetJemallocDecay: not set")
	}
	if d, m, _ := JemallocDecay(); d != 100 || m != 0 {
		t.Errorf("decay times %d/%d ms after SetJemallocDecay(100, 0), want 100/0", d, m)
	}
	restore()
	if d, m, _ := JemallocDecay(); d != 1000 || m != 1000 {
		t.Errorf("decay times %d/%d ms after restore, want 1000/1000", d, m)
	}
}
