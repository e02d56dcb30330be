package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ckm's duckdb-go (third_party/duckdb-go, CKM-PATCH.md) runs a query's
// tasks on the calling thread and sleeps while only DuckDB's workers have
// work, instead of duckdb_execute_pending's spinning: results, errors and
// cancellation stay what the driver gave before.
func TestQueryWaitKeepsResultsAndErrors(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), Options{NoMigrate: true, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	t.Run("parallel result", func(t *testing.T) {
		// sum of 0..n-1 = n(n-1)/2, over a join and an aggregate that
		// both run on the workers.
		var sum, n int64
		if err := w.DB.QueryRowContext(ctx, `SELECT sum(a.i), count(*) FROM range(3000000) a(i) JOIN range(3000000) b(i) USING (i)`).Scan(&sum, &n); err != nil {
			t.Fatal(err)
		}
		if want := int64(3000000) * 2999999 / 2; sum != want || n != 3000000 {
			t.Fatalf("sum %d count %d, want %d and 3000000", sum, n, want)
		}
	})
	t.Run("execution error", func(t *testing.T) {
		// Fails while executing (row 100000 does not convert), not while
		// binding: the error is DuckDB's own, not wrapped in "Attempting
		// to execute an unsuccessful or closed pending query result".
		_, err := w.DB.ExecContext(ctx, `SELECT CAST(CASE WHEN i = 100000 THEN 'x' ELSE CAST(i AS VARCHAR) END AS INTEGER) FROM range(200000) t(i)`)
		if err == nil {
			t.Fatal("no error")
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "Conversion Error:") || strings.Contains(msg, "Attempting to execute") {
			t.Fatalf("error %q, want DuckDB's Conversion Error alone", msg)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := w.DB.ExecContext(cctx, `SELECT count(*) FROM range(1000000000000) a(i) WHERE hash(i) = 0`)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want the context's deadline", err)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Fatalf("cancelled after %s", took)
		}
	})
}
