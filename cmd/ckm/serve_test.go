package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/viper"

	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/serve"
)

// TestNewServeCmd checks what ckm serve parses its flags and environment
// into, without a warehouse.
func TestNewServeCmd(t *testing.T) {
	clear := func(o *serveOptions) { o.app = nil }
	checkParse(t, nil, newServeCmd, []string{"serve"}, clear, []parseCase[serveOptions]{
		{name: "defaults", want: serveOptions{listen: "127.0.0.1:5433", grace: 10 * time.Second, maxConns: 64}},
		{name: "check", args: []string{"--check"}, want: serveOptions{listen: "127.0.0.1:5433", grace: 10 * time.Second, maxConns: 64, check: true}},
		{name: "flags", args: []string{"--listen", "0.0.0.0:6543", "--trust-loopback", "--grace", "3s"},
			want: serveOptions{listen: "0.0.0.0:6543", trustLoopback: true, grace: 3 * time.Second, maxConns: 64}},
		{name: "environment", env: map[string]string{"CKM_SERVE_LISTEN": "127.0.0.1:7000", "CKM_ADMIN_PASSWORD": "pw"},
			want: serveOptions{listen: "127.0.0.1:7000", grace: 10 * time.Second, maxConns: 64, adminPassword: "pw"}},
		{name: "zero connections", args: []string{"--max-connections", "0"}, err: "--max-connections 0"},
		{name: "bad listen", args: []string{"--listen", "5433"}, err: `--listen "5433"`},
		{name: "cert without key", args: []string{"--tls-cert", "c.pem"}, err: "--tls-cert and --tls-key go together"},
		{name: "negative grace", args: []string{"--grace", "-1s"}, err: `--grace "-1s"`},
	})
}

// TestNewJobsCmd checks ckm jobs's flags.
func TestNewJobsCmd(t *testing.T) {
	clear := func(o *jobsOptions) { o.app = nil }
	checkParse(t, nil, newJobsCmd, []string{"jobs"}, clear, []parseCase[jobsOptions]{
		{name: "defaults", want: jobsOptions{limit: 20, user: "admin"}},
		{name: "flags", args: []string{"--run", "shop", "--user", "ops", "--limit", "3"}, want: jobsOptions{limit: 3, run: "shop", user: "ops"}},
		{name: "password from the environment only", env: map[string]string{"CKM_PASSWORD": "pw", "CKM_JOBS_USER": "ops"},
			want: jobsOptions{limit: 20, user: "ops", password: "pw"}},
		{name: "zero limit", args: []string{"--limit", "0"}, err: "--limit 0"},
	})
}

// configApp returns an app whose config file is text (mode 0600, so the
// users list is trusted as the principals list is).
func configApp(t *testing.T, text string) *app {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ckm.yaml")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	v := viper.New()
	v.SetConfigFile(cfg)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	v.Set("warehouse", filepath.Join(dir, "w.duckdb"))
	return &app{cfg: v, stdout: io.Discard, stderr: io.Discard}
}

// TestScheduleConfig reads schedule: of ckm.yaml: loads with a path or a
// list, exports, retries; bad entries are usage errors naming the entry.
func TestScheduleConfig(t *testing.T) {
	a := configApp(t, `schedule:
  - name: shop
    cron: "*/15 * * * *"
    load: exports/shop
    retries: 2
    retry-delay: 1m
  - name: lake
    cron: "@daily"
    export: [lake, fact_sales]
`)
	got, err := a.schedule()
	if err != nil {
		t.Fatal(err)
	}
	want := []serve.ScheduledJob{
		{Name: "shop", Cron: "*/15 * * * *", Kind: "load", Args: []string{"exports/shop"}, Retries: 2, RetryDelay: time.Minute},
		{Name: "lake", Cron: "@daily", Kind: "export", Args: []string{"lake", "fact_sales"}},
	}
	if len(got) != len(want) {
		t.Fatalf("schedule %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Cron != w.Cron || g.Kind != w.Kind || strings.Join(g.Args, ",") != strings.Join(w.Args, ",") || g.Retries != w.Retries || g.RetryDelay != w.RetryDelay {
			t.Errorf("entry %d: %+v, want %+v", i, g, w)
		}
	}
	for _, c := range []struct{ text, want string }{
		{"schedule:\n  - {name: a, cron: '99 * * * *', load: x}\n", `schedule "a": cron "99 * * * *"`},
		{"schedule:\n  - {name: a, cron: '@hourly', load: x, export: y}\n", "not both"},
		{"schedule:\n  - {name: a, cron: '@hourly', load: x, retry-delay: soon}\n", `retry-delay "soon"`},
	} {
		_, err := configApp(t, c.text).schedule()
		wantUsageError(t, err, c.want)
	}
}

