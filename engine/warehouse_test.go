package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

func TestOpenMemoryMigrates(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	v, err := w.Version(ctx)
	if err != nil || v != SchemaVersion() {
		t.Fatalf("version = %d, %v; want %d", v, err, SchemaVersion())
	}
	// Special members exist in every dimension.
	for _, dim := range []struct{ table, key string }{
		{"dim_date", "date_key"}, {"dim_region", "region_key"}, {"dim_channel", "channel_key"},
		{"dim_store", "store_key"}, {"dim_salesperson", "salesperson_key"}, {"dim_product", "product_key"},
		{"dim_campaign", "campaign_key"}, {"dim_customer", "customer_key"},
	} {
		var n int
		if err := w.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+dim.table+" WHERE "+dim.key+" IN (-1,-2,-3,-4)").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Errorf("%s has %d special members, want 4", dim.table, n)
		}
	}
	// The calendar: 2024-02-29 is a Thursday in ISO week 9 of Q1.
	var week, weekday, quarter int
	var ym string
	if err := w.DB.QueryRowContext(ctx, `SELECT week, weekday, quarter, year_month FROM dim_date WHERE date_key = 20240229`).Scan(&week, &weekday, &quarter, &ym); err != nil {
		t.Fatal(err)
	}
	if week != 9 || weekday != 4 || quarter != 1 || ym != "2024-02" {
		t.Errorf("20240229: week %d weekday %d quarter %d %s", week, weekday, quarter, ym)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	for i := 0; i < 2; i++ {
		w, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM schema_version`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(Migrations) {
			t.Errorf("open %d: %d schema_version rows, want %d", i, n, len(Migrations))
		}
		w.Close()
	}
	w, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.ExecContext(ctx, `DELETE FROM dim_channel`); err == nil {
		t.Error("read-only warehouse accepted a DELETE")
	}
}

// TestMissingFileNotCreated checks that a warehouse that must exist is
// refused, named, and not created.
func TestMissingFileNotCreated(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"read-only", Options{ReadOnly: true}},
		{"must exist", Options{MustExist: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "nope.duckdb")
			_, err := Open(context.Background(), path, c.opts)
			if !errors.Is(err, ErrNoWarehouse) || err.Error() != "no warehouse at "+path+"; run ckm init" {
				t.Fatalf("err = %v, want ErrNoWarehouse naming %s", err, path)
			}
			if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Open made %s: %v", filepath.Dir(path), err)
			}
		})
	}
}

// TestLockedByAnotherProcess holds the warehouse in a child process and
// checks that opening it here names the file and what to do.
func TestLockedByAnotherProcess(t *testing.T) {
	if path := os.Getenv("CKM_TEST_HOLD_WAREHOUSE"); path != "" {
		w, err := Open(context.Background(), path, Options{})
		if err != nil {
			os.Exit(1)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(30 * time.Second)
		w.Close()
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "locked.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=TestLockedByAnotherProcess$")
	cmd.Env = append(os.Environ(), "CKM_TEST_HOLD_WAREHOUSE="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("child did not hold the warehouse: %q %v", buf, err)
	}
	_, err = Open(context.Background(), path, Options{})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want LockedError", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "ckm load") {
		t.Errorf("message does not name the file and the likely holder: %v", err)
	}
}

func TestSetupRegistersFunctionForAllConnections(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	calls := 0
	register := func(ctx context.Context, conn *sql.Conn) error {
		calls++
		return duckdb.RegisterScalarUDF(conn, "ckm_test_twice", twice{})
	}
	for i := 0; i < 2; i++ {
		if err := w.Setup(ctx, "test", register); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Errorf("setup ran %d times, want 1", calls)
	}
	// Another connection sees the function.
	c1, _ := w.DB.Conn(ctx)
	defer c1.Close()
	c2, _ := w.DB.Conn(ctx)
	defer c2.Close()
	var v int64
	if err := c2.QueryRowContext(ctx, `SELECT ckm_test_twice(21)`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("ckm_test_twice(21) = %d, %v", v, err)
	}
}

type twice struct{}

func (twice) Config() duckdb.ScalarFuncConfig {
	bigint, _ := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{bigint}, ResultTypeInfo: bigint}
}

func (twice) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		return values[0].(int64) * 2, nil
	}}
}

// TestBatchInsertKeepsRows runs the plain-SQL reproduction of DuckDB's batch
// insert losing rows (testdata/batch_insert_loss.sql) on a warehouse, which
// must keep every row, and on a bare DuckDB with default settings, where the
// bug shows (so the test notices when a new DuckDB fixes it and the
// workaround can go).
func TestBatchInsertKeepsRows(t *testing.T) {
	ctx := context.Background()
	script, err := os.ReadFile("testdata/batch_insert_loss.sql")
	if err != nil {
		t.Fatal(err)
	}
	run := func(db *sql.DB) int64 {
		t.Helper()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var got int64 = -1
		var code []string
		for _, l := range strings.Split(string(script), "\n") {
			if !strings.HasPrefix(l, "--") {
				code = append(code, l)
			}
		}
		for _, st := range strings.Split(strings.Join(code, "\n"), ";") {
			if st = strings.TrimSpace(st); st == "" {
				continue
			}
			if strings.HasPrefix(st, "SELECT") {
				if err := conn.QueryRowContext(ctx, st).Scan(&got); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if _, err := conn.ExecContext(ctx, st); err != nil {
				t.Fatalf("%s: %v", st, err)
			}
		}
		return got
	}
	w, err := Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := run(w.DB); got != 130000 {
		t.Errorf("warehouse kept %d rows of 130000", got)
	}
	bare, err := sql.Open("duckdb", filepath.Join(t.TempDir(), "bare.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if got := run(bare); got != 0 {
		t.Logf("bare DuckDB kept %d rows: the batch-insert bug looks fixed; preserve_insertion_order=false in Open may go", got)
	}
}
