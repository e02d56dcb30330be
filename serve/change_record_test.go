package serve

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestAdminStatementsRecordChange: a statement an admin sends that may
// change rows writes the lake's change record (ckm_change, every fact
// table: the lake's incremental export re-reads them), in both protocols;
// a query writes nothing; inside a transaction that is rolled back, the
// record goes with the change.
func TestAdminStatementsRecordChange(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	srv := startServer(t, w, Config{})
	count := func() int {
		var n int
		if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM ckm_change WHERE table_name = '*' AND writer = 'serve'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, simple := range []bool{true, false} {
		c := connect(t, srv, "root", simple)
		before := count()
		if _, err := c.Exec(ctx, "SELECT count(*) FROM fact_sales"); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != before {
			t.Errorf("simple %v: a query wrote %d change records", simple, n-before)
		}
		if _, err := c.Exec(ctx, "UPDATE fact_sales SET quantity = 1 WHERE false"); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != before+2 {
			t.Errorf("simple %v: an UPDATE wrote %d change records, want 2 (before and after)", simple, n-before)
		}
		for _, q := range []string{"BEGIN", "DELETE FROM fact_sales WHERE false", "ROLLBACK"} {
			if _, err := c.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(); n != before+2 {
			t.Errorf("simple %v: a rolled-back DELETE left %d change records", simple, n-before-2)
		}
		// Executed again (extended protocol: the statement prepared once,
		// its decision kept), it records again.
		if _, err := c.Exec(ctx, "UPDATE fact_sales SET quantity = 1 WHERE false"); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != before+4 {
			t.Errorf("simple %v: the UPDATE again wrote %d change records, want 2", simple, n-before-2)
		}
	}
	// An analyst's session writes nothing (it may not write at all).
	before := count()
	c := connect(t, srv, "ana", true)
	c.Exec(ctx, "SELECT 1")
	if n := count(); n != before {
		t.Errorf("an analyst's query wrote %d change records", n-before)
	}
}
