package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

func openWarehouse(t *testing.T) *engine.Warehouse {
	t.Helper()
	w, err := engine.Open(context.Background(), engine.Memory, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func kek(t *testing.T) []byte {
	t.Helper()
	k, err := ParseKEK(NewKEK())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestInitOpenRotate(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t)
	if _, err := Open(ctx, w.DB, nil); !errors.Is(err, ErrNotProtected) {
		t.Fatalf("open before init: %v, want ErrNotProtected", err)
	}
	k1 := kek(t)
	v, err := Init(ctx, w.DB, k1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(ctx, w.DB, k1); err == nil {
		t.Fatal("a second init replaced the data key")
	}
	tok := v.Token(privacy.Mobile, "+8613800138000")
	wrapped := v.NewCustomerKey(7)
	sealed, err := v.Seal(7, wrapped, tok, "+8613800138000")
	if err != nil {
		t.Fatal(err)
	}
	ledger := v.SealText("line 3: 110101199003077777,张三")

	if _, err := Open(ctx, w.DB, nil); !errors.Is(err, ErrNoKey) {
		t.Fatalf("open without key: %v, want ErrNoKey", err)
	}
	if _, err := Open(ctx, w.DB, kek(t)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with another key: %v, want ErrWrongKey", err)
	}

	k2 := kek(t)
	if err := Rotate(ctx, w.DB, kek(t), k2); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("rotate with a wrong old key: %v", err)
	}
	if err := Rotate(ctx, w.DB, k1, k2); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, w.DB, k1); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("the old key still opens after rotation: %v", err)
	}
	v2, err := Open(ctx, w.DB, k2)
	if err != nil {
		t.Fatal(err)
	}
	// Rotation re-wraps the data key only: tokens, customer keys, sealed
	// values and ledger texts written before stay readable.
	if got := v2.Token(privacy.Mobile, "+8613800138000"); got != tok {
		t.Errorf("token changed across rotation: %s, was %s", got, tok)
	}
	if p, err := v2.Unseal(7, wrapped, tok, sealed); err != nil || p != "+8613800138000" {
		t.Errorf("unseal after rotation = %q, %v", p, err)
	}
	if p, err := v2.OpenText(ledger); err != nil || p != "line 3: 110101199003077777,张三" {
		t.Errorf("ledger text after rotation = %q, %v", p, err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	v, err := Init(ctx, openWarehouse(t).DB, kek(t))
	if err != nil {
		t.Fatal(err)
	}
	a := v.Token(privacy.IDNumber, "11010119900307777X")
	if a != v.Token(privacy.IDNumber, "11010119900307777X") {
		t.Error("a token is not deterministic")
	}
	if !IsToken(a) || !strings.HasPrefix(a, "tid_") {
		t.Errorf("token %q: want tid_ and 28 characters", a)
	}
	if a == v.Token(privacy.IDNumber, "110101199003077778") {
		t.Error("two ID numbers share a token")
	}
	if v.Token(privacy.Mobile, "x@y.cn") == v.Token(privacy.Email, "x@y.cn") {
		t.Error("the same text of two kinds shares a token")
	}
	other, err := Init(ctx, openWarehouse(t).DB, kek(t))
	if err != nil {
		t.Fatal(err)
	}
	if other.Token(privacy.IDNumber, "11010119900307777X") == a {
		t.Error("two warehouses give the same token: tokens are not keyed")
	}
}

func TestCustomerKeys(t *testing.T) {
	ctx := context.Background()
	v, err := Init(ctx, openWarehouse(t).DB, kek(t))
	if err != nil {
		t.Fatal(err)
	}
	w1 := v.NewCustomerKey(1)
	tok := v.Token(privacy.Email, "a@b.cn")
	s, err := v.Seal(1, w1, tok, "a@b.cn")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(s), "a@b.cn") {
		t.Fatal("the sealed value holds the raw one")
	}
	// The key is bound to its customer and the value to its token.
	if _, err := v.Unseal(2, w1, tok, s); err == nil {
		t.Error("customer 1's key opened as customer 2's")
	}
	if _, err := v.Unseal(1, w1, v.Token(privacy.Email, "c@d.cn"), s); err == nil {
		t.Error("a sealed value opened under another token")
	}
	if _, err := v.Unseal(1, v.NewCustomerKey(1), tok, s); err == nil {
		t.Error("another key of the same customer opened the value")
	}
	if _, err := v.Unseal(1, nil, tok, s); !errors.Is(err, ErrForgotten) {
		t.Errorf("unseal without the customer key: %v, want ErrForgotten", err)
	}
}

func TestParseKEK(t *testing.T) {
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 62)} {
		if _, err := ParseKEK([]byte(bad)); err == nil {
			t.Errorf("ParseKEK(%q) accepted", bad)
		}
	}
	if k, err := ParseKEK([]byte(" " + strings.Repeat("ab", 32) + "\n")); err != nil || len(k) != KeySize || k[0] != 0xab {
		t.Errorf("ParseKEK of a key file = %x, %v", k, err)
	}
}

