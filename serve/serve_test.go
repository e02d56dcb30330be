package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy"
)

// The test users: one per role, password = name + "-pw".
var testRoles = map[string]privacy.Role{"ana": privacy.Analyst, "stew": privacy.Steward, "root": privacy.Admin}

func testUsers(t *testing.T) map[string]User {
	t.Helper()
	users := map[string]User{}
	for name, role := range testRoles {
		v, err := HashPassword(name + "-pw")
		if err != nil {
			t.Fatal(err)
		}
		users[name] = User{Name: name, Role: role, Verifier: v}
	}
	return users
}

// loadFixtures generates a small set of exports into a new directory and
// loads it into w.
func loadFixtures(t *testing.T, w *engine.Warehouse, customers, days int, seed int64, start time.Time) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("exports-%d", seed))
	if _, err := fixtures.Generate(context.Background(), fixtures.Options{Out: dir, Customers: customers, Days: days, Seed: seed, Start: start}); err != nil {
		t.Fatal(err)
	}
	if w != nil {
		if _, err := etl.Load(context.Background(), w, []string{dir}, etl.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var (
	sharedOnce sync.Once
	sharedW    *engine.Warehouse
	sharedErr  error
)

// sharedWarehouse is one loaded warehouse the read-only tests share.
func sharedWarehouse(t *testing.T) *engine.Warehouse {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ckm-serve-test-")
		if err != nil {
			sharedErr = err
			return
		}
		sharedW, sharedErr = engine.Open(context.Background(), filepath.Join(dir, "shared.duckdb"), engine.Options{})
		if sharedErr != nil {
			return
		}
		gen := filepath.Join(dir, "exports")
		if _, sharedErr = fixtures.Generate(context.Background(), fixtures.Options{Out: gen, Customers: 300, Days: 30, Seed: 7}); sharedErr != nil {
			return
		}
		_, sharedErr = etl.Load(context.Background(), sharedW, []string{gen}, etl.Options{})
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedW
}

// startServer serves w on a free loopback port until the test ends.
func startServer(t *testing.T, w *engine.Warehouse, cfg Config) *Server {
	t.Helper()
	srv, _ := startStoppable(t, w, cfg)
	return srv
}

// startStoppable is startServer with a stop the test may call to end
// serving (a SIGTERM's path: Serve's context cancelled) and get Serve's
// error; a stop not called runs when the test ends. A Serve that has not
// returned a minute after stop is an error.
func startStoppable(t *testing.T, w *engine.Warehouse, cfg Config) (*Server, func() error) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.Auth.Users == nil {
		cfg.Auth.Users = testUsers(t)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := New(w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	var served error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case served = <-done:
			case <-time.After(time.Minute):
				served = errors.New("Serve did not return a minute after it was stopped")
			}
		})
		return served
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv, stop
}

// connString is the URL of user on srv.
func connString(srv *Server, user string) string {
	return fmt.Sprintf("postgres://%s:%s-pw@%s/ckm?sslmode=disable", user, user, srv.Addr().String())
}

