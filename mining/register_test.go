package mining

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// The table macros live in the warehouse file: a read-only session keeps
// using those a read-write session created, and Register does not fail there.
func TestRegisterReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec(`INSERT INTO fact_sales (order_id, order_ts, customer_id, amount) VALUES ('a', TIMESTAMP '2024-01-01', 1, 10), ('b', TIMESTAMP '2024-02-01', 2, 20)`); err != nil {
		t.Fatal(err)
	}
	if err := Setup(ctx, w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	ro, err := engine.Open(ctx, path, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := Setup(ctx, ro); err != nil {
		t.Fatalf("setup on a read-only warehouse: %v", err)
	}
	var n int
	var p float64
	if err := ro.DB.QueryRow(`SELECT count(*), max(ckm_bgnbd_p_alive(0.24, 4.4, 0.79, 2.4, 0, 0, 10)) FROM ckm_rfm(as_of := DATE '2024-12-31')`).Scan(&n, &p); err != nil || n != 2 || p != 1 {
		t.Errorf("read-only ckm_rfm: %d customers, p_alive %v (%v)", n, p, err)
	}
}
