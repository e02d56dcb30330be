package serve

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ckm-dev/ckm/engine"
)

// TestAudit: sessions, statements with their rows, refusals and failures
// with their SQLSTATE, and failed logins are in serve_audit when the
// server stops, with personal values in statements masked.
func TestAudit(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "a.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	srv, stop := startStoppable(t, w, Config{})

	ana, err := pgx.Connect(ctx, connString(srv, "ana"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := ana.QueryRow(ctx, "SELECT count(*) FROM range(7) WHERE range <> $1", 99).Scan(&n); err != nil || n != 7 {
		t.Fatalf("count: %d, %v", n, err)
	}
	rows, _ := ana.Query(ctx, "SELECT range FROM range(5)", pgx.QueryExecModeSimpleProtocol)
	rows.Close()
	_, err = ana.Exec(ctx, "DELETE FROM fact_sales")
	if pgCode(err) != "42501" {
		t.Fatalf("delete: %v", err)
	}
	_, err = ana.Exec(ctx, "SELECT * FROM fact_sales WHERE store_code = '13800138000' AND nope = 1")
	if pgCode(err) != "42703" {
		t.Fatalf("bad column: %v", err)
	}
	ana.Close(ctx)
	if _, err := pgx.Connect(ctx, fmt.Sprintf("postgres://root:wrong@%s/ckm?sslmode=disable", srv.Addr())); err == nil {
		t.Fatal("wrong password connected")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	got := map[string]string{}
	r, err := w.DB.QueryContext(ctx, `SELECT event, coalesce(user_name, ''), coalesce(statement, ''), coalesce(row_count, -1), coalesce(sqlstate, '')
		FROM serve_audit ORDER BY logged_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var lines []string
	for r.Next() {
		var event, user, stmt, state string
		var rc int64
		if err := r.Scan(&event, &user, &stmt, &rc, &state); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%s %s rows=%d state=%s", event, user, rc, state)
		got[stmt+"|"+event] = line
		lines = append(lines, line+" "+stmt)
	}
	want := map[string]string{
		"SELECT count(*) FROM range(7) WHERE range <> $1|statement": "statement ana rows=1 state=",
		"SELECT range FROM range(5)|statement":                      "statement ana rows=5 state=",
		"DELETE FROM fact_sales|refused":                            "refused ana rows=-1 state=42501",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("audit of %q: %q, want %q\n%v", k, got[k], v, lines)
		}
	}
	masked := false
	for k, v := range got {
		if v == "failed ana rows=-1 state=42703" {
			masked = !contains(k, "13800138000") && contains(k, "****")
		}
	}
	if !masked {
		t.Errorf("the failed statement is not in the audit with its mobile masked: %v", lines)
	}
	for _, ev := range []string{"session ana rows=-1 state=", "session_end ana rows=-1 state=", "auth_failed root rows=-1 state=28P01"} {
		found := false
		for _, l := range lines {
			found = found || len(l) >= len(ev) && l[:len(ev)] == ev
		}
		if !found {
			t.Errorf("no %q in the audit: %v", ev, lines)
		}
	}
}

// TestAuditBadEntryLosesOnlyItself: an entry the table refuses (here an
// event its CHECK does not allow) is logged and lost alone; the entries
// batched with it are written.
func TestAuditBadEntryLosesOnlyItself(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "a.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	a := newAuditor(w, slog.New(slog.NewTextHandler(&logged, nil)))
	a.add(auditEntry{event: "statement", user: "ana", role: "analyst", statement: "SELECT 1", rows: 1})
	a.add(auditEntry{event: "no-such-event", user: "bob", role: "analyst", statement: "SELECT 2", rows: 1})
	a.add(auditEntry{event: "statement", user: "cy", role: "analyst", statement: "SELECT 3", rows: 1})
	a.close()
	var users string
	if err := w.DB.QueryRowContext(ctx, `SELECT string_agg(user_name, ',' ORDER BY user_name) FROM serve_audit`).Scan(&users); err != nil {
		t.Fatal(err)
	}
	if users != "ana,cy" {
		t.Errorf("audited users %q, want ana,cy", users)
	}
	if !strings.Contains(logged.String(), "no-such-event") || strings.Count(logged.String(), "level=ERROR") != 1 {
		t.Errorf("log should name the one lost entry once:\n%s", logged.String())
	}
}
