package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/serve"
)

// TestNewServeCmd checks what ckm serve parses its flags and environment
// into, without a warehouse.
func TestNewServeCmd(t *testing.T) {
	clear := func(o *serveOptions) { o.app = nil }
	checkParse(t, nil, newServeCmd, []string{"serve"}, clear, []parseCase[serveOptions]{
		{name: "defaults", want: serveOptions{listen: "127.0.0.1:5433", grace: 10 * time.Second}},
		{name: "flags", args: []string{"--listen", "0.0.0.0:6543", "--trust-loopback", "--grace", "3s"},
			want: serveOptions{listen: "0.0.0.0:6543", trustLoopback: true, grace: 3 * time.Second}},
		{name: "environment", env: map[string]string{"CKM_SERVE_LISTEN": "127.0.0.1:7000", "CKM_ADMIN_PASSWORD": "pw"},
			want: serveOptions{listen: "127.0.0.1:7000", grace: 10 * time.Second, adminPassword: "pw"}},
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
	_ = context.Background
}

// TestNewBenchServeCmd checks ckm bench serve's flags.
func TestNewBenchServeCmd(t *testing.T) {
	clear := func(o *benchServeOptions) { o.app = nil }
	checkParse(t, []string{"bench"}, newBenchServeCmd, []string{"bench", "serve"}, clear, []parseCase[benchServeOptions]{
		{name: "defaults", want: benchServeOptions{customers: 1000, queries: 2000}},
		{name: "flags", args: []string{"--customers", "50", "--queries", "100"}, want: benchServeOptions{customers: 50, queries: 100}},
		{name: "too few queries", args: []string{"--queries", "5"}, err: "--queries 5"},
	})
}
