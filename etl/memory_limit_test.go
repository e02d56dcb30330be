package etl

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestLoadSmallSetUnderMemoryLimit loads the small set of TestLoadSmallSet
// in a warehouse limited to 256MB of memory: the same outcome per file and
// the same revenue. (Staging the web orders asked DuckDB for a 512MB JSON
// buffer, so any limit under about 600MB failed the load.)
func TestLoadSmallSetUnderMemoryLimit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	w, err := engine.Open(ctx, "", engine.Options{MemoryLimit: "256MB", TempDirectory: filepath.Join(t.TempDir(), "spill")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][5]int64{ // read, loaded, rejected, duplicates, warned
		"products.csv":         {2, 2, 0, 0, 0},
		"pos_sales_202401.csv": {7, 4, 2, 1, 1},
		"web_orders.ndjson":    {3, 1, 2, 0, 0},
	}
	for _, f := range rep.Files {
		got := [5]int64{f.Read, f.Loaded, f.Rejected, f.Duplicates, f.Warned}
		if got != want[filepath.Base(f.Path)] {
			t.Errorf("%s: read/loaded/rejected/dup/warned = %v, want %v", filepath.Base(f.Path), got, want[filepath.Base(f.Path)])
		}
	}
	if got := queryString(t, w, `SELECT CAST(sum(amount) AS VARCHAR) FROM fact_sales`); got != "2908.00" {
		t.Errorf("net revenue %s, want 2908.00", got)
	}
}

// TestLoadDefaultMemoryLimit: a load into a warehouse file opened without a
// memory_limit runs under engine.LoadMemoryLimit (1GB = 953.6 MiB, as
// DuckDB prints it) and puts DuckDB's default back after; a warehouse
// opened with one keeps it during the load.
func TestLoadDefaultMemoryLimit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	for _, c := range []struct {
		limit, during string
	}{
		{"", "953.6 MiB"},
		{"2GiB", "2.0 GiB"},
	} {
		w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{MemoryLimit: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		before := queryString(t, w, `SELECT current_setting('memory_limit')`)
		var during string
		hook := func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT current_setting('memory_limit')`).Scan(&during)
		}
		if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), BeforeCommit: []func(context.Context, *sql.Tx) error{hook}}); err != nil {
			t.Fatal(err)
		}
		if during != c.during {
			t.Errorf("opened with memory_limit %q: %q during the load, want %q", c.limit, during, c.during)
		}
		if after := queryString(t, w, `SELECT current_setting('memory_limit')`); after != before {
			t.Errorf("opened with memory_limit %q: %q after the load, want %q as before", c.limit, after, before)
		}
		w.Close()
	}
}
