package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
	"github.com/ckm-dev/ckm/serve"
)

// tableCountsSQL lists every table of the warehouse with its row count
// query (the caller runs each).
const tableCountsSQL = `SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary ORDER BY ALL`

// countTables counts the rows of every table through query.
func countTables(t *testing.T, query func(string) (*sql.Rows, error)) map[string]int64 {
	t.Helper()
	rows, err := query(tableCountsSQL)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var s, n string
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		names = append(names, engine.QuoteIdent(s)+"."+engine.QuoteIdent(n))
	}
	rows.Close()
	out := map[string]int64{}
	for _, n := range names {
		r, err := query("SELECT count(*) FROM " + n)
		if err != nil {
			t.Fatal(err)
		}
		r.Next()
		var c int64
		if err := r.Scan(&c); err != nil {
			t.Fatal(err)
		}
		r.Close()
		out[n] = c
	}
	return out
}

func sameCounts(t *testing.T, what string, want, got map[string]int64) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == `"main"."serve_audit"` && got[k] >= want[k] {
			// The server writes its audit in batches every 200 ms: the
			// statements that counted the tables may land before the
			// backup's snapshot (they did under load 20+). Rows only grow.
			continue
		}
		if got[k] != want[k] {
			t.Errorf("%s: %s has %d rows, want %d", what, k, got[k], want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d tables, want %d", what, len(got), len(want))
	}
}

