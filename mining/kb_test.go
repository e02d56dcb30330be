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
	_, err = persist(ctx, conn, rec, `SELECT 1 AS customer_id, 'm' AS metric, CAST('not a number' AS DOUBLE) AS value, NULL AS label`, touch)
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
	id, err := persist(ctx, conn, rec, `SELECT 1 AS customer_id, 'm' AS metric, 2.5 AS value, 'x' AS label`, touch)
	if err != nil || id != 1 {
		t.Fatalf("persist: id %d, %v", id, err)
	}
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM kb_model), (SELECT count(*) FROM kb_customer_score WHERE model_id = 1 AND as_of = DATE '2024-01-01')`).Scan(&models, &scores); err != nil || models != 1 || scores != 1 {
		t.Errorf("after persist: %d models, %d scores (%v)", models, scores, err)
	}
}