func connect(t *testing.T, srv *Server, user string, simple bool) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(connString(srv, user))
	if err != nil {
		t.Fatal(err)
	}
	if simple {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// pgCode returns the SQLSTATE of err, "" if it is not a server error.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// TestQueryModes runs the same queries over the simple and the extended
// protocol (binary results, typed parameters) and checks each answer
// against the same query run in process.
func TestQueryModes(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	var wantCount, wantQty int64
	var wantAmount string
	if err := w.DB.QueryRowContext(ctx, "SELECT count(*), sum(quantity), CAST(sum(amount) AS VARCHAR) FROM fact_sales WHERE quantity > ? AND source = ?", 1, "pos_sales").Scan(&wantCount, &wantQty, &wantAmount); err != nil {
		t.Fatal(err)
	}
	if wantCount == 0 {
		t.Fatal("the fixture has no POS lines with quantity > 1; the test would prove nothing")
	}
	var firstDate time.Time
	var firstOrder string
	if err := w.DB.QueryRowContext(ctx, "SELECT order_id, order_ts FROM fact_sales ORDER BY order_id, line_no LIMIT 1").Scan(&firstOrder, &firstDate); err != nil {
		t.Fatal(err)
	}
	for _, simple := range []bool{true, false} {
		t.Run(fmt.Sprintf("simple=%v", simple), func(t *testing.T) {
			c := connect(t, srv, "root", simple)
			var n, qty int64
			var amount string
			if err := c.QueryRow(ctx, "SELECT count(*), sum(quantity), CAST(sum(amount) AS VARCHAR) FROM fact_sales WHERE quantity > $1 AND source = $2", 1, "pos_sales").Scan(&n, &qty, &amount); err != nil {
				t.Fatal(err)
			}
			if n != wantCount || qty != wantQty || amount != wantAmount {
				t.Errorf("over the wire %d lines, %d pieces, amount %s; in process %d, %d, %s", n, qty, amount, wantCount, wantQty, wantAmount)
			}
			// Typed values: numeric, timestamp, date, boolean, text.
			var order string
			var ts time.Time
			var day time.Time
			var isReturn bool
			var price float64
			if err := c.QueryRow(ctx, "SELECT order_id, order_ts, CAST(order_ts AS DATE), is_return, CAST(1.25 AS DECIMAL(6,2)) FROM fact_sales ORDER BY order_id, line_no LIMIT 1").Scan(&order, &ts, &day, &isReturn, &price); err != nil {
				t.Fatal(err)
			}
			if order != firstOrder || !ts.Equal(firstDate) || day.Format(time.DateOnly) != firstDate.Format(time.DateOnly) || price != 1.25 {
				t.Errorf("first line %s %v %v %v, want %s %v", order, ts, day, price, firstOrder, firstDate)
			}
			// Several statements in one simple query (a semicolon in a
			// string does not split), and an error.
			if simple {
				if _, err := c.Exec(ctx, "CREATE TEMP TABLE t(x VARCHAR); INSERT INTO t VALUES ('a;b'), ('c'); SELECT 1"); err != nil {
					t.Fatal(err)
				}
				var n int64
				if err := c.QueryRow(ctx, "SELECT count(*) FROM t WHERE x IN ('a;b', 'c')").Scan(&n); err != nil || n != 2 {
					t.Errorf("after a three-statement query: %d rows, %v; want 2", n, err)
				}
			}
			_, err := c.Exec(ctx, "SELECT * FROM no_such_table")
			if pgCode(err) != "42P01" {
				t.Errorf("unknown table: %v (code %q), want 42P01", err, pgCode(err))
			}
			// The session goes on after an error.
			var one int
			if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("after an error: %d, %v", one, err)
			}
		})
	}
}

// TestPreparedStatement prepares once and executes with several parameter
// values, each answer checked against the in-process query.
func TestPreparedStatement(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	c := connect(t, srv, "root", false)
	sd, err := c.Prepare(ctx, "by_qty", "SELECT count(*) FROM fact_sales WHERE quantity >= $1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.ParamOIDs) != 1 || sd.ParamOIDs[0] != 23 {
		t.Errorf("parameter types %v, want [23] (integer, as DuckDB typed quantity)", sd.ParamOIDs)
	}
	for _, q := range []int{1, 2, 3, 100} {
		var got, want int64
		if err := c.QueryRow(ctx, "by_qty", q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if err := w.DB.QueryRowContext(ctx, "SELECT count(*) FROM fact_sales WHERE quantity >= ?", q).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("quantity >= %d: %d over the wire, %d in process", q, got, want)
		}
	}
	// A NULL parameter.
	var n int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM fact_sales WHERE quantity = $1", nil).Scan(&n); err != nil || n != 0 {
		t.Errorf("quantity = NULL: %d, %v; want 0 rows", n, err)
	}
}

// TestCancel interrupts a long query with a cancel request: the query ends
// with 57014 at once and the session goes on.
func TestCancel(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	c := connect(t, srv, "root", false)
	go func() {
		time.Sleep(300 * time.Millisecond)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.PgConn().CancelRequest(cctx); err != nil {
			t.Errorf("cancel request: %v", err)
		}
	}()
	start := time.Now()
	var n int64
	err := c.QueryRow(ctx, "SELECT count(*) FROM range(100000) a, range(100000) b WHERE a.range * b.range % 7 = 3").Scan(&n)
	if pgCode(err) != "57014" {
		t.Fatalf("long query: %d, %v (code %q), want 57014 canceled", n, err, pgCode(err))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancel took %s", d)
	}
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("after cancel: %d, %v", one, err)
	}
	// A cancel request with the wrong secret cancels nothing.
	srv.cancel(c.PgConn().PID(), []byte("nope"))
}

