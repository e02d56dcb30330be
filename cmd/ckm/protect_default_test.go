package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// keyFiles lists the key files of a key directory.
func keyFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// storedKEKID is the KEK id a warehouse's vault_key records.
func storedKEKID(t *testing.T, wh string) string {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, wh, engine.Options{ReadOnly: true, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	id, err := vault.StoredKEKID(ctx, w.DB)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestProtectedByDefault: a warehouse the CLI creates is protected without
// being asked. ckm init gives it a data key wrapped by a new key in the key
// directory (CKM_KEY_DIR), in a file named by the key's id, owner-only, in
// an owner-only directory; a second init changes nothing; a load finds the
// key there and leaves no raw value of expected.json's list in the file or
// its WAL; without the key directory the load fails naming it and writes
// no run; ckm key rotate without --new-key-file writes a new default key
// and removes the old one, and the warehouse opens with the new one only.
// A first ckm load of a new file protects it the same way.
func TestProtectedByDefault(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	t.Setenv(keyDirEnv, keys)
	t.Setenv("CKM_KEY", "")
	exports := filepath.Join(dir, "in")
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: exports, Customers: 120, Days: 30, Seed: 7, ListPersonal: true})
	if err != nil {
		t.Fatal(err)
	}
	raw := personalRaw(exp)
	if raw.find(filesText(t, exports)) == "" {
		t.Fatal("the scan finds no raw value even in the exports")
	}

	wh := filepath.Join(dir, "a.duckdb")
	_, stderr, code := runCkm(t, "", "--warehouse", wh, "init")
	if code != 0 || !strings.Contains(stderr, "is protected") || !strings.Contains(stderr, keys) {
		t.Fatalf("init: exit %d %s; want it protected with its key in %s", code, stderr, keys)
	}
	id := storedKEKID(t, wh)
	if got := keyFiles(t, keys); len(got) != 1 || got[0] != id+".key" {
		t.Fatalf("key directory holds %v, want [%s.key]", got, id)
	}
	if st, err := os.Stat(filepath.Join(keys, id+".key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	if st, err := os.Stat(keys); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("key directory: %v, mode %v; want 0700", err, st.Mode().Perm())
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "init"); code != 0 || strings.Contains(stderr, "is protected") || len(keyFiles(t, keys)) != 1 {
		t.Errorf("a second init: exit %d %s, key files %v; want nothing new", code, stderr, keyFiles(t, keys))
	}

	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", exports); code != 0 && code != exitRejected {
		t.Fatalf("load with the default key: exit %d %s", code, stderr)
	}
	if n := countRows(t, wh, `SELECT count(*) FROM vault_value`); n < 100 {
		t.Errorf("vault_value holds %d sealed values after a load of 120 customers", n)
	}
	if v := raw.find(filesText(t, wh, wh+".wal")); v != "" {
		t.Errorf("the warehouse file holds the raw value %s", v)
	}

	// Without the key: the load is refused before anything is written.
	t.Setenv(keyDirEnv, filepath.Join(dir, "elsewhere"))
	more := filepath.Join(dir, "more")
	os.MkdirAll(more, 0o755)
	os.WriteFile(filepath.Join(more, "pos_sales_2.csv"), []byte("单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"Z1,1,ST01,北京朝阳店,张三,"+exp.ExportDate+" 10:00,,13912345678,P001,1,10.00,0,\n"), 0o644)
	runs := countRows(t, wh, `SELECT count(*) FROM etl_run`)
	_, stderr, code = runCkm(t, "", "--warehouse", wh, "load", more, "--as-of", exp.ExportDate)
	if code != 1 || !strings.Contains(stderr, "encrypted: give its key") || !strings.Contains(stderr, filepath.Join(dir, "elsewhere")) {
		t.Errorf("load without the key: exit %d %s; want the refusal naming the key directory", code, stderr)
	}
	if n := countRows(t, wh, `SELECT count(*) FROM etl_run`); n != runs {
		t.Errorf("the refused load recorded a run (%d runs, had %d)", n, runs)
	}

	// Rotation to a new default key.
	t.Setenv(keyDirEnv, keys)
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "key", "rotate"); code != 0 {
		t.Fatalf("rotate: exit %d %s", code, stderr)
	}
	id2 := storedKEKID(t, wh)
	if got := keyFiles(t, keys); id2 == id || len(got) != 1 || got[0] != id2+".key" {
		t.Errorf("after rotation the key directory holds %v (key %s, was %s); want only the new key's file", got, id2, id)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", more, "--as-of", exp.ExportDate); code != 0 {
		t.Errorf("load after rotation: exit %d %s", code, stderr)
	}
	if n := countRows(t, wh, `SELECT count(*) FROM etl_identity WHERE key_value LIKE '%12345678%'`); n != 0 {
		t.Error("the identity map holds the new mobile in the clear")
	}

	t.Run("first load of a new file", func(t *testing.T) {
		wh := filepath.Join(dir, "b.duckdb")
		_, stderr, code := runCkm(t, "", "--warehouse", wh, "load", more, "--as-of", exp.ExportDate)
		if code != 0 || !strings.Contains(stderr, "is protected") {
			t.Fatalf("first load: exit %d %s", code, stderr)
		}
		id := storedKEKID(t, wh)
		if _, err := os.Stat(filepath.Join(keys, id+".key")); err != nil {
			t.Errorf("the new warehouse's key file: %v", err)
		}
		if n := countRows(t, wh, `SELECT count(*) FROM etl_identity WHERE key_type = 'mobile' AND starts_with(key_value, 'tmo_')`); n != 1 {
			t.Errorf("%d mobiles tokenised in the identity map, want 1", n)
		}
	})

	t.Run("a key given explicitly wins", func(t *testing.T) {
		wh, kf := filepath.Join(dir, "c.duckdb"), filepath.Join(dir, "c.key")
		before := len(keyFiles(t, keys))
		if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "init"); code != 0 || !strings.Contains(stderr, kf) {
			t.Fatalf("init --key-file: exit %d %s", code, stderr)
		}
		if after := len(keyFiles(t, keys)); after != before {
			t.Errorf("init with --key-file wrote a default key file too (%d -> %d)", before, after)
		}
		if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", more, "--as-of", exp.ExportDate); code != 1 || !strings.Contains(stderr, "give its key") {
			t.Errorf("load without --key-file: exit %d %s", code, stderr)
		}
		if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "load", more, "--as-of", exp.ExportDate); code != 0 {
			t.Errorf("load with --key-file: exit %d %s", code, stderr)
		}
	})
}

// TestDemoProtected: ckm demo loads into a protected warehouse and says
// where its key is.
func TestDemoProtected(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	t.Setenv(keyDirEnv, keys)
	t.Setenv("CKM_KEY", "")
	wh := filepath.Join(dir, "demo.duckdb")
	_, stderr, code := runCkm(t, "", "--warehouse", wh, "--format", "json", "demo", "--customers", "60", "--dir", filepath.Join(dir, "demo"))
	if code != 0 {
		t.Fatalf("demo: exit %d %s", code, stderr)
	}
	id := storedKEKID(t, wh)
	if !strings.Contains(stderr, "its key is in "+filepath.Join(keys, id+".key")) {
		t.Errorf("demo does not say where its key is:\n%s", stderr)
	}
	if n := countRows(t, wh, `SELECT count(*) FROM dim_customer WHERE customer_key > 0 AND mobile IS NOT NULL AND NOT starts_with(mobile, 'tmo_')`); n != 0 {
		t.Errorf("the demo's dim_customer holds %d mobiles that are not tokens", n)
	}
}
