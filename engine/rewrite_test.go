package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestRewriteDropsDeletedBytes: a value deleted from a table survives in
// the file DuckDB keeps (freed blocks are not zeroed); after Rewrite the
// file holds none of it, and the schema, views, macros and data are whole.
func TestRewriteDropsDeletedBytes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret := "zq-secret-7731-"
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO etl_watermark SELECT ? || i, 'w', i, now() FROM range(20000) r(i)`, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.ExecContext(ctx, `CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.ExecContext(ctx, `DELETE FROM etl_watermark WHERE run_id > 0; CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	gone := []byte(secret + "19999") // a deleted row's key
	before, _ := os.ReadFile(path)
	if !bytes.Contains(before, gone) {
		t.Log("DuckDB reused or zeroed the freed blocks this time; the check after Rewrite still holds")
	}
	if err := Rewrite(ctx, path); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(after, gone) {
		t.Error("the rewritten file still holds the deleted values")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("rewritten file mode %v, want 0600", st.Mode().Perm())
	}
	w, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var n int
	var wm string
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*), min(watermark) FROM etl_watermark`).Scan(&n, &wm); err != nil || n != 1 || wm != "w" {
		t.Errorf("after rewrite: %d watermarks (%q), %v; want the 1 kept", n, wm, err)
	}
	if v, err := w.Version(ctx); err != nil || v != SchemaVersion() {
		t.Errorf("schema version after rewrite %d, %v", v, err)
	}
	var masked string
	if err := w.DB.QueryRowContext(ctx, `SELECT ckm_mask_mobile('+8613912345678')`).Scan(&masked); err != nil || masked == "" {
		t.Errorf("mask macro after rewrite: %q, %v", masked, err)
	}
	if _, err := w.DB.ExecContext(ctx, `SELECT * FROM analyst.dim_customer`); err != nil {
		t.Errorf("analyst view after rewrite: %v", err)
	}
}

// TestNewWarehouseOwnerOnly: a warehouse file ckm creates is mode 0600.
func TestNewWarehouseOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("new warehouse file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
}
