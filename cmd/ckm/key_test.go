package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
)

// TestKeyInitLoadRotate walks a protected warehouse's life: ckm key init
// creates an owner-only key file; a load without the key fails and writes
// nothing; with it, the reject ledger and identity map hold no raw mobile;
// ckm rejects shows sealed records as such without the key, masked with
// it, raw to a granted admin revealing with a reason; ckm key rotate
// re-wraps the data key so the old key stops working and every row stays
// readable with the new one, and later loads keep the same tokens.
func TestKeyInitLoadRotate(t *testing.T) {
	dir := t.TempDir()
	wh, kf, kf2 := filepath.Join(dir, "w.duckdb"), filepath.Join(dir, "ckm.key"), filepath.Join(dir, "ckm2.key")
	exports := filepath.Join(dir, "in")
	os.MkdirAll(exports, 0o755)
	header := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	os.WriteFile(filepath.Join(exports, "pos_sales_1.csv"), []byte(header+
		"S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001,abc,10.00,0,\n"+ // line 2: quantity_invalid
		"S2,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001,1,10.00,0,\n"), 0o644)

	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "key", "rotate", "--new-key-file", kf2); code != 1 || !strings.Contains(stderr, "not protected") {
		t.Fatalf("rotate before init: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "init"); code != 0 {
		t.Fatalf("key init: exit %d %s", code, stderr)
	}
	if st, err := os.Stat(kf); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "init"); code != 1 || !strings.Contains(stderr, "has a data key already") {
		t.Fatalf("second key init: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", exports, "--as-of", "2024-12-31"); code != 1 || !strings.Contains(stderr, "encrypted: give its key") {
		t.Fatalf("load without the key: exit %d %s", code, stderr)
	}
	if n := countRows(t, wh, `SELECT count(*) FROM etl_run`); n != 0 {
		t.Fatalf("the refused load recorded %d runs", n)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "load", exports, "--as-of", "2024-12-31"); code != exitRejected {
		t.Fatalf("load with the key: exit %d %s", code, stderr)
	}
	if n := countRows(t, wh, `SELECT count(*) FROM etl_reject WHERE raw_record LIKE '%5678%' OR raw_value LIKE '%5678%'`); n != 0 {
		t.Errorf("%d ledger entries hold the mobile in the clear", n)
	}
	if n := countRows(t, wh, `SELECT count(*) FROM etl_identity WHERE key_value LIKE '%5678%'`); n != 0 {
		t.Errorf("the identity map holds the mobile in the clear")
	}
	if n := countRows(t, wh, `SELECT count(*) FROM etl_identity i JOIN vault_display d ON d.token = i.key_value WHERE key_type = 'mobile' AND display = '+86 139****5678'`); n != 1 {
		t.Errorf("the identity map holds %d mobiles with the display +86 139****5678, want 1", n)
	}

	record := func(args ...string) (string, string, int) {
		out, stderr, code := runCkm(t, "", append([]string{"--warehouse", wh, "rejects", "--rule", "quantity_invalid", "--format", "json"}, args...)...)
		var es []struct {
			RawRecord string `json:"raw_record"`
		}
		if code == 0 {
			if err := json.Unmarshal([]byte(out), &es); err != nil || len(es) != 1 {
				t.Fatalf("rejects: %v %s", err, out)
			}
			return es[0].RawRecord, stderr, code
		}
		return "", stderr, code
	}
	if rec, _, _ := record(); rec != sealedShown {
		t.Errorf("without the key ckm rejects shows %q, want %q", rec, sealedShown)
	}
	if _, stderr, code := record(append(asAdmin(t), "--reveal", "ledger review")...); code != 1 || !strings.Contains(stderr, "give its key") {
		t.Errorf("a reveal without the key: exit %d %s", code, stderr)
	}
	masked, _, _ := record("--key-file", kf)
	if !strings.Contains(masked, `"quantity":"abc"`) || !strings.Contains(masked, "5678") || strings.Contains(masked, "13912345678") {
		t.Errorf("with the key, an analyst sees %q: want the record with the mobile masked", masked)
	}
	if rec, _, _ := record(append(asAdmin(t), "--key-file", kf, "--reveal", "ledger review")...); !strings.Contains(rec, "13912345678") {
		t.Errorf("admin with the key does not see the raw record: %s", rec)
	}

	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "rotate", "--new-key-file", kf2); code != 0 {
		t.Fatalf("rotate: exit %d %s", code, stderr)
	}
	if _, stderr, code := record("--key-file", kf); code != 1 || !strings.Contains(stderr, "does not open") {
		t.Errorf("the old key after rotation: exit %d %s", code, stderr)
	}
	if rec, _, _ := record(append(asAdmin(t), "--key-file", kf2, "--reveal", "after rotation")...); !strings.Contains(rec, "13912345678") {
		t.Errorf("after rotation the new key does not open the ledger: %s", rec)
	}
	// A later load with the new key finds the same customer by the same token.
	os.WriteFile(filepath.Join(exports, "pos_sales_2.csv"), []byte(header+
		"S3,1,ST01,北京朝阳店,张三,2024/2/5 14:22,,13912345678,P001,1,10.00,0,\n"), 0o644)
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf2, "load", exports, "--as-of", "2024-12-31"); code != 0 {
		t.Fatalf("load after rotation: exit %d %s", code, stderr)
	}
	if n := countRows(t, wh, `SELECT count(DISTINCT customer_id) FROM fact_sales`); n != 1 {
		t.Errorf("sales of one mobile before and after rotation belong to %d customers, want 1", n)
	}
}

