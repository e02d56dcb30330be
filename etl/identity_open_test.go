package etl

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// TestOpenTokensEveryBatch opens more sealed ID numbers than several of
// openTokens' write batches hold, for tokens of many customers, and checks
// that every token's row gets exactly its own raw value and that a token
// the vault does not hold stays unopened.
func TestOpenTokensEveryBatch(t *testing.T) {
	ctx := context.Background()
	w, v := ProtectedWarehouse(t, filepath.Join(t.TempDir(), "w.duckdb"))
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const n = 2*openBatch + 345
	want := map[string]string{}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE id_prior_id (customer_id BIGINT, tok VARCHAR, idn VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	for c := int64(1); c <= n; c++ {
		raw := fmt.Sprintf("11010519%02d%02d%02d%03d", 50+c%40, 1+c%12, 1+c%28, c%1000)
		tok := v.Token(privacy.IDNumber, raw)
		wrapped := v.NewCustomerKey(c)
		sealed, err := v.Seal(c, wrapped, tok, raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vault_customer_key VALUES (?, ?, 1)`, c, wrapped); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vault_value VALUES (?, ?, 'id_number', ?, 1)`, tok, c, sealed); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO id_prior_id VALUES (?, ?, NULL)`, c, tok); err != nil {
			t.Fatal(err)
		}
		want[tok] = raw
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO id_prior_id VALUES (0, 'IDN-not-in-the-vault', NULL)`); err != nil {
		t.Fatal(err)
	}
	l := &loader{ctx: ctx, tx: tx}
	if err := l.openTokens(v, "test ID numbers", `SELECT p.tok, s.customer_id, k.wrapped_key, s.sealed
		FROM id_prior_id p JOIN vault_value s ON s.token = p.tok JOIN vault_customer_key k ON k.customer_id = s.customer_id`,
		`UPDATE id_prior_id SET idn = r.raw FROM id_opened r WHERE id_prior_id.tok = r.tok`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT tok, idn FROM id_prior_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var tok string
		var idn *string
		if err := rows.Scan(&tok, &idn); err != nil {
			t.Fatal(err)
		}
		switch raw, ok := want[tok]; {
		case !ok && idn != nil:
			t.Errorf("%s opened to %q; the vault does not hold it", tok, *idn)
		case ok && (idn == nil || *idn != raw):
			t.Errorf("%s opened to %v, want %s", tok, idn, raw)
		case ok:
			got++
		}
	}
	if got != n {
		t.Errorf("%d of %d tokens opened", got, n)
	}
}

// ProtectedWarehouse opens a new warehouse at path (in memory for ""),
// closed when the test ends, and protects it with a new key. Exported for
// the external tests (etl_test) too.
func ProtectedWarehouse(t *testing.T, path string) (*engine.Warehouse, *vault.Vault) {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	kek, err := vault.ParseKEK(vault.NewKEK())
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Init(ctx, w.DB, kek)
	if err != nil {
		t.Fatal(err)
	}
	return w, v
}
