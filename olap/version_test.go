package olap

import (
	"context"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestRollupRefreshSeesTheLoadsVersion refreshes rollups inside a load's
// transaction (as etl.Options.BeforeCommit does) and checks they record
// the data version engine.DataVersionTx gives in it: the run being
// committed, so the rollups are fresh once it commits.
func TestRollupRefreshSeesTheLoadsVersion(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	m, _ := Builtin()
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO etl_run (run_id, status) VALUES (3, 'committed')`); err != nil {
		t.Fatal(err)
	}
	if err := RefreshRollups(ctx, tx, m); err != nil {
		t.Fatal(err)
	}
	want, err := engine.DataVersionTx(ctx, tx)
	if err != nil || want != 3 {
		t.Fatalf("data version in the load: %d (%v), want 3", want, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT data_version FROM `+RollupStateTable)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	rows.Close()
	if len(got) != 1 || got[0] != want {
		t.Fatalf("rollups recorded data versions %v, want [%d]", got, want)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	e := NewExecutor(w, m)
	r, err := e.Query(ctx, Query{Cube: "sales", Measures: []string{"revenue"}, Rows: []string{"date.year"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != want || r.Rollup == "" {
		t.Fatalf("after the load: version %d rollup %q (rejected %v), want version %d from a rollup", r.Version, r.Rollup, r.Rejected, want)
	}
}
