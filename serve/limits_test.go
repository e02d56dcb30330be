package serve

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// TestConnectionLimit: past MaxConnections a client is refused with 53300;
// when a session ends, a new one is let in.
func TestConnectionLimit(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{MaxConnections: 2})
	ctx := context.Background()
	a := connect(t, srv, "root", false)
	connect(t, srv, "ana", false)
	_, err := pgx.Connect(ctx, connString(srv, "stew"))
	if pgCode(err) != "53300" {
		t.Fatalf("third client: %v, want 53300", err)
	}
	a.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := pgx.Connect(ctx, connString(srv, "stew"))
		if err == nil {
			c.Close(ctx)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a session ended, a client is still refused: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStartupTimeout: a client that connects and says nothing is
// disconnected after StartupTimeout.
func TestStartupTimeout(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{StartupTimeout: 300 * time.Millisecond})
	nc, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("read: %v (want the server to close the connection)", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("silent client disconnected after %s, want about 300ms", d)
	}
}

// TestMessageLimit: a session that announces a 100 MB message is cut off
// at once instead of the server waiting to read it.
func TestMessageLimit(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{Auth: Auth{Users: testUsers(t), TrustLoopback: true}})
	nc, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "ana"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	readUntilReady(t, fe)
	nc.Write([]byte{'Q', 0x06, 0x00, 0x00, 0x00, 'S', 'E', 'L'})
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("oversized query: %v (want the connection closed at once)", err)
	}
}

// TestStatementTimeout: an analyst's statement past the role's configured
// timeout is cancelled with 57014 naming the limit, and audited as a
// refusal; an admin's statement that runs longer than the analyst's
// timeout is not cut off (admins have no timeout by default).
func TestStatementTimeout(t *testing.T) {
	w := sharedWarehouse(t)
	const timeout = 20 * time.Millisecond
	srv := startServer(t, w, Config{RoleLimits: map[privacy.Role]Limits{privacy.Analyst: {StatementTimeout: timeout}}})
	ctx := context.Background()
	for _, simple := range []bool{true, false} {
		ana := connect(t, srv, "ana", simple)
		start := time.Now()
		var s string
		err := ana.QueryRow(ctx, "SELECT CAST(sum(a.range * b.range) AS VARCHAR) AS timeout_marker FROM range(1000000) a, range(1000000) b").Scan(&s)
		d := time.Since(start)
		if pgCode(err) != "57014" || !strings.Contains(err.Error(), "statement_timeout") || !strings.Contains(err.Error(), "20ms") {
			t.Fatalf("simple=%v: analyst's 10^12-row cross join: %v, want 57014 naming serve.limits.analyst.statement_timeout 20ms", simple, err)
		}
		if d > 5*time.Second {
			t.Errorf("simple=%v: cancelled after %s, want about %s", simple, d, timeout)
		}
		// The session goes on (a tiny query may itself pass 20ms on a
		// loaded machine, so a few tries).
		var n int64
		for try := 0; ; try++ {
			err = ana.QueryRow(ctx, "SELECT count(*) FROM range(7)").Scan(&n)
			if err == nil || try == 9 || pgCode(err) != "57014" {
				break
			}
		}
		if err != nil || n != 7 {
			t.Fatalf("simple=%v: after the timeout: %d, %v", simple, n, err)
		}
	}
	// The admin's query takes longer than the analyst's timeout and
	// finishes: sum over a 10000×10000 grid of i*j = (9999·10000/2)²
	// (10^8 rows: far more than 20ms on any machine).
	root := connect(t, srv, "root", false)
	start := time.Now()
	var s string
	if err := root.QueryRow(ctx, "SELECT CAST(sum(a.range * b.range) AS VARCHAR) FROM range(10000) a, range(10000) b").Scan(&s); err != nil {
		t.Fatalf("admin: %v", err)
	}
	if want := "2499500025000000"; s != want {
		t.Errorf("admin's sum: %s, want %s", s, want)
	}
	d := time.Since(start)
	t.Logf("admin's query: %s (analyst's timeout %s)", d, timeout)
	if d <= timeout {
		t.Fatalf("the admin's query took %s, not longer than the analyst's timeout %s: the test proves nothing", d, timeout)
	}
	waitAudit(t, w, "timeout_marker", "refused", "57014")
}