// TestKeyInitProtectsPlaintext: ckm key init on a warehouse loaded in the
// clear converts it and rewrites the file whole: afterwards the file and
// WAL hold none of the set's raw values (expected.json's list, folded
// forms), what an analyst reads and ckm rejects shows (with the key) are
// as before, and a later load with the key finds an existing customer by
// their mobile's token.
func TestKeyInitProtectsPlaintext(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wh, kf, exports := filepath.Join(dir, "w.duckdb"), filepath.Join(dir, "k"), filepath.Join(dir, "in")
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: exports, Customers: 200, Days: 60, Seed: 5, ListPersonal: true})
	if err != nil {
		t.Fatal(err)
	}
	raw := personalRaw(exp)
	// A warehouse loaded in the clear, as ckm did before protection was the
	// default: through the Go API without a vault (what the benchmark's
	// "off" uses); the CLI refuses to load into it until it is converted.
	w, err := engine.Open(ctx, wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = etl.Load(ctx, w, []string{exports}, etl.Options{})
	w.Close()
	if err != nil {
		t.Fatalf("plaintext load: %v", err)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", exports); code != 1 || !strings.Contains(stderr, "in the clear") || !strings.Contains(stderr, "ckm init") {
		t.Fatalf("ckm load into a plaintext warehouse: exit %d %s", code, stderr)
	}
	raw = raw.withoutNamesIn(t, nonPersonalText(t, wh))
	if raw.find(filesText(t, wh, wh+".wal")) == "" {
		t.Fatal("the scan finds no raw value in the plaintext warehouse")
	}
	read := func(args ...string) string {
		out, stderr, code := runCkm(t, "", append([]string{"--warehouse", wh, "--format", "csv"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
		return out
	}
	analyst := read("sql", "-c", "SELECT * FROM dim_customer ORDER BY customer_key")
	rejects := read("rejects", "--limit", "100000")
	var mobile string
	var customer int64
	w, err = engine.Open(ctx, wh, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = w.DB.QueryRow(`SELECT substr(mobile, 4), customer_id FROM dim_customer WHERE mobile IS NOT NULL AND is_current ORDER BY customer_id LIMIT 1`).Scan(&mobile, &customer)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}

	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "init"); code != 0 || !strings.Contains(stderr, "rewritten whole") {
		t.Fatalf("key init on a plaintext warehouse: exit %d %s", code, stderr)
	}
	if v := raw.find(filesText(t, wh, wh+".wal")); v != "" {
		t.Errorf("after key init the warehouse file still holds %s", v)
	}
	if st, err := os.Stat(wh); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("rewritten warehouse: %v, mode %v", err, st.Mode().Perm())
	}
	if got := read("sql", "-c", "SELECT * FROM dim_customer ORDER BY customer_key"); got != analyst {
		t.Error("the analyst's dim_customer changed with protection")
	}
	if got := read("--key-file", kf, "rejects", "--limit", "100000"); got != rejects {
		t.Error("ckm rejects (with the key) changed with protection")
	}
	if n := countRows(t, wh, `SELECT count(*) FROM etl_reject WHERE raw_record IS NOT NULL AND NOT starts_with(raw_record, 'ckmv1:')`); n != 0 {
		t.Errorf("%d ledger records left in the clear", n)
	}
	os.WriteFile(filepath.Join(dir, "pos_sales_209912.csv"), []byte("单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"Z1,1,ST01,北京朝阳店,张三,"+exp.ExportDate+" 10:00,,"+mobile+",P001,1,10.00,0,\n"), 0o644)
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "load", filepath.Join(dir, "pos_sales_209912.csv"), "--as-of", exp.ExportDate); code != 0 {
		t.Fatalf("load after protection: exit %d %s", code, stderr)
	}
	if n := countRows(t, wh, fmt.Sprintf(`SELECT count(*) FROM fact_sales WHERE order_id = 'Z1' AND customer_id = %d`, customer)); n != 1 {
		t.Errorf("a sale with customer %d's mobile after protection went to another customer", customer)
	}
}

func TestKeyFileChecks(t *testing.T) {
	dir := t.TempDir()
	wh, kf := filepath.Join(dir, "w.duckdb"), filepath.Join(dir, "k")
	os.WriteFile(kf, []byte(strings.Repeat("ab", 32)), 0o644)
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "init"); code != 1 || !strings.Contains(stderr, "chmod 600") {
		t.Errorf("a world-readable key file: exit %d %s", code, stderr)
	}
	os.WriteFile(kf, []byte("secret"), 0o600)
	os.Chmod(kf, 0o600)
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "init"); code != 1 || !strings.Contains(stderr, "64 hexadecimal digits") {
		t.Errorf("a key file without a key: exit %d %s", code, stderr)
	}
	t.Setenv("CKM_KEY", strings.Repeat("cd", 32))
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "key", "init"); code != 0 {
		t.Errorf("key init from CKM_KEY: exit %d %s", code, stderr)
	}
}