// TestBackup (and reveal over the wire): ckm backup --out takes an online copy through the running
// server (a job), ckm backup restore makes it a warehouse again: every
// table has the rows of the original, the data key goes along wrapped
// (opened by the same key-encryption key, by no other), and the analyst
// views answer. Without a server the backup opens the warehouse itself.
func TestBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	exports := filepath.Join(dir, "exports")
	if _, _, code := runCkm(t, "", "fixtures", "generate", "--out", exports, "--customers", "40", "--days", "6", "--quiet"); code != 0 {
		t.Fatal("fixtures generate failed")
	}
	kek := strings.Repeat("7e", 32)
	t.Setenv("CKM_KEY", kek)
	wh := filepath.Join(dir, "w.duckdb")
	cfg := filepath.Join(dir, "ckm.yaml")
	users := "serve:\n  users:\n"
	for _, u := range []struct{ name, role string }{{"stew", "steward"}, {"ana", "analyst"}} {
		v, err := serve.HashPassword(u.name + "-pw")
		if err != nil {
			t.Fatal(err)
		}
		users += "    " + u.name + ": {role: " + u.role + ", password: \"" + v + "\"}\n"
	}
	if err := os.WriteFile(cfg, []byte("warehouse: "+wh+"\n"+users), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "init"); code != 0 {
		t.Fatalf("init: %s", errOut)
	}
	// init protected the warehouse with CKM_KEY (protection is the default).
	if _, errOut, code := runCkm(t, "", "--config", cfg, "load", exports); code != 0 && code != 3 {
		t.Fatalf("load: %s", errOut)
	}
	srv := startServe(t, cfg, wh)
	t.Setenv("CKM_USER", "admin")
	t.Setenv("CKM_PASSWORD", "root-pw")
	admin, err := pgx.Connect(ctx, fmt.Sprintf("postgres://admin:root-pw@%s/ckm?sslmode=disable", srv.info.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// An analyst session open during the backup.
	ana, err := pgx.Connect(ctx, fmt.Sprintf("postgres://admin:root-pw@%s/ckm?sslmode=disable&ckm_role=analyst", srv.info.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer ana.Close(ctx)
	var sealed int64
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM vault_value").Scan(&sealed); err != nil || sealed == 0 {
		t.Fatalf("the warehouse holds %d sealed values (%v): the key did not protect the load", sealed, err)
	}
	// A steward reveals a token's raw value over the wire, audited with
	// the reason; an analyst is refused.
	var tok, display string
	if err := admin.QueryRow(ctx, "SELECT v.token, d.display FROM vault_value v JOIN vault_display d USING (token) WHERE v.kind = 'mobile' ORDER BY 1 LIMIT 1").Scan(&tok, &display); err != nil {
		t.Fatal(err)
	}
	reveal := "CALL ckm_reveal('fraud case 7', " + engine.QuoteString(tok) + ", 'no-such-token')"
	stew, err := pgx.Connect(ctx, fmt.Sprintf("postgres://stew:stew-pw@%s/ckm?sslmode=disable", srv.info.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer stew.Close(ctx)
	var gotTok, raw string
	if err := stew.QueryRow(ctx, reveal).Scan(&gotTok, &raw); err != nil || gotTok != tok || raw == display || privacy.MaskMobile(raw) != display {
		t.Errorf("steward's reveal of %s: %q -> %q (%v); want the value whose mask is %q", tok, gotTok, raw, err, display)
	}
	var audited int64
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM privacy_reveal WHERE os_user = 'stew' AND role = 'steward' AND reason = 'fraud case 7' AND rows = 1 AND command = 'ckm serve ckm_reveal'").Scan(&audited); err != nil || audited != 1 {
		t.Errorf("reveal audit rows: %d (%v), want 1", audited, err)
	}
	if _, err := stew.Exec(ctx, "CALL ckm_reveal('', "+engine.QuoteString(tok)+")"); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("a reveal without a reason: %v", err)
	}
	anaConn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://ana:ana-pw@%s/ckm?sslmode=disable", srv.info.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer anaConn.Close(ctx)
	var pe *pgconn.PgError
	if _, err := anaConn.Exec(ctx, reveal); !errors.As(err, &pe) || pe.Code != "42501" {
		t.Errorf("an analyst's reveal: %v, want SQLSTATE 42501", err)
	}
	want := map[string]int64{}
	{
		rows, err := admin.Query(ctx, tableCountsSQL)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var s, n string
			if err := rows.Scan(&s, &n); err != nil {
				t.Fatal(err)
			}
			names = append(names, engine.QuoteIdent(s)+"."+engine.QuoteIdent(n))
		}
		rows.Close()
		for _, n := range names {
			var c int64
			if err := admin.QueryRow(ctx, "SELECT count(*) FROM "+n).Scan(&c); err != nil {
				t.Fatal(err)
			}
			want[n] = c
		}
	}
	if want[`"main"."fact_sales"`] == 0 || len(want) < 20 {
		t.Fatalf("the original has %d tables, fact_sales %d rows", len(want), want[`"main"."fact_sales"`])
	}

	backup := filepath.Join(dir, "b.duckdb")
	if _, errOut, code := runCkm(t, "", "--config", cfg, "backup", "--out", backup); code != 0 || !strings.Contains(errOut, "tables") {
		t.Fatalf("backup through the server: exit %d\n%s", code, errOut)
	}
	if st, err := os.Stat(backup); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	// The backup was a job of the server: the analyst still reads.
	var n int64
	if err := ana.QueryRow(ctx, "SELECT count(*) FROM dim_customer").Scan(&n); err != nil || n == 0 {
		t.Errorf("analyst after the backup: %d, %v", n, err)
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "backup", "--out", backup); code != exitUsage || !strings.Contains(errOut, "exists") {
		t.Errorf("backup to an existing file: exit %d, %s", code, errOut)
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "backup", "restore", backup, "--force"); code == 0 || !strings.Contains(errOut, "stop it first") {
		t.Errorf("restore over a served warehouse: exit %d, %s", code, errOut)
	}
	srv.stop(t)

	restored := filepath.Join(dir, "restored.duckdb")
	if _, errOut, code := runCkm(t, "", "--warehouse", restored, "backup", "restore", backup); code != 0 {
		t.Fatalf("restore: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runCkm(t, "", "--warehouse", restored, "backup", "restore", backup); code != exitUsage || !strings.Contains(errOut, "--force") {
		t.Errorf("restore over an existing warehouse: exit %d, %s", code, errOut)
	}
	rw, err := engine.Open(ctx, restored, engine.Options{ReadOnly: true, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	sameCounts(t, "restored", want, countTables(t, func(q string) (*sql.Rows, error) { return rw.DB.QueryContext(ctx, q) }))
	k, err := vault.ParseKEK([]byte(kek))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Open(ctx, rw.DB, k); err != nil {
		t.Errorf("the restored data key does not open with the key-encryption key: %v", err)
	}
	other, _ := vault.ParseKEK([]byte(strings.Repeat("11", 32)))
	if _, err := vault.Open(ctx, rw.DB, other); err == nil {
		t.Error("the restored data key opens with another key")
	}
	rw.Close()
	// The restored warehouse answers the analyst as the original did.
	out, errOut, code := runCkm(t, "", "--warehouse", restored, "--format", "csv", "sql", "-c", "SELECT count(*) AS n, count(mobile) AS mobiles FROM dim_customer")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d,", want[`"main"."dim_customer"`])) {
		t.Errorf("analyst on the restored warehouse: exit %d\n%s%s", code, out, errOut)
	}

	// Without a server ckm backup opens the warehouse itself.
	t.Setenv("CKM_USER", "")
	t.Setenv("CKM_PASSWORD", "")
	plain := filepath.Join(dir, "plain.duckdb")
	if _, errOut, code := runCkm(t, "", "--config", cfg, "backup", "--out", plain); code != 0 {
		t.Fatalf("embedded backup: exit %d\n%s", code, errOut)
	}
	pw, err := engine.Open(ctx, plain, engine.Options{ReadOnly: true, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	got := countTables(t, func(q string) (*sql.Rows, error) { return pw.DB.QueryContext(ctx, q) })
	// The server's stop wrote its job run and audit rows: those two tables
	// grew, every other is the same.
	for _, grown := range []string{`"main"."serve_job_run"`, `"main"."serve_audit"`} {
		if got[grown] < want[grown] {
			t.Errorf("embedded backup: %s has %d rows, fewer than %d", grown, got[grown], want[grown])
		}
		got[grown] = want[grown]
	}
	sameCounts(t, "embedded backup", want, got)
}