// TestRowLimit: an analyst's result of exactly the role's row limit comes
// whole; one row more is an error 54000 naming the limit (not a silent
// truncation), audited as a refusal; a steward's is not limited.
func TestRowLimit(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{RoleLimits: map[privacy.Role]Limits{privacy.Analyst: {MaxRows: 5}}})
	ctx := context.Background()
	for _, simple := range []bool{true, false} {
		ana := connect(t, srv, "ana", simple)
		got, err := collect(ctx, ana, "SELECT range AS rowlimit_marker FROM range(5)")
		if err != nil || len(got) != 5 || got[4] != 4 {
			t.Fatalf("simple=%v: 5 rows at a limit of 5: %v, %v", simple, got, err)
		}
		got, err = collect(ctx, ana, "SELECT range AS rowlimit_marker FROM range(6)")
		if pgCode(err) != "54000" || !strings.Contains(err.Error(), "max_rows: 5") {
			t.Fatalf("simple=%v: 6 rows at a limit of 5: %v (rows %v), want 54000 naming serve.limits.analyst.max_rows", simple, err, got)
		}
		if len(got) > 5 {
			t.Errorf("simple=%v: %d rows sent past the limit of 5", simple, len(got))
		}
	}
	stew := connect(t, srv, "stew", false)
	got, err := collect(ctx, stew, "SELECT range FROM range(6)")
	if err != nil || len(got) != 6 {
		t.Fatalf("steward, 6 rows: %v, %v", got, err)
	}
	waitAudit(t, w, "rowlimit_marker FROM range(6)", "refused", "54000")
}

// TestRoleLimitsConfig: roles not configured keep the defaults (analyst
// 5 minutes and 1,000,000 rows; steward and admin unlimited); a negative
// limit or an unknown role is refused by New.
func TestRoleLimitsConfig(t *testing.T) {
	w := sharedWarehouse(t)
	srv, err := New(w, Config{Auth: Auth{Users: testUsers(t)}, RoleLimits: map[privacy.Role]Limits{privacy.Steward: {MaxRows: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[privacy.Role]Limits{privacy.Analyst: {StatementTimeout: 5 * time.Minute, MaxRows: 1_000_000}, privacy.Steward: {MaxRows: 10}, privacy.Admin: {}}
	for r, l := range want {
		if srv.cfg.RoleLimits[r] != l {
			t.Errorf("limits of %s: %+v, want %+v", r, srv.cfg.RoleLimits[r], l)
		}
	}
	for _, bad := range []map[privacy.Role]Limits{{privacy.Analyst: {MaxRows: -1}}, {"guest": {MaxRows: 1}}} {
		if _, err := New(w, Config{Auth: Auth{Users: testUsers(t)}, RoleLimits: bad}); err == nil || !strings.Contains(err.Error(), "limits") {
			t.Errorf("limits %v: %v, want an error naming the limits", bad, err)
		}
	}
}

// collect runs q and returns its single int64 column.
func collect(ctx context.Context, c *pgx.Conn, q string) ([]int64, error) {
	rows, err := c.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// waitAudit waits for the audit line of a statement containing marker
// with the event and SQLSTATE.
func waitAudit(t *testing.T, w *engine.Warehouse, marker, event, state string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int64
		err := w.DB.QueryRow(`SELECT count(*) FROM serve_audit WHERE contains(statement, ?) AND event = ? AND sqlstate = ?`, marker, event, state).Scan(&n)
		if err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			var seen []string
			if r, err := w.DB.Query(`SELECT event || ' ' || coalesce(sqlstate, '') || ' ' || coalesce(statement, '') FROM serve_audit WHERE event <> 'session' AND event <> 'session_end' ORDER BY logged_at DESC LIMIT 10`); err == nil {
				for r.Next() {
					var l string
					r.Scan(&l)
					seen = append(seen, l)
				}
				r.Close()
			}
			t.Fatalf("no audit line %s %s for %q: %v; last lines: %q", event, state, marker, err, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCubeTimeout: a cube query (CALL ckm_cube) is bounded by the role's
// statement timeout as SQL is: a hook still running at the analyst's
// timeout is cancelled and the client gets 57014 naming the limit.
func TestCubeTimeout(t *testing.T) {
	w := sharedWarehouse(t)
	cube := func(ctx context.Context, _ privacy.Principal, _, _ string) (string, error) {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Second):
			return "{}", nil
		}
	}
	srv := startServer(t, w, Config{Cube: cube, RoleLimits: map[privacy.Role]Limits{privacy.Analyst: {StatementTimeout: 50 * time.Millisecond}}})
	ana := connect(t, srv, "ana", true)
	start := time.Now()
	_, err := ana.Exec(context.Background(), `CALL ckm_cube('{"measures": ["revenue"]}')`)
	if pgCode(err) != "57014" || !strings.Contains(err.Error(), "serve.limits.analyst.statement_timeout: 50ms") {
		t.Fatalf("analyst's cube query past the timeout: %v, want 57014 naming the limit", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled after %s, want about 50ms", d)
	}
}
