package vault

import (
	"context"
	"testing"

	"github.com/ckm-dev/ckm/privacy"
)

// TestRevealer: the raw value behind each sealed token (a name among
// them), nothing for a token no living customer's seal stands behind, and
// nothing once the customer is forgotten; the KEK id stored is the one of
// the key that wraps the data key.
func TestRevealer(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t)
	if _, err := StoredKEKID(ctx, w.DB); err != ErrNotProtected {
		t.Fatalf("kek id before init: %v, want ErrNotProtected", err)
	}
	k := kek(t)
	v, err := Init(ctx, w.DB, k)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := StoredKEKID(ctx, w.DB); err != nil || id != KEKID(k) || len(id) != 16 {
		t.Fatalf("stored kek id %q (%v), want %q", id, err, KEKID(k))
	}
	values := map[privacy.Kind]string{privacy.Mobile: "+8613800138000", privacy.Name: "张三"}
	wrapped := v.NewCustomerKey(7)
	if _, err := w.DB.Exec(`INSERT INTO vault_customer_key (customer_id, wrapped_key) VALUES (7, ?)`, wrapped); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for kind, raw := range values {
		tok := v.Token(kind, raw)
		sealed, err := v.Seal(7, wrapped, tok, raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.DB.Exec(`INSERT INTO vault_value (token, customer_id, kind, sealed) VALUES (?, 7, ?, ?)`, tok, kind.String(), sealed); err != nil {
			t.Fatal(err)
		}
		tokens[tok] = raw
	}
	if tok := v.Token(privacy.Name, "张三"); tok[:4] != "tna_" || !IsToken(tok) {
		t.Errorf("a name's token %q: want the prefix tna_ and a token's form", tok)
	}
	reveal, err := v.Revealer(ctx, w.DB)
	if err != nil {
		t.Fatal(err)
	}
	for tok, raw := range tokens {
		if got, ok, err := reveal(tok); got != raw || !ok || err != nil {
			t.Errorf("reveal %s: %q %v %v, want %q", tok, got, ok, err, raw)
		}
	}
	if got, ok, err := reveal(v.Token(privacy.Email, "x@y.cn")); got != "" || ok || err != nil {
		t.Errorf("an unsealed token revealed %q %v %v", got, ok, err)
	}
	if _, err := w.DB.Exec(`DELETE FROM vault_customer_key WHERE customer_id = 7`); err != nil {
		t.Fatal(err)
	}
	if reveal, err = v.Revealer(ctx, w.DB); err != nil {
		t.Fatal(err)
	}
	for tok := range tokens {
		if got, ok, err := reveal(tok); got != "" || ok || err != nil {
			t.Errorf("a forgotten customer's %s revealed %q %v %v", tok, got, ok, err)
		}
	}
}