// TestAnalystSandbox: an analyst over the wire has the shell's sandbox —
// refused writes, files and raw tables (42501) and masked personal data.
func TestAnalystSandbox(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "leak.csv")
	for _, simple := range []bool{true, false} {
		c := connect(t, srv, "ana", simple)
		for _, q := range []string{
			"COPY (SELECT * FROM dim_customer) TO '" + out + "'",
			"COPY dim_customer TO '" + out + "'",
			"SELECT * FROM main.dim_customer",
			"SELECT * FROM read_csv('/etc/passwd')",
			"DELETE FROM fact_sales",
			"CREATE TABLE x AS SELECT 1",
			"SELECT * FROM etl_identity",
			"CALL ckm_load('/tmp')",
		} {
			_, err := c.Exec(ctx, q)
			if pgCode(err) != "42501" {
				t.Errorf("simple=%v analyst %q: %v (code %q), want 42501", simple, q, err, pgCode(err))
			}
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("the analyst's COPY wrote %s", out)
		}
		// Masked: no mobile the analyst reads is a raw mobile.
		raw := map[string]bool{}
		rows, err := w.DB.QueryContext(ctx, "SELECT mobile FROM main.dim_customer WHERE mobile IS NOT NULL")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var m string
			rows.Scan(&m)
			raw[m] = true
		}
		rows.Close()
		if len(raw) == 0 {
			t.Fatal("no raw mobiles in the fixture")
		}
		r, err := c.Query(ctx, "SELECT mobile, mobile || '' AS copy FROM dim_customer WHERE mobile IS NOT NULL")
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for r.Next() {
			var m, cp string
			if err := r.Scan(&m, &cp); err != nil {
				t.Fatal(err)
			}
			if raw[m] || raw[cp] || !strings.Contains(m, "*") {
				t.Errorf("analyst saw mobile %q / %q, want it masked", m, cp)
			}
			seen++
		}
		if r.Err() != nil || seen == 0 {
			t.Fatalf("analyst mobiles: %d rows, %v", seen, r.Err())
		}
		// Transaction brackets pass; reading the facts works.
		var n, want int64
		if err := c.QueryRow(ctx, "SELECT count(*) FROM fact_sales").Scan(&n); err != nil {
			t.Fatal(err)
		}
		w.DB.QueryRowContext(ctx, "SELECT count(*) FROM fact_sales").Scan(&want)
		if n != want {
			t.Errorf("analyst count %d, want %d", n, want)
		}
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatalf("analyst BEGIN: %v", err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatalf("analyst COMMIT: %v", err)
		}
	}
}

// TestAuth: a wrong password and an unknown user are refused alike with
// 28P01; trust lets a configured user in from loopback only.
func TestAuth(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	for _, url := range []string{
		fmt.Sprintf("postgres://root:wrong@%s/ckm?sslmode=disable", srv.Addr()),
		fmt.Sprintf("postgres://nobody:nobody-pw@%s/ckm?sslmode=disable", srv.Addr()),
		fmt.Sprintf("postgres://root@%s/ckm?sslmode=disable", srv.Addr()),
	} {
		c, err := pgx.Connect(ctx, url)
		if err == nil {
			c.Close(ctx)
			t.Errorf("%s: connected", url)
			continue
		}
		if pgCode(err) != "28P01" && !strings.Contains(err.Error(), "password") {
			t.Errorf("%s: %v, want 28P01", url, err)
		}
	}
	trusted := startServer(t, w, Config{Auth: Auth{Users: testUsers(t), TrustLoopback: true}})
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://ana@%s/ckm?sslmode=disable", trusted.Addr()))
	if err != nil {
		t.Fatalf("trusted loopback: %v", err)
	}
	c.Close(ctx)
	if _, err := pgx.Connect(ctx, fmt.Sprintf("postgres://nobody@%s/ckm?sslmode=disable", trusted.Addr())); err == nil {
		t.Error("trusted loopback let an unknown user in")
	}
	if _, err := New(w, Config{}); err == nil {
		t.Error("a server without users started")
	}
}

// freePort is unused by the tests but documents that port 0 is asked.
var _ = net.Listen
