package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSettingsReachDuckDB opens a warehouse with each DuckDB setting of
// Options and reads it back from DuckDB itself.
func TestSettingsReachDuckDB(t *testing.T) {
	ctx := context.Background()
	tmp := filepath.Join(t.TempDir(), "spill")
	w, err := Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), Options{NoMigrate: true, Threads: 3, MemoryLimit: "1GiB", TempDirectory: tmp})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var threads int
	var limit, dir string
	if err := w.DB.QueryRowContext(ctx, `SELECT current_setting('threads'), current_setting('memory_limit'), current_setting('temp_directory')`).
		Scan(&threads, &limit, &dir); err != nil {
		t.Fatal(err)
	}
	if threads != 3 || limit != "1.0 GiB" || dir != tmp {
		t.Errorf("threads %d, memory_limit %q, temp_directory %q; want 3, \"1.0 GiB\", %q", threads, limit, dir, tmp)
	}
}

// TestSettingsInvalid: a bad value is an error naming the setting and what
// it takes, before DuckDB sees it.
func TestSettingsInvalid(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{MemoryLimit: "lots"}, `memory_limit "lots": want a size such as 4GB`},
		{Options{MemoryLimit: "50%"}, `memory_limit "50%": want a size`},
		{Options{MemoryLimit: "4 GB; DROP"}, `memory_limit "4 GB; DROP"`},
		{Options{Threads: -2}, "threads -2: want a positive number"},
		{Options{TempDirectory: file}, "temp_directory " + file + ": not a directory"},
	} {
		_, err := Open(context.Background(), "", c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.opts, err, c.want)
		}
	}
	for _, ok := range []string{"4GB", "512MiB", "1.5 GB", "100000000", "2g"} {
		if err := (Options{MemoryLimit: ok}).Check(); err != nil {
			t.Errorf("memory_limit %q: %v", ok, err)
		}
	}
}

// TestMemoryLimitSpills: work bigger than memory_limit spills to
// temp_directory and finishes with the right answer, where DuckDB would
// otherwise have held it all in memory.
func TestMemoryLimitSpills(t *testing.T) {
	ctx := context.Background()
	tmp := filepath.Join(t.TempDir(), "spill")
	w, err := Open(ctx, "", Options{NoMigrate: true, Threads: 2, MemoryLimit: "64MB", TempDirectory: tmp})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// About 200 MB of strings in a temporary table, over three times the limit.
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE big AS
		SELECT i, repeat(md5(CAST(i AS VARCHAR)), 4) AS s FROM range(1500000) t(i)`); err != nil {
		t.Fatal(err)
	}
	var spilled int64
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files()`).Scan(&spilled); err != nil {
		t.Fatal(err)
	}
	if spilled < 64<<20 {
		t.Errorf("%d bytes in temporary files; want the table spilled past the 64MB limit", spilled)
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) == 0 {
		t.Errorf("nothing spilled into %s", tmp)
	}
	// Streaming aggregates only: a DISTINCT over 200 MB of strings builds a
	// hash table that need not fit in 64MB (it failed so under load).
	var n int64
	var total float64
	var intact bool
	if err := conn.QueryRowContext(ctx, `SELECT count(*), sum(i), bool_and(s = repeat(md5(CAST(i AS VARCHAR)), 4)) FROM big`).Scan(&n, &total, &intact); err != nil {
		t.Fatal(err)
	}
	if n != 1500000 || !intact || total != 1499999.0*1500000/2 {
		t.Errorf("count %d, every string intact %v, sum %.0f; want 1500000, true, %.0f", n, intact, total, 1499999.0*1500000/2)
	}
}
