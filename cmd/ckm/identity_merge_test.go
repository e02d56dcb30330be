package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestNewIdentityMergeCmds: ids, --reason, --role and --records are
// checked before any warehouse is opened; bad ones exit 2 naming them.
func TestNewIdentityMergeCmds(t *testing.T) {
	checkParse(t, []string{"identity"}, newIdentityMergeCmd, []string{"identity", "merge"}, func(o *identityMergeOptions) { o.app = nil },
		[]parseCase[identityMergeOptions]{
			{"two customers", nil, []string{"3", "7", "--reason", "same ID", "--role", "steward"}, identityMergeOptions{a: 3, b: 7, role: "steward", reason: "same ID"}, ""},
			{"not a number", nil, []string{"3", "x7", "--reason", "r"}, identityMergeOptions{}, `CUSTOMER "x7"`},
			{"zero", nil, []string{"0", "7", "--reason", "r"}, identityMergeOptions{}, `CUSTOMER "0"`},
			{"the same twice", nil, []string{"7", "7", "--reason", "r"}, identityMergeOptions{}, "two different customers"},
			{"no reason", nil, []string{"3", "7"}, identityMergeOptions{}, "--reason"},
			{"bad role", nil, []string{"3", "7", "--reason", "r", "--role", "boss"}, identityMergeOptions{}, "--role"},
		})
	checkParse(t, []string{"identity"}, newIdentitySplitCmd, []string{"identity", "split"}, func(o *identitySplitOptions) { o.app = nil },
		[]parseCase[identitySplitOptions]{
			{"keys", nil, []string{"3", "--records", "member_card:M2, mobile:+8613900000002", "--reason", "household"},
				identitySplitOptions{customer: 3, records: "member_card:M2\nmobile:+8613900000002", role: "analyst", reason: "household"}, ""},
			{"repeated", nil, []string{"3", "--records", "member_card:M2", "--records", "email:a@b.cn", "--reason", "r"},
				identitySplitOptions{customer: 3, records: "member_card:M2\nemail:a@b.cn", role: "analyst", reason: "r"}, ""},
			{"no records", nil, []string{"3", "--reason", "r"}, identitySplitOptions{}, "--records"},
			{"bad key type", nil, []string{"3", "--records", "phone:123", "--reason", "r"}, identitySplitOptions{}, `key type "phone"`},
			{"no value", nil, []string{"3", "--records", "mobile:", "--reason", "r"}, identitySplitOptions{}, "want TYPE:VALUE"},
			{"bad customer", nil, []string{"0", "--records", "mobile:1", "--reason", "r"}, identitySplitOptions{}, "CUSTOMER"},
		})
	checkParse(t, []string{"identity"}, newIdentityUndoCmd, []string{"identity", "undo"}, func(o *identityUndoOptions) { o.app = nil },
		[]parseCase[identityUndoOptions]{
			{"merge", nil, []string{"4", "--reason", "wrong merge"}, identityUndoOptions{merge: 4, role: "analyst", reason: "wrong merge"}, ""},
			{"bad merge", nil, []string{"four", "--reason", "r"}, identityUndoOptions{}, `MERGE "four"`},
		})
	checkParse(t, []string{"identity"}, newIdentityMergesCmd, []string{"identity", "merges"}, func(o *identityMergesOptions) { o.app = nil },
		[]parseCase[identityMergesOptions]{
			{"all", nil, nil, identityMergesOptions{}, ""},
			{"one customer", nil, []string{"5"}, identityMergesOptions{customer: 5}, ""},
			{"bad customer", nil, []string{"x"}, identityMergesOptions{}, `CUSTOMER "x"`},
		})
}