// TestServeUsers reads serve.users: roles and verifiers checked, the
// admin password added, and no user at all refused.
func TestServeUsers(t *testing.T) {
	v, err := serve.HashPassword("alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	a := configApp(t, "serve:\n  users:\n    alice: {role: analyst, password: \""+v+"\"}\n    bob: {role: steward, password: \""+v+"\"}\n")
	users, err := a.serveUsers("root-pw")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 3 || users["alice"].Role != privacy.Analyst || users["bob"].Role != privacy.Steward || users["admin"].Role != privacy.Admin {
		t.Errorf("users %+v", users)
	}
	if _, err := configApp(t, "serve:\n  users:\n    alice: {role: root, password: \""+v+"\"}\n").serveUsers(""); err == nil || !strings.Contains(err.Error(), "serve.users.alice.role") {
		t.Errorf("bad role: %v", err)
	}
	if _, err := configApp(t, "serve:\n  users:\n    alice: {role: analyst, password: secret}\n").serveUsers(""); err == nil || !strings.Contains(err.Error(), "serve.users.alice.password") {
		t.Errorf("clear-text password: %v", err)
	}
	_, err = configApp(t, "format: table\n").serveUsers("")
	wantUsageError(t, err, "does not run open")
}

// TestServeLimits reads serve.limits: a role's fields replace its
// defaults, fields not given keep them, 0 means none, and a bad value is
// a usage error naming the key.
func TestServeLimits(t *testing.T) {
	limits, err := configApp(t, "serve:\n  limits:\n    analyst: {statement_timeout: 30s}\n    steward: {statement_timeout: 2m, max_rows: 500}\n    admin: {max_rows: 0}\n").serveLimits()
	if err != nil {
		t.Fatal(err)
	}
	want := map[privacy.Role]serve.Limits{
		privacy.Analyst: {StatementTimeout: 30 * time.Second, MaxRows: 1_000_000},
		privacy.Steward: {StatementTimeout: 2 * time.Minute, MaxRows: 500},
		privacy.Admin:   {},
	}
	if !reflect.DeepEqual(limits, want) {
		t.Errorf("limits %+v, want %+v", limits, want)
	}
	limits, err = configApp(t, "serve:\n  limits:\n    analyst: {statement_timeout: 0, max_rows: 0}\n").serveLimits()
	if err != nil || limits[privacy.Analyst] != (serve.Limits{}) {
		t.Errorf("analyst unlimited: %+v, %v", limits, err)
	}
	limits, err = configApp(t, "format: table\n").serveLimits()
	if err != nil || !reflect.DeepEqual(limits, serve.DefaultRoleLimits()) {
		t.Errorf("no serve.limits: %+v, %v; want the defaults", limits, err)
	}
	for _, c := range []struct{ text, want string }{
		{"serve:\n  limits:\n    analyst: {statement_timeout: soon}\n", "serve.limits.analyst.statement_timeout"},
		{"serve:\n  limits:\n    analyst: {statement_timeout: -1s}\n", "serve.limits.analyst.statement_timeout"},
		{"serve:\n  limits:\n    analyst: {max_rows: -5}\n", "serve.limits.analyst.max_rows"},
		{"serve:\n  limits:\n    guest: {max_rows: 5}\n", "serve.limits.guest"},
	} {
		_, err := configApp(t, c.text).serveLimits()
		wantUsageError(t, err, c.want)
	}
}

// TestNewBenchServeCmd checks ckm bench serve's flags.
func TestNewBenchServeCmd(t *testing.T) {
	clear := func(o *benchServeOptions) { o.app = nil }
	checkParse(t, []string{"bench"}, newBenchServeCmd, []string{"bench", "serve"}, clear, []parseCase[benchServeOptions]{
		{name: "defaults", want: benchServeOptions{customers: 1000, queries: 2000, duration: 5 * time.Second, ssbSF: 1, ssbRounds: 5}},
		{name: "flags", args: []string{"--customers", "50", "--queries", "100", "--duration", "2s", "--ssb-sf", "0.1", "--ssb-rounds", "3"},
			want: benchServeOptions{customers: 50, queries: 100, duration: 2 * time.Second, ssbSF: 0.1, ssbRounds: 3}},
		{name: "zero scale factor", args: []string{"--ssb-sf", "0"}, err: "--ssb-sf 0"},
		{name: "no rounds", args: []string{"--ssb-rounds", "0"}, err: "--ssb-rounds 0"},
		{name: "zero duration", args: []string{"--duration", "0s"}, err: "--duration 0s"},
		{name: "too few queries", args: []string{"--queries", "5"}, err: "--queries 5"},
	})
}

// TestServeCommand runs ckm serve as the CLI does: users from ckm.yaml and
// CKM_ADMIN_PASSWORD, the discovery file, ckm's SQL functions for clients,
// a load as a job, a scheduled job run by ckm jobs --run, and a clean stop
// that removes the discovery file.
func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	exports := filepath.Join(dir, "exports")
	if _, _, code := runCkm(t, "", "fixtures", "generate", "--out", exports, "--customers", "60", "--days", "10", "--quiet"); code != 0 {
		t.Fatal("fixtures generate failed")
	}
	v, err := serve.HashPassword("ana-pw")
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "w.duckdb")
	cfg := filepath.Join(dir, "ckm.yaml")
	if err := os.WriteFile(cfg, []byte("warehouse: "+wh+"\nserve:\n  users:\n    ana: {role: analyst, password: \""+v+"\"}\n"+
		"schedule:\n  - {name: yearly, cron: \"0 0 1 1 *\", load: ["+exports+"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CKM_ADMIN_PASSWORD", "root-pw")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		root := newRootCmd(io.Discard, io.Discard)
		root.SetArgs([]string{"--config", cfg, "serve", "--listen", "127.0.0.1:0"})
		done <- execute(ctx, root, os.Stderr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("ckm serve exited %d", code)
		}
		if _, err := os.Stat(discoveryPath(wh)); !os.IsNotExist(err) {
			t.Errorf("discovery file left behind: %v", err)
		}
		if _, _, code := runCkm(t, "", "--config", cfg, "serve", "--check"); code != exitFailure {
			t.Errorf("serve --check after the stop: exit %d, want 1", code)
		}
	}()
	var info serveInfo
	for i := 0; ; i++ {
		data, err := os.ReadFile(discoveryPath(wh))
		if err == nil && json.Unmarshal(data, &info) == nil {
			break
		}
		if i > 300 {
			t.Fatal("no discovery file after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "serve", "--check"); code != 0 || !strings.Contains(errOut, info.Addr) {
		t.Errorf("serve --check: exit %d, %s", code, errOut)
	}
	admin, err := pgx.Connect(ctx, "postgres://admin:root-pw@"+info.Addr+"/ckm?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	// The 17th digit of this ID number is even: a woman (GB 11643).
	var sex string
	if err := admin.QueryRow(ctx, "SELECT ckm_id_sex('11010519491231002X')").Scan(&sex); err != nil || sex != "F" {
		t.Errorf("ckm_id_sex over the wire: %q, %v; want F", sex, err)
	}
	// The scheduled job, run now by ckm jobs --run through the server.
	t.Setenv("CKM_PASSWORD", "root-pw")
	out, errOut, code := runCkm(t, "", "--config", cfg, "--format", "json", "jobs", "--run", "yearly")
	if code != 0 || !strings.Contains(out, `"status": "ok"`) {
		t.Fatalf("ckm jobs --run yearly: exit %d\n%s\n%s", code, out, errOut)
	}
	ana, err := pgx.Connect(ctx, "postgres://ana:ana-pw@"+info.Addr+"/ckm?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer ana.Close(context.Background())
	var lines, runs, jobRuns int64
	if err := ana.QueryRow(ctx, "SELECT (SELECT count(*) FROM fact_sales), (SELECT count(*) FROM etl_run)").Scan(&lines, &runs); err != nil {
		t.Fatal(err)
	}
	if lines == 0 || runs != 1 {
		t.Errorf("after the scheduled load the analyst counts %d lines in %d runs, want some lines in 1 run", lines, runs)
	}
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM serve_job_run WHERE job = 'yearly' AND status = 'ok' AND etl_run_id = 1 AND scheduled_for IS NULL").Scan(&jobRuns); err != nil || jobRuns != 1 {
		t.Errorf("serve_job_run: %d rows of the hand-run yearly job, %v; want 1", jobRuns, err)
	}
	// Loading the same exports again as a job loads nothing (the manifest).
	var job, status, detail string
	var run *int64
	if err := admin.QueryRow(ctx, "CALL ckm_load('"+exports+"')").Scan(&job, &run, &status, &detail); err != nil || run != nil || !strings.Contains(detail, "nothing to load") {
		t.Errorf("second load: %v %q %q, %v", run, status, detail, err)
	}
}
