package serve

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestPreparedSeesLaterCommits: a statement a client prepared once (pgx
// caches them; so do JDBC and BI tools) answers from the data as it is
// when it runs, after commits that changed data but no catalog object.
// DuckDB 1.5.6 folds table statistics into a prepared plan (count(*) and
// max() from metadata, filters pruned by min/max), and a kept plan is
// rebound only when the catalog changes, so the server prepared such a
// plan once and answered from the old data: a client read a count of
// before a load beside sums of after it (duckdb/duckdb#24696, fixed after
// 1.5.6). The server now plans a statement each time it runs.
func TestPreparedSeesLaterCommits(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3)`); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, w, Config{Auth: Auth{Users: testUsers(t), TrustLoopback: true}})
	c := connect(t, srv, "root", false)
	read := func() (n, max, big int64) {
		t.Helper()
		if err := c.QueryRow(ctx, `SELECT count(*), max(x), (SELECT count(*) FROM t WHERE x > 10) FROM t`).Scan(&n, &max, &big); err != nil {
			t.Fatal(err)
		}
		return n, max, big
	}
	if n, max, big := read(); n != 3 || max != 3 || big != 0 {
		t.Fatalf("before: count %d, max %d, over 10: %d; want 3, 3, 0", n, max, big)
	}
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO t VALUES (4), (11)`); err != nil {
		t.Fatal(err)
	}
	if n, max, big := read(); n != 5 || max != 11 || big != 1 {
		t.Errorf("after a commit of two rows, the same prepared statement: count %d, max %d, over 10: %d; want 5, 11, 1", n, max, big)
	}
}