// mergeWarehouse loads POS lines of card M1 (two lines), card M2 (three)
// and card M3 (one) and returns the warehouse and the three customers.
func mergeWarehouse(t *testing.T) (string, [3]int64) {
	t.Helper()
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	src := filepath.Join(dir, "pos_sales_1.csv")
	lines := posHeader +
		"S1,1,ST01,北京朝阳店,张三,2024-03-01 10:00,M1,,P001,1,100,0,100\n" +
		"S2,1,ST01,北京朝阳店,张三,2024-04-01 10:00,M1,,P001,1,100,0,100\n" +
		"S3,1,ST01,北京朝阳店,张三,2024-03-02 10:00,M2,13900000002,P001,1,100,0,100\n" +
		"S4,1,ST01,北京朝阳店,张三,2024-05-02 10:00,M2,,P001,1,100,0,100\n" +
		"S5,1,ST01,北京朝阳店,张三,2024-06-02 10:00,M2,,P001,1,100,0,100\n" +
		"S6,1,ST01,北京朝阳店,张三,2024-06-03 10:00,M3,,P001,1,100,0,100\n"
	if err := os.WriteFile(src, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", src, "--as-of", "2024-12-31"); code != 0 && code != exitRejected {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	var ids [3]int64
	for i, card := range []string{"M1", "M2", "M3"} {
		ids[i] = whInt(t, wh, `SELECT customer_id FROM etl_identity WHERE key_type = 'member_card' AND key_value = ?`, card)
	}
	return wh, ids
}

// whInt runs a query returning one number on the warehouse file.
func whInt(t *testing.T, wh, q string, args ...any) int64 {
	t.Helper()
	w, err := engine.Open(context.Background(), wh, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var n int64
	if err := w.DB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// loadLine loads one more POS line as file name.
func loadLine(t *testing.T, wh, name, line string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(src, []byte(posHeader+line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", src, "--as-of", "2024-12-31"); code != 0 && code != exitRejected {
		t.Fatalf("load %s: exit %d: %s", name, code, stderr)
	}
}

// TestIdentityMergeSplitUndo runs the steward commands on a warehouse: an
// analyst, and a steward the principals list does not name, are refused
// and change nothing; a steward merges M2's customer into M1's (its three
// sales move, counted by SQL); the next load's M2 line goes to the
// survivor; the merge is listed and undone to exactly the earlier tables;
// a split of M2's records survives the next load; bad ids fail clearly.
func TestIdentityMergeSplitUndo(t *testing.T) {
	ctx := context.Background()
	wh, ids := mergeWarehouse(t)
	a, b := ids[0], ids[1]
	steward := []string{"--config", principalsConfig(t, "steward"), "--role", "steward"}
	run := func(args ...string) (string, string, int) {
		return runCkm(t, "", append([]string{"--warehouse", wh, "--format", "json"}, args...)...)
	}
	// A model computed on the data as loaded.
	w, err := engine.Open(ctx, wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec(`INSERT INTO kb_model (model_id, kind, name, data_version) SELECT 1, 'rfm', 'before', max(run_id) FROM etl_run`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	before := stableChecksums(t, ctx, wh)
	sa, sb := strconv.FormatInt(a, 10), strconv.FormatInt(b, 10)

	// Refused: an analyst; a steward nobody granted.
	if _, stderr, code := run("identity", "merge", sa, sb, "--reason", "r"); code != exitFailure || !strings.Contains(stderr, "role analyst may not merge") {
		t.Errorf("analyst: exit %d %s", code, stderr)
	}
	if _, stderr, code := run("identity", "merge", sa, sb, "--reason", "r", "--role", "steward"); code != exitFailure || !strings.Contains(stderr, "role not granted") {
		t.Errorf("ungranted steward: exit %d %s", code, stderr)
	}
	compareChecksums(t, "after refusals", before, stableChecksums(t, ctx, wh))

	// Bad ids.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"identity", "merge", sa, "99999"}, exitFailure, "customer 99999: refused: no such customer"},
		{[]string{"identity", "merge", sa, "0"}, exitUsage, `CUSTOMER "0"`},
		{[]string{"identity", "undo", "42"}, exitFailure, "no merge or split 42"},
		{[]string{"identity", "split", sa, "--records", "member_card:M9"}, exitFailure, "no customer has key member_card:"},
	} {
		args := append(append(c.args, "--reason", "test"), steward...)
		if _, stderr, code := run(args...); code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d %s, want %d with %q", c.args, code, stderr, c.code, c.want)
		}
	}

	version := whInt(t, wh, `SELECT max(run_id) FROM etl_run WHERE status = 'committed'`)
	out, stderr, code := run(append([]string{"identity", "merge", sb, sa, "--reason", "same person, called"}, steward...)...)
	var res map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("merge: exit %d %s %s", code, out, stderr)
	}
	if res["survivor"] != float64(a) || res["other"] != float64(b) || res["fact_rows"] != float64(3) || res["data_version"] != float64(version+1) {
		t.Errorf("merge said %v, want %d into %d moving 3 sales, data version %d", res, b, a, version+1)
	}
	if n := whInt(t, wh, `SELECT count(*) FROM fact_sales WHERE customer_id = ?`, a); n != 5 {
		t.Errorf("A has %d sales, want 2 + 3", n)
	}
	if n := whInt(t, wh, `SELECT count(*) FROM kb_model_status WHERE stale`); n != 1 {
		t.Errorf("the model computed before the merge does not say it is stale")
	}
	// The sales cube counts two customers; its rollups were refreshed by
	// the merge, at the new data version.
	explain, stderr, code := run("cube", "explain", "sales", "--measures", "revenue", "--rows", "date.year")
	var plan struct {
		Rollup string `json:"rollup"`
	}
	if code != 0 || json.Unmarshal([]byte(explain), &plan) != nil || plan.Rollup == "" {
		t.Errorf("after the merge the cube is not answered from a fresh rollup: exit %d %s %s", code, explain, stderr)
	}
	if out, stderr, code := run("--format", "csv", "cube", "query", "sales", "--measures", "customers", "--rows", "date.year"); code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "2024,2") {
		t.Errorf("customers after the merge: exit %d %s %s, want 2024,2", code, out, stderr)
	}
	if n := whInt(t, wh, `SELECT count(*) FROM dim_customer WHERE customer_id IN (?, ?) AND is_current`, a, b); n != 1 {
		t.Errorf("%d current versions of A and B, want 1", n)
	}
	mergeID := strconv.FormatInt(int64(res["merge_id"].(float64)), 10)
	if _, stderr, code := run("identity", "explain", sb); code != exitFailure || !strings.Contains(stderr, "was merged into customer "+sa+" (merge "+mergeID+")") {
		t.Errorf("explain of the merged-away customer: exit %d %s", code, stderr)
	}
	// The survivor explains both cards: its own and the one merged in.
	out, _, code = run("identity", "explain", sa)
	var links []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &links) != nil {
		t.Fatalf("explain of the survivor: exit %d %s", code, out)
	}
	cards := 0
	for _, l := range links {
		if l["key_type"] == "member_card" {
			cards++
		}
	}
	if cards != 2 {
		t.Errorf("the survivor explains %d cards, want 2: %v", cards, links)
	}
	if out, _, code := run("identity", "merges", sa); code != 0 || !strings.Contains(out, "same person, called") {
		t.Errorf("merges: exit %d %s", code, out)
	}
	if _, stderr, code := run(append([]string{"identity", "undo", mergeID, "--reason", "was wrong"}, steward...)...); code != 0 {
		t.Fatalf("undo: exit %d %s", code, stderr)
	}
	after := stableChecksums(t, ctx, wh)
	// Each action adds to the ledger and merge history, and the rollups
	// record the data version they were built at; the queries above are
	// logged.
	for _, tbl := range []string{"etl_run", "customer_merge", "etl_customer_merge", "etl_customer_merge_key", "etl_customer_merge_version", "identity_decision",
		"olap_rollup_state", "olap_query_log", "ckm_change"} {
		delete(before, tbl)
		delete(after, tbl)
	}
	compareChecksums(t, "after undo", before, after)

	// Merge again; the next load's line with M2 goes to A.
	if _, stderr, code := run(append([]string{"identity", "merge", sa, sb, "--reason", "same person after all"}, steward...)...); code != 0 {
		t.Fatalf("merge again: exit %d %s", code, stderr)
	}
	loadLine(t, wh, "pos_sales_2.csv", "S7,1,ST01,北京朝阳店,张三,2024-07-02 10:00,M2,,P001,1,100,0,100")
	if got := whInt(t, wh, `SELECT customer_id FROM fact_sales WHERE order_id = 'S7'`); got != a {
		t.Errorf("after the merge, M2's line went to %d, want %d", got, a)
	}

	// A steward sees the raw keys a split names, audited.
	reveals := whInt(t, wh, `SELECT count(*) FROM privacy_reveal`)
	out, stderr, code = run(append([]string{"identity", "explain", sa, "--reveal", "split check"}, steward...)...)
	if code != 0 || !strings.Contains(out, `"key": "M2"`) || !strings.Contains(out, `"key": "+8613900000002"`) {
		t.Errorf("explain --reveal: exit %d %s %s", code, out, stderr)
	}
	if n := whInt(t, wh, `SELECT count(*) FROM privacy_reveal`); n != reveals+1 {
		t.Errorf("explain --reveal wrote %d audit rows, want 1", n-reveals)
	}

	// Split M2's records off; the next load linking M1 and M2 keeps them apart.
	out, stderr, code = run(append([]string{"identity", "split", sa, "--records", "member_card:M2", "--reason", "two persons"}, steward...)...)
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("split: exit %d %s %s", code, out, stderr)
	}
	d := int64(res["other"].(float64))
	if n := whInt(t, wh, `SELECT count(*) FROM fact_sales WHERE customer_id = ?`, d); n != 4 || res["fact_rows"] != float64(4) {
		t.Errorf("the split moved %v rows, the new customer has %d sales; want S3, S4, S5, S7", res["fact_rows"], n)
	}
	loadLine(t, wh, "pos_sales_3.csv", "S8,1,ST01,北京朝阳店,张三,2024-08-02 10:00,M1,13900000002,P001,1,100,0,100")
	loadLine(t, wh, "pos_sales_4.csv", "S9,1,ST01,北京朝阳店,张三,2024-08-03 10:00,M2,,P001,1,100,0,100")
	if got := whInt(t, wh, `SELECT customer_id FROM fact_sales WHERE order_id = 'S9'`); got != d {
		t.Errorf("after the split, M2's line went to %d, want %d", got, d)
	}
	if n := whInt(t, wh, `SELECT count(*) FROM customer_merge WHERE kind = 'load_merge'`); n != 0 {
		t.Errorf("a load merged %d times after the split", n)
	}
	if n := whInt(t, wh, `SELECT count(*) FROM dim_customer WHERE customer_id = ? AND is_current`, d); n != 1 {
		t.Errorf("the split-off customer has %d current versions", n)
	}
}

// TestIdentityMergeWhileInUse: a second process asking to merge while
// another holds the warehouse gets the clear "in use" error and changes
// nothing; once it is free the same command works.
func TestIdentityMergeWhileInUse(t *testing.T) {
	ctx := context.Background()
	bin := ckmBinary(t)
	wh, ids := mergeWarehouse(t)
	before := stableChecksums(t, ctx, wh)
	cfg := principalsConfig(t, "steward")
	args := []string{"--warehouse", wh, "--config", cfg, "identity", "merge", strconv.FormatInt(ids[0], 10), strconv.FormatInt(ids[2], 10),
		"--reason", "same person", "--role", "steward"}
	w, err := engine.Open(ctx, wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	w.Close()
	if exitOf(err) != exitFailure || !strings.Contains(string(out), "is in use by another process") {
		t.Errorf("merge while in use: exit %d %s", exitOf(err), out)
	}
	compareChecksums(t, "after the refused merge", before, stableChecksums(t, ctx, wh))
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Errorf("merge once free: %v %s", err, out)
	}
	if n := whInt(t, wh, `SELECT count(*) FROM fact_sales WHERE customer_id = ?`, ids[2]); n != 0 {
		t.Errorf("%d sales still on the merged-away customer", n)
	}
}
