package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ckm-dev/ckm/serve"
)

// TestServePsql: ckm serve, the command, on a free loopback port, with an
// analyst from ckm.yaml and the built-in admin (CKM_ADMIN_PASSWORD); the
// real psql (Debian's postgresql-client, installed by .ci/run) as each:
// a query's result equal to the embedded count, \dt with what the role may
// read, \d fact_sales with its columns, mobiles masked; and a
// parameterised query through pgx (extended protocol) as each.
func TestServePsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed (.ci/run installs postgresql-client)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	exports := filepath.Join(dir, "ex")
	if _, errOut, code := runCkm(t, "", "fixtures", "generate", "--out", exports, "--customers", "30", "--days", "4", "--quiet"); code != 0 {
		t.Fatalf("fixtures generate: %s", errOut)
	}
	wh := filepath.Join(dir, "w.duckdb")
	cfg := filepath.Join(dir, "ckm.yaml")
	v, err := serve.HashPassword("ana-pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("warehouse: "+wh+"\nserve:\n  users:\n    ana: {role: analyst, password: \""+v+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "load", exports); code != 0 && code != 3 {
		t.Fatalf("load: %s", errOut)
	}
	want, errOut, code := runCkm(t, "", "--config", cfg, "--format", "csv", "sql", "-c",
		"SELECT count(*), sum(amount), (SELECT count(*) FROM ckm_rfm()), ckm_id_sex('11010519491231002X') FROM fact_sales WHERE quantity >= 2")
	if code != 0 {
		t.Fatalf("embedded count: %s", errOut)
	}
	wantCells := strings.Split(strings.TrimSpace(strings.Split(want, "\n")[1]), ",")
	if len(wantCells) != 4 || wantCells[0] == "0" || wantCells[2] == "0" || wantCells[3] != "F" {
		t.Fatalf("embedded figures %q: want lines, revenue, RFM rows and F (the 17th digit is even)", wantCells)
	}
	srv := startServe(t, cfg, wh)
	host, port, _ := strings.Cut(srv.info.Addr, ":")
	run := func(user, pw string, args ...string) string {
		t.Helper()
		cmd := exec.Command(psql, append([]string{"-X", "-h", host, "-p", port, "-U", user, "-d", "ckm", "-v", "ON_ERROR_STOP=1"}, args...)...)
		cmd.Env = []string{"PGPASSWORD=" + pw, "PGSSLMODE=disable", "PAGER=", "PGTZ=UTC", "LANG=C"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("psql as %s %v: %v\n%s", user, args, err, out)
		}
		return string(out)
	}
	rawMobile := regexp.MustCompile(`\b1[3-9][0-9]{9}\b`)
	for _, u := range []struct{ user, pw string }{{"ana", "ana-pw"}, {"admin", "root-pw"}} {
		// A mining macro and a cleaner answer as in the embedded shell.
		q := run(u.user, u.pw, "-A", "-t", "-F", ",", "-c", "SELECT count(*), sum(amount), (SELECT count(*) FROM ckm_rfm()), ckm_id_sex('11010519491231002X') FROM fact_sales WHERE quantity >= 2",
			"-c", "SELECT mobile FROM dim_customer WHERE mobile IS NOT NULL ORDER BY customer_id LIMIT 5")
		lines := strings.Split(strings.TrimSpace(q), "\n")
		if len(lines) != 6 || lines[0] != strings.Join(wantCells, ",") {
			t.Errorf("psql as %s: %q, want first %q (the embedded count, sum, RFM rows and sex) and 5 mobiles", u.user, q, strings.Join(wantCells, ","))
		}
		for _, m := range lines[1:] {
			if !strings.Contains(m, "*") || rawMobile.MatchString(m) {
				t.Errorf("psql as %s: mobile %q is not masked", u.user, m)
			}
		}
		dt := run(u.user, u.pw, "-c", `\dt`)
		if !hasPsqlRow(dt, "main", "fact_sales", "table", "ckm") {
			t.Errorf("psql \\dt as %s lacks fact_sales:\n%s", u.user, dt)
		}
		if got := strings.Contains(dt, "etl_identity"); got != (u.user == "admin") {
			t.Errorf("psql \\dt as %s shows etl_identity: %v, want %v:\n%s", u.user, got, u.user == "admin", dt)
		}
		d := run(u.user, u.pw, "-c", `\d fact_sales`)
		for _, col := range [][]string{{"order_id", "text"}, {"quantity", "integer"}, {"amount", "numeric(18,2)"}, {"is_return", "boolean"}} {
			if !hasPsqlRow(d, col[0], col[1], "", "", "") {
				t.Errorf("psql \\d fact_sales as %s: no column %s %s:\n%s", u.user, col[0], col[1], d)
			}
		}

		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/ckm?sslmode=disable", u.user, u.pw, srv.info.Addr))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		var sum string
		if err := c.QueryRow(ctx, "SELECT count(*), sum(amount)::VARCHAR FROM fact_sales WHERE quantity >= $1", 2).Scan(&n, &sum); err != nil ||
			strconv.FormatInt(n, 10) != wantCells[0] || sum != wantCells[1] {
			t.Errorf("pgx as %s, quantity >= $1 with 2: %d %s (%v), want %s", u.user, n, sum, err, strings.Join(wantCells, " "))
		}
		var none int64
		if err := c.QueryRow(ctx, "SELECT count(*) FROM fact_sales WHERE quantity >= $1", 1_000_000).Scan(&none); err != nil || none != 0 {
			t.Errorf("pgx as %s, quantity >= 1000000: %d (%v), want 0", u.user, none, err)
		}
		c.Close(ctx)
	}
	// The analyst may not read what \dt hid from it.
	cmd := exec.Command(psql, "-X", "-h", host, "-p", port, "-U", "ana", "-d", "ckm", "-v", "ON_ERROR_STOP=1", "-c", "SELECT count(*) FROM main.etl_identity")
	cmd.Env = []string{"PGPASSWORD=ana-pw", "PGSSLMODE=disable", "PAGER=", "LANG=C", "PG_COLOR=never"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ERROR:") || !strings.Contains(string(out), "etl_identity") {
		t.Errorf("psql as analyst reading main.etl_identity: %v\n%s", err, out)
	}
}

// hasPsqlRow reports whether psql's aligned output has a row of exactly
// these cells.
func hasPsqlRow(out string, cells ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		parts := strings.Split(l, "|")
		if len(parts) != len(cells) {
			continue
		}
		ok := true
		for i, c := range cells {
			ok = ok && strings.TrimSpace(parts[i]) == c
		}
		if ok {
			return true
		}
	}
	return false
}
