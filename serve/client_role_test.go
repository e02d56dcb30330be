package serve

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestSessionStateStaysInSession: an analyst's session sets search_path
// to the masked views on its connection; when it ends, that connection
// must not go back to the pool with it, or a job (a load) reading
// dim_customer on the pool would read the masked view. Seen as a load
// job failing with 'Values list "b" does not have a column named
// "birth_date"' after analysts had come and gone.
func TestSessionStateStaysInSession(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		c := connect(t, srv, "ana", false)
		var n int64
		if err := c.QueryRow(ctx, "SELECT count(*) FROM dim_customer").Scan(&n); err != nil {
			t.Fatal(err)
		}
		c.Close(ctx)
	}
	time.Sleep(200 * time.Millisecond) // the sessions end on the server
	// Every idle connection of the pool, held at once so none is reused.
	var conns []interface{ Close() error }
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 6; i++ {
		c, err := w.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var path string
		if err := c.QueryRowContext(ctx, "SELECT current_setting('search_path')").Scan(&path); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(path, "analyst") {
			t.Fatalf("pooled connection %d has the analyst's search_path %q", i, path)
		}
	}
}

// TestClientRole: a client may ask for a lesser role than its user's
// (startup parameter ckm_role), never a greater one (28000).
func TestClientRole(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	dial := func(user, role string) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig(connString(srv, user))
		if err != nil {
			t.Fatal(err)
		}
		cfg.RuntimeParams["ckm_role"] = role
		return pgx.ConnectConfig(ctx, cfg)
	}
	root, err := dial("root", "analyst")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close(ctx)
	// As analyst the admin is sandboxed: writing is refused.
	if _, err := root.Exec(ctx, "CREATE TABLE t_role (x INT)"); pgCode(err) != "42501" {
		t.Errorf("admin as analyst creating a table: %v, want 42501", err)
	}
	var masked string
	if err := root.QueryRow(ctx, "SELECT mobile FROM dim_customer WHERE mobile IS NOT NULL LIMIT 1").Scan(&masked); err != nil || !strings.Contains(masked, "*") {
		t.Errorf("admin as analyst reads mobile %q (%v), want it masked", masked, err)
	}
	for _, c := range []struct{ user, role string }{{"ana", "admin"}, {"stew", "admin"}, {"root", "root"}} {
		_, err := dial(c.user, c.role)
		if pgCode(err) != "28000" || !strings.Contains(fmt.Sprint(err), "ckm_role") {
			t.Errorf("%s asking for role %s: %v, want 28000", c.user, c.role, err)
		}
	}
}
