package mining

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// A failure while writing scores rolls back the model row and the
// statements run with it (the SCD2 change of lifecycle): no partial
// knowledge.
func TestPersistIsAtomic(t *testing.T) {
	ctx := context.Background()
	w := handWarehouse(t, nil)
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rec := modelRecord{Kind: "test", Name: "atomic", Status: "ok", AsOf: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	touch := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE dim_customer SET name = 'changed' WHERE customer_key = -1`)
		return err
	}
	_, err = persist(ctx, conn, rec, txWrite(touch), scoresWrite(rec.AsOf, `SELECT 1 AS customer_id, 'm' AS metric, CAST('not a number' AS DOUBLE) AS value, NULL AS label`))
	if err == nil {
		t.Fatal("persist of failing scores succeeded")
	}
	var models, scores int
	var name string
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM kb_model), (SELECT count(*) FROM kb_customer_score), (SELECT name FROM dim_customer WHERE customer_key = -1)`).Scan(&models, &scores, &name); err != nil {
		t.Fatal(err)
	}
	if models != 0 || scores != 0 || name != "Unknown" {
		t.Errorf("after a failed persist: %d models, %d scores, unknown member named %q", models, scores, name)
	}
	id, err := persist(ctx, conn, rec, txWrite(touch), scoresWrite(rec.AsOf, `SELECT 1 AS customer_id, 'm' AS metric, 2.5 AS value, 'x' AS label`))
	if err != nil || id != 1 {
		t.Fatalf("persist: id %d, %v", id, err)
	}
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM kb_model), (SELECT count(*) FROM kb_customer_score WHERE model_id = 1 AND as_of = DATE '2024-01-01')`).Scan(&models, &scores); err != nil || models != 1 || scores != 1 {
		t.Errorf("after persist: %d models, %d scores (%v)", models, scores, err)
	}
}

// persist allocates the model id before the knowledge writes run, and each
// write sees the model's kb_model row in the same transaction.
func TestPersistAllocatesModelIDFirst(t *testing.T) {
	ctx := context.Background()
	w := handWarehouse(t, nil)
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var seen []int64
	var kinds []string
	see := func(ctx context.Context, tx *sql.Tx, id int64) error {
		var kind string
		if err := tx.QueryRowContext(ctx, `SELECT kind FROM kb_model WHERE model_id = ?`, id).Scan(&kind); err != nil {
			return err
		}
		seen, kinds = append(seen, id), append(kinds, kind)
		return nil
	}
	for i := 0; i < 2; i++ {
		if _, err := persist(ctx, conn, modelRecord{Kind: "probe", Status: "ok"}, see); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 2 || seen[0] != 1 || seen[1] != 2 || kinds[0] != "probe" || kinds[1] != "probe" {
		t.Errorf("writes saw model ids %v of kinds %v, want [1 2] of probe", seen, kinds)
	}
}
