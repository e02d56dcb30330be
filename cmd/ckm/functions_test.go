package main

import (
	"context"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

func TestRegisterFunctions(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 2; i++ { // idempotent
		if err := registerFunctions(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	// A cleaner from etl/clean, a mask (a macro of the schema), and the
	// mining functions.
	var id, mask string
	if err := w.DB.QueryRowContext(ctx, `SELECT ckm_id_normalize('110105491231002'), ckm_mask_email('Abc@B.cn')`).Scan(&id, &mask); err != nil {
		t.Fatal(err)
	}
	if id != "11010519491231002X" || mask != "a***@b.cn" {
		t.Errorf("ckm_id_normalize, ckm_mask_email = %q, %q", id, mask)
	}
	var n int
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_functions() WHERE function_name IN ('ckm_clv', 'ckm_bgnbd_p_alive')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("mining functions registered: %d of ckm_clv, ckm_bgnbd_p_alive", n)
	}
}
