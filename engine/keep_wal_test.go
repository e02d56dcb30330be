package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// walSize is the size of path's write-ahead log, -1 when there is none.
func walSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path + ".wal")
	if os.IsNotExist(err) {
		return -1
	} else if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// sumOf opens path (read-only when ro) and returns count(*) and sum(v) of
// table t.
func sumOf(t *testing.T, path string, ro bool) (n, sum int64) {
	t.Helper()
	w, err := Open(context.Background(), path, Options{ReadOnly: ro, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.DB.QueryRow(`SELECT count(*), sum(v) FROM t`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	return n, sum
}

// TestKeepWALAtClose: a warehouse told to keep a small write-ahead log
// closes without checkpointing — the log stays beside the file, owner-only
// — and what committed is there for a read-only open (which replays the
// log); the next read-write process checkpoints at its close as always,
// and the rows are then in the file alone. A log over the bound, a
// read-only warehouse and an in-memory one are left to DuckDB's checkpoint.
func TestKeepWALAtClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec(`CREATE TABLE t (v BIGINT); INSERT INTO t VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if n := walSize(t, path); n != -1 {
		t.Fatalf("a plain close left a %d-byte WAL, want it checkpointed", n)
	}

	// Kept: 3 + 4 + 5 added in two transactions.
	w, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`INSERT INTO t VALUES (3), (4)`, `INSERT INTO t VALUES (5)`} {
		if _, err := w.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := w.KeepWALAtClose(ctx, KeepWALBytes)
	if err != nil || !kept {
		t.Fatalf("KeepWALAtClose = %v, %v; want true", kept, err)
	}
	w.Close()
	size := walSize(t, path)
	if size <= 0 || size > KeepWALBytes {
		t.Fatalf("WAL after a kept close: %d bytes, want 1..%d", size, KeepWALBytes)
	}
	if st, err := os.Stat(path + ".wal"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("kept WAL mode %v (%v), want 0600 like the warehouse", st.Mode().Perm(), err)
	}
	if n, sum := sumOf(t, path, true); n != 5 || sum != 15 {
		t.Errorf("read-only open of the kept WAL: %d rows summing to %d, want 5 and 15", n, sum)
	}
	if got := walSize(t, path); got != size {
		t.Errorf("a read-only open changed the WAL: %d → %d bytes", size, got)
	}
	// The next read-write process checkpoints at its close.
	if n, sum := sumOf(t, path, false); n != 5 || sum != 15 {
		t.Errorf("read-write open of the kept WAL: %d rows summing to %d, want 5 and 15", n, sum)
	}
	if n := walSize(t, path); n != -1 {
		t.Errorf("a read-write close after a kept WAL left %d bytes of it, want it checkpointed", n)
	}
	if n, sum := sumOf(t, path, true); n != 5 || sum != 15 {
		t.Errorf("after the checkpoint: %d rows summing to %d, want 5 and 15", n, sum)
	}

	// Over the bound: checkpointed.
	w, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec(`INSERT INTO t VALUES (6)`); err != nil {
		t.Fatal(err)
	}
	if kept, err := w.KeepWALAtClose(ctx, 8); err != nil || kept {
		t.Errorf("KeepWALAtClose(8 bytes) of a %d-byte WAL = %v, %v; want false", walSize(t, path), kept, err)
	}
	w.Close()
	if n := walSize(t, path); n != -1 {
		t.Errorf("a WAL over the bound: %d bytes left, want it checkpointed", n)
	}

	// Read-only and in-memory warehouses: nothing to keep.
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if kept, err := ro.KeepWALAtClose(ctx, KeepWALBytes); err != nil || kept {
		t.Errorf("read-only: KeepWALAtClose = %v, %v; want false", kept, err)
	}
	ro.Close()
	mem, err := Open(ctx, Memory, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if kept, err := mem.KeepWALAtClose(ctx, KeepWALBytes); err != nil || kept {
		t.Errorf("in memory: KeepWALAtClose = %v, %v; want false", kept, err)
	}
	mem.Close()
	if n, sum := sumOf(t, path, true); n != 6 || sum != 21 {
		t.Errorf("at the end: %d rows summing to %d, want 6 and 21", n, sum)
	}
}