// registeredVault is a new warehouse with a data key and the vault's SQL
// functions registered.
func registeredVault(t *testing.T) (*engine.Warehouse, *Vault) {
	t.Helper()
	w := openWarehouse(t)
	v, err := Init(context.Background(), w.DB, kek(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(context.Background(), w, v); err != nil {
		t.Fatal(err)
	}
	return w, v
}

func TestSQLFunctions(t *testing.T) {
	ctx := context.Background()
	w, v := registeredVault(t)
	var tok string
	if err := w.DB.QueryRowContext(ctx, `SELECT ckm_token('mobile', '+8613800138000')`).Scan(&tok); err != nil {
		t.Fatal(err)
	}
	if tok != v.Token(privacy.Mobile, "+8613800138000") {
		t.Errorf("SQL token %s, Go token %s", tok, v.Token(privacy.Mobile, "+8613800138000"))
	}
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO vault_customer_key SELECT i, ckm_new_customer_key(i), 1 FROM range(1, 4) r(i)`); err != nil {
		t.Fatal(err)
	}
	var distinct int
	if err := w.DB.QueryRowContext(ctx, `SELECT count(DISTINCT wrapped_key) FROM vault_customer_key`).Scan(&distinct); err != nil || distinct != 3 {
		t.Fatalf("customer keys: %d distinct of 3 (%v): the key function was folded to a constant", distinct, err)
	}
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO vault_value
		SELECT ckm_token('email', e), k.customer_id, 'email', ckm_seal(k.customer_id, k.wrapped_key, ckm_token('email', e), e), 1
		FROM (SELECT *, 'c' || customer_id || '@x.cn' AS e FROM vault_customer_key) k`); err != nil {
		t.Fatal(err)
	}
	// Without RegisterReveal there is no ckm_reveal: a writer cannot read.
	if _, err := w.DB.ExecContext(ctx, `SELECT ckm_reveal(?)`, v.Token(privacy.Email, "c2@x.cn")); err == nil {
		t.Error("ckm_reveal worked without RegisterReveal")
	}
	var seen []string
	if err := RegisterReveal(ctx, w, v, func(tok string) { seen = append(seen, tok) }); err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := w.DB.QueryRowContext(ctx, `SELECT ckm_reveal(?)`, v.Token(privacy.Email, "c2@x.cn")).Scan(&raw); err != nil || raw != "c2@x.cn" {
		t.Fatalf("ckm_reveal = %q, %v", raw, err)
	}
	if len(seen) != 1 || seen[0] != v.Token(privacy.Email, "c2@x.cn") {
		t.Errorf("reveal hook saw %v", seen)
	}
	var sealedText string
	if err := w.DB.QueryRowContext(ctx, `SELECT ckm_seal_text('110101199003077777')`).Scan(&sealedText); err != nil {
		t.Fatal(err)
	}
	if p, err := v.OpenText(sealedText); err != nil || p != "110101199003077777" || strings.Contains(sealedText, "1101") {
		t.Errorf("sealed ledger text %q opens to %q, %v", sealedText, p, err)
	}
}

// TestCustomerCipherCacheBounded: sealing for more customers than the
// cipher cache holds keeps at most aeadCacheSize ciphers (a cipher per
// customer took ~1 KB each: 179 MB of heap at 220,000 customers) and every
// value still opens with its own customer's key, in any order — also for a
// customer whose stored key changed after its cipher was evicted.
func TestCustomerCipherCacheBounded(t *testing.T) {
	ctx := context.Background()
	v, err := Init(ctx, openWarehouse(t).DB, kek(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 2*aeadCacheSize + 100
	wrapped := make([][]byte, n)
	sealed := make([][]byte, n)
	for i := range n {
		id := int64(i + 1)
		wrapped[i] = v.NewCustomerKey(id)
		if sealed[i], err = v.Seal(id, wrapped[i], fmt.Sprint("tok", i), fmt.Sprint("value ", i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(v.aeads) > aeadCacheSize || len(v.keys) != n {
		t.Fatalf("after %d customers: %d ciphers (want at most %d), %d keys (want %d)", n, len(v.aeads), aeadCacheSize, len(v.keys), n)
	}
	// Customer 1's key was replaced (evicted from the cipher cache by now).
	newKey := v.NewCustomerKey(1)
	s1, err := v.Seal(1, newKey, "tok0", "value 0 again")
	if err != nil {
		t.Fatal(err)
	}
	for i := n - 1; i >= 0; i-- {
		got, err := v.Unseal(int64(i+1), wrapped[i], fmt.Sprint("tok", i), sealed[i])
		if err != nil || got != fmt.Sprint("value ", i) {
			t.Fatalf("customer %d: %q, %v", i+1, got, err)
		}
	}
	if got, err := v.Unseal(1, newKey, "tok0", s1); err != nil || got != "value 0 again" {
		t.Errorf("customer 1 under its new key: %q, %v", got, err)
	}
	if _, err := v.Unseal(1, newKey, "tok0", sealed[0]); err == nil {
		t.Error("customer 1's old value opened under its new key")
	}
}

// TestSealTextPastVectors: ckm_seal_text over 5,000 rows (past DuckDB's
// 2,048-row vector, on the loader's threads): every text opens to itself,
// a NULL stays NULL, an empty text seals too, no raw text shows in its
// seal and no two seals are alike, not even of the same text (each its
// own nonce, also within a vector, whose nonces are read at once).
func TestSealTextPastVectors(t *testing.T) {
	ctx := context.Background()
	w, v := registeredVault(t)
	rows, err := w.DB.QueryContext(ctx, `SELECT i, x, ckm_seal_text(x) FROM (
		SELECT i, CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN '' WHEN i % 13 = 0 THEN 'the same text' ELSE 'line ' || i || ': 11010119900307' || lpad(CAST(i AS VARCHAR), 4, '0') || ',张三' END AS x
		FROM range(5000) r(i)) ORDER BY i`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	n := 0
	for rows.Next() {
		var i int
		var x, s sql.NullString
		if err := rows.Scan(&i, &x, &s); err != nil {
			t.Fatal(err)
		}
		n++
		if x.Valid != s.Valid {
			t.Fatalf("row %d: text %v, seal %v: NULL in and out differ", i, x, s)
		}
		if !x.Valid {
			continue
		}
		p, err := v.OpenText(s.String)
		if err != nil || p != x.String {
			t.Fatalf("row %d: seal of %q opens to %q, %v", i, x.String, p, err)
		}
		if !IsSealedText(s.String) || (x.String != "" && strings.Contains(s.String, "11010119900307")) {
			t.Fatalf("row %d: seal %q is not a sealed text", i, s.String)
		}
		if seen[s.String] {
			t.Fatalf("row %d: seal %q given twice", i, s.String)
		}
		seen[s.String] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 5000 || len(seen) != 5000-5000/7-1 {
		t.Errorf("%d rows, %d seals; want 5000 rows, %d seals", n, len(seen), 5000-5000/7-1)
	}
}

// TestTokenPastVectors: ckm_token over 5,000 rows, their kinds changing
// from row to row, gives each row the token Token gives it (a token for
// each kind and value: the same value of two kinds, two tokens); a NULL
// value or kind gives NULL, and
// a kind the vault does not know fails the statement naming it.
func TestTokenPastVectors(t *testing.T) {
	ctx := context.Background()
	w, v := registeredVault(t)
	rows, err := w.DB.QueryContext(ctx, `SELECT k, x, ckm_token(k, x) FROM (
		SELECT i, CASE WHEN i % 97 = 0 THEN NULL ELSE ['id_number', 'mobile', 'email', 'name'][1 + (i // 3) % 4] END AS k,
			CASE WHEN i % 11 = 0 THEN NULL ELSE '1390000' || lpad(CAST(i % 1000 AS VARCHAR), 4, '0') END AS x
		FROM range(5000) r(i)) ORDER BY i`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, tokens, pairs := 0, map[string]bool{}, map[[2]string]bool{}
	for rows.Next() {
		var k, x, tok sql.NullString
		if err := rows.Scan(&k, &x, &tok); err != nil {
			t.Fatal(err)
		}
		n++
		if !k.Valid || !x.Valid {
			if tok.Valid {
				t.Fatalf("row %d: ckm_token(%v, %v) = %q, want NULL", n, k, x, tok.String)
			}
			continue
		}
		if want := v.Token(privacy.ParseKind(k.String), x.String); tok.String != want {
			t.Fatalf("row %d: ckm_token(%s, %s) = %q, want %q", n, k.String, x.String, tok.String, want)
		}
		tokens[tok.String] = true
		pairs[[2]string{k.String, x.String}] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 5000 || len(tokens) != len(pairs) || len(pairs) < 2000 {
		t.Errorf("%d rows, %d distinct tokens of %d kind and value pairs; want 5000 rows, a token a pair", n, len(tokens), len(pairs))
	}
	var count int
	if err := w.DB.QueryRowContext(ctx, `SELECT count(ckm_token(CASE WHEN i < 3000 THEN 'mobile' ELSE 'shoe_size' END, 'x')) FROM range(4000) r(i)`).Scan(&count); err == nil || !strings.Contains(err.Error(), `unknown kind "shoe_size"`) {
		t.Errorf("an unknown kind: %v, want it named", err)
	}
}

// TestSealPastVectors: ckm_seal over 5,000 values of 300 customers, in
// customer order (runs of one customer, as the loader seals) and in
// random order (a cipher looked up per row): each seal opens with its own
// customer's key and token to its value and with no other, a NULL value
// gives NULL, no two seals are alike — not even of the same customer,
// token and value, which every value is given twice, in adjacent rows —
// and a value without its customer's key fails the statement.
func TestSealPastVectors(t *testing.T) {
	ctx := context.Background()
	w, v := registeredVault(t)
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE k AS SELECT i AS customer_id, ckm_new_customer_key(i) AS wrapped FROM range(1, 301) r(i)`); err != nil {
		t.Fatal(err)
	}
	keys := map[int64][]byte{}
	rows, err := w.DB.QueryContext(ctx, `SELECT customer_id, wrapped FROM k`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var wrapped []byte
		if err := rows.Scan(&id, &wrapped); err != nil {
			t.Fatal(err)
		}
		keys[id] = wrapped
	}
	rows.Close()
	for _, order := range []string{"customer_id, i", "hash(i)"} {
		rows, err := w.DB.QueryContext(ctx, `SELECT customer_id, tok, x, ckm_seal(customer_id, wrapped, tok, x) FROM (
			SELECT 1 + i // 2 % 300 AS customer_id, 'tmo_' || i // 2 AS tok, CASE WHEN i % 17 = 0 THEN NULL ELSE '+86139' || lpad(CAST(i // 2 AS VARCHAR), 8, '0') END AS x, i
			FROM range(5000) r(i)) JOIN k USING (customer_id) ORDER BY `+order)
		if err != nil {
			t.Fatal(err)
		}
		n, seen := 0, map[string]bool{}
		for rows.Next() {
			var id int64
			var tok string
			var x sql.NullString
			var sealed []byte
			if err := rows.Scan(&id, &tok, &x, &sealed); err != nil {
				t.Fatal(err)
			}
			n++
			if !x.Valid {
				if sealed != nil {
					t.Fatalf("%s: a NULL value sealed to %x", order, sealed)
				}
				continue
			}
			if p, err := v.Unseal(id, keys[id], tok, sealed); err != nil || p != x.String {
				t.Fatalf("%s: customer %d's %s opens to %q, %v; want %q", order, id, tok, p, err, x.String)
			}
			other := id%300 + 1
			if _, err := v.Unseal(other, keys[other], tok, sealed); err == nil {
				t.Fatalf("%s: customer %d's seal opens with customer %d's key", order, id, other)
			}
			if seen[string(sealed)] {
				t.Fatalf("%s: a seal given twice", order)
			}
			seen[string(sealed)] = true
		}
		rows.Close()
		if n != 5000 || len(seen) != 5000-5000/17-1 {
			t.Errorf("%s: %d rows, %d seals", order, n, len(seen))
		}
	}
	var count int
	if err := w.DB.QueryRowContext(ctx, `SELECT count(ckm_seal(customer_id, CASE WHEN customer_id < 250 THEN wrapped END, 'tmo_x', 'v')) FROM k`).Scan(&count); err == nil {
		t.Errorf("a value without its customer key sealed (%d)", count)
	}
}
