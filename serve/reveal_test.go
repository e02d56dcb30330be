package serve

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ckm-dev/ckm/engine"
)

// lockedBuffer is a log the server writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCallsReveal: a call of ckm_reveal is found in code, quoted or not,
// in any case; the name inside a literal, a comment or as another name's
// part is not a call.
func TestCallsReveal(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want bool
	}{
		{"SELECT ckm_reveal(mobile) FROM dim_customer", true},
		{"select CKM_REVEAL (mobile) from dim_customer", true},
		{`SELECT "ckm_reveal"('tok_1')`, true},
		{"SELECT upper(ckm_reveal(mobile)) FROM dim_customer", true},
		{"CREATE TABLE t AS SELECT\nckm_reveal(mobile) FROM dim_customer", true},
		{"SELECT 1 /* x */, ckm_reveal(x) -- y", true},
		{"SELECT 'ckm_reveal(mobile)' AS s", false},
		{"SELECT E'\\'ckm_reveal(' AS s", false},
		{"SELECT $$ckm_reveal(x)$$ AS s", false},
		{"SELECT 1 -- ckm_reveal(x)", false},
		{"SELECT 1 /* ckm_reveal(x) */", false},
		{"SELECT my_ckm_reveal(x)", false},
		{`SELECT "ckm_reveal(x)" FROM t`, false},
		{"SELECT ckm_reveal FROM t", false},
		{"SELECT x.ckm_reveal(1)", false},
	} {
		if got := callsReveal(c.sql); got != c.want {
			t.Errorf("callsReveal(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
}

// TestRefusalsLoggedAndAudited: a wrong password and an unknown user get
// 28P01; an analyst writing, starting a load or revealing (the CALL form
// or ckm_reveal(...) as an expression) gets 42501; a steward's
// ckm_reveal(...) expression gets 0A000 naming CALL ckm_reveal. Each is a
// warning in the server's log and a row of serve_audit with its SQLSTATE;
// the name in a literal runs.
func TestRefusalsLoggedAndAudited(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "r.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var log lockedBuffer
	srv, stop := startStoppable(t, w, Config{Log: slog.New(slog.NewJSONHandler(&log, nil))})

	for _, login := range []string{"root:wrong", "nobody:nobody-pw"} {
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s@%s/ckm?sslmode=disable", login, srv.Addr()))
		if err == nil {
			c.Close(ctx)
			t.Fatalf("%s connected", login)
		}
		if pgCode(err) != "28P01" {
			t.Errorf("%s: %v (code %q), want 28P01", login, err, pgCode(err))
		}
	}
	refusals := []struct{ user, sql, code string }{
		{"ana", "DELETE FROM fact_sales", "42501"},
		{"ana", "INSERT INTO dim_store (store_code) VALUES ('x')", "42501"},
		{"ana", "CALL ckm_load('/tmp/exports')", "42501"},
		{"ana", "CALL ckm_reveal('audit request', 'tok_1')", "42501"},
		{"ana", "SELECT ckm_reveal(mobile) FROM dim_customer", "42501"},
		{"stew", "SELECT ckm_reveal(mobile) FROM dim_customer", "0A000"},
		{"root", `SELECT "ckm_reveal"('tok_1')`, "0A000"},
	}
	conns := map[string]*pgx.Conn{}
	for _, u := range []string{"ana", "stew", "root"} {
		c, err := pgx.Connect(ctx, connString(srv, u))
		if err != nil {
			t.Fatal(err)
		}
		conns[u] = c
	}
	for _, r := range refusals {
		_, err := conns[r.user].Exec(ctx, r.sql)
		if pgCode(err) != r.code {
			t.Errorf("%s %q: %v (code %q), want %s", r.user, r.sql, err, pgCode(err), r.code)
		}
		if r.code == "0A000" && (err == nil || !strings.Contains(err.Error(), "CALL ckm_reveal('reason', 'token', ...)")) {
			t.Errorf("%s %q: %v, want the error to name CALL ckm_reveal", r.user, r.sql, err)
		}
	}
	var s string
	if err := conns["ana"].QueryRow(ctx, "SELECT 'ckm_reveal(mobile)' AS s").Scan(&s); err != nil || s != "ckm_reveal(mobile)" {
		t.Errorf("the name in a literal: %q, %v", s, err)
	}
	for _, c := range conns {
		c.Close(ctx)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	logged := log.String()
	if n := strings.Count(logged, `"msg":"authentication refused"`); n != 2 {
		t.Errorf("%d authentication refusals in the log, want 2:\n%s", n, logged)
	}
	for _, r := range refusals {
		want := `"msg":"statement refused","pid":`
		found := false
		for _, l := range strings.Split(logged, "\n") {
			found = found || strings.Contains(l, want) && strings.Contains(l, fmt.Sprintf(`"user":%q`, r.user)) && strings.Contains(l, fmt.Sprintf(`"statement":%q`, r.sql))
		}
		if !found {
			t.Errorf("no log line for the refusal of %s %q:\n%s", r.user, r.sql, logged)
		}
	}
	rows, err := w.DB.QueryContext(ctx, `SELECT event, coalesce(user_name, ''), coalesce(statement, ''), coalesce(sqlstate, '') FROM serve_audit`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	audit := map[string]int{}
	for rows.Next() {
		var event, user, stmt, state string
		if err := rows.Scan(&event, &user, &stmt, &state); err != nil {
			t.Fatal(err)
		}
		audit[strings.Join([]string{event, user, stmt, state}, "|")]++
	}
	want := []string{"auth_failed|root||28P01", "auth_failed|nobody||28P01"}
	for _, r := range refusals {
		event := "refused"
		if r.code != "42501" {
			event = "failed"
		}
		want = append(want, strings.Join([]string{event, r.user, r.sql, r.code}, "|"))
	}
	for _, k := range want {
		if audit[k] != 1 {
			t.Errorf("serve_audit has %d of %q, want 1; all: %v", audit[k], k, audit)
		}
	}
}
