//go:build linux && cgo

package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestFilledBlocks: DuckDB's blocks pass through ckm's fill (the linker
// wraps DuckDB's allocator, fill_linux.go).
func TestFilledBlocks(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, Memory, Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	before, ok := FilledBlocks()
	if !ok {
		t.Skip("DuckDB without its own jemalloc")
	}
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE t AS SELECT md5(i::varchar) AS s FROM range(200000) t(i)`); err != nil {
		t.Fatal(err)
	}
	if after, _ := FilledBlocks(); after <= before {
		t.Fatalf("%d blocks filled before a table of 200,000 strings, %d after: DuckDB's allocator is not wrapped", before, after)
	}
}

// TestFillWrappers: a block dirtied in full is cleared (ckm_clear), with
// only the held pages cleared and with every page (as on a machine with
// swap), and a block grown by realloc keeps its bytes and has a cleared
// rest (ckm_fill_check).
func TestFillWrappers(t *testing.T) {
	for _, swap := range []bool{false, true} {
		assumeSwap(swap)
		bad := fillCheck()
		assumeSwap(false)
		if bad != 0 {
			t.Errorf("swap %v: %d bytes wrong (-1: no memory)", swap, bad)
		}
	}
}

// TestFreedMemoryNeverReachesTheFile: what the process held — a working
// table of marked strings, as a load's TEMP tables hold raw ID numbers —
// is nowhere in the warehouse file written after it: dropped first, with
// and without memory pressure; and still held under pressure (spilled
// while the table is written, as a large load's working tables are while
// it inserts the facts); and as on a machine with swap, where every page
// is cleared. DuckDB 1.5 writes the unused tail of a string
// segment as it finds it in memory (duckdb/duckdb#23382): without the
// clearing (fill_linux.go) this test finds thousands of marks in the file
// in each case (the third in two runs of three).
func TestFreedMemoryNeverReachesTheFile(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		limit string
		drop  bool
		rows  int
		swap  bool
	}{{"", true, 300000, false}, {"80MB", true, 300000, false}, {"60MB", false, 3000000, false}, {"", true, 300000, true}} {
		assumeSwap(c.swap)
		path := filepath.Join(t.TempDir(), "w.duckdb")
		w, err := Open(ctx, path, Options{NoMigrate: true, MemoryLimit: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		qs := []string{
			`CREATE TEMP TABLE secret AS SELECT 'SECRETMARK' || lpad(i::varchar, 10, '0') || md5(i::varchar) AS s FROM range(2000000) t(i)`,
			`SELECT count(DISTINCT s) FROM secret`,
		}
		if c.drop {
			qs = append(qs, `DROP TABLE secret`)
		}
		qs = append(qs,
			fmt.Sprintf(`CREATE TABLE t AS SELECT (i %% 97)::varchar || 'x' AS a, md5((i %% 5000)::varchar) AS b, 'k' || (i %% 3)::varchar AS c, i AS d FROM range(%d) t(i)`, c.rows),
			`CREATE TABLE u AS SELECT (i % 7)::varchar AS a FROM range(1000) t(i)`,
			`CHECKPOINT`)
		for _, q := range qs {
			if _, err := w.DB.ExecContext(ctx, q); err != nil {
				t.Fatal(q, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		assumeSwap(false)
		if n := bytes.Count(b, []byte("SECRETMARK")); n > 0 {
			t.Errorf("memory limit %q, working table dropped %v, swap assumed %v: %d of its strings found in the warehouse file of %d bytes", c.limit, c.drop, c.swap, n, len(b))
		}
	}
}