func countRows(t *testing.T, wh, q string) int64 {
	t.Helper()
	w, err := engine.Open(context.Background(), wh, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var n int64
	if err := w.DB.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRevealToken: on a protected warehouse an analyst's ckm sql sees the
// mask, a steward without the key sees tokens and ckm_reveal refuses
// saying why, and a steward with the key and a reason gets the raw value
// from ckm_reveal, audited with the token (never the raw value).
func TestRevealToken(t *testing.T) {
	dir := t.TempDir()
	wh, kf := filepath.Join(dir, "w.duckdb"), filepath.Join(dir, "ckm.key")
	exports := filepath.Join(dir, "in")
	os.MkdirAll(exports, 0o755)
	os.WriteFile(filepath.Join(exports, "pos_sales_1.csv"), []byte("单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"S2,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001,1,10.00,0,\n"), 0o644)
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "init"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "load", exports, "--as-of", "2024-12-31"); code != 0 {
		t.Fatalf("load: exit %d %s", code, stderr)
	}
	steward := []string{"--config", principalsConfig(t, "steward"), "--role", "steward"}
	sql := func(q string, args ...string) (string, string, int) {
		return runCkm(t, "", append([]string{"sql", "--warehouse", wh, "--format", "csv", "-c", q}, args...)...)
	}
	if out, stderr, code := sql("SELECT mobile FROM dim_customer WHERE customer_id > 0"); code != 0 || strings.TrimSpace(out) != "mobile\n+86 139****5678" {
		t.Errorf("analyst reads %q (exit %d %s), want the mask", out, code, stderr)
	}
	out, stderr, code := sql("SELECT mobile FROM main.dim_customer WHERE customer_id > 0", append(steward, "--reveal", "check")...)
	token := strings.TrimSpace(strings.TrimPrefix(out, "mobile\n"))
	if code != 0 || !strings.HasPrefix(token, "tmo_") {
		t.Fatalf("steward without the key reads %q (exit %d %s), want a token", out, code, stderr)
	}
	if _, stderr, code := sql("SELECT ckm_reveal(mobile) FROM main.dim_customer", append(steward, "--reveal", "check")...); code == 0 || !strings.Contains(stderr, "has no key") {
		t.Errorf("ckm_reveal without the key: exit %d %s", code, stderr)
	}
	if _, stderr, code := sql("SELECT ckm_reveal('"+token+"')", append(steward, "--key-file", kf)...); code == 0 || !strings.Contains(stderr, "--reveal REASON") {
		t.Errorf("ckm_reveal without a reason: exit %d %s", code, stderr)
	}
	out, stderr, code = sql("SELECT ckm_reveal(mobile) AS m FROM main.dim_customer WHERE customer_id > 0", append(steward, "--key-file", kf, "--reveal", "customer asked for their data")...)
	if code != 0 || strings.TrimSpace(out) != "m\n+8613912345678" {
		t.Fatalf("steward with the key: %q (exit %d %s), want the raw mobile", out, code, stderr)
	}
	if n := countRows(t, wh, `SELECT count(*) FROM privacy_reveal WHERE command = 'sql ckm_reveal' AND reason = 'customer asked for their data'
		AND detail = 'tokens revealed: `+token+`' AND rows = 1`); n != 1 {
		t.Errorf("%d audit rows name the revealed token", n)
	}
	if n := countRows(t, wh, `SELECT count(*) FROM privacy_reveal WHERE detail LIKE '%13912345678%' OR detail LIKE '%5678%'`); n != 0 {
		t.Errorf("the audit holds the raw mobile")
	}
}
