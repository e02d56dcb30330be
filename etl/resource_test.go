package etl

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
)

// TestLoadOutOfSpillDiskSaysWhatToChange: a load whose spill runs out of
// room (DuckDB's max_temp_directory_size, as a full disk would) fails with
// a *ResourceError naming the temp directory and the memory limit, and
// commits nothing.
func TestLoadOutOfSpillDiskSaysWhatToChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: 3000, Days: 90, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Seed: 1}); err != nil {
		t.Fatal(err)
	}
	spill := filepath.Join(t.TempDir(), "spill")
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{MemoryLimit: "48MB", TempDirectory: spill})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.ExecContext(ctx, `SET max_temp_directory_size = '2MB'`); err != nil {
		t.Fatal(err)
	}
	_, err = Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	err = ExplainResourceError(ctx, w, err)
	var re *ResourceError
	if !errors.As(err, &re) {
		t.Fatalf("load under a 2MB spill limit: %v, want a *ResourceError", err)
	}
	if !re.Disk || re.MemoryLimit != "48MB" || re.TempDir != spill {
		t.Errorf("ResourceError{Disk: %v, MemoryLimit: %q, TempDir: %q}, want disk, 48MB, %s", re.Disk, re.MemoryLimit, re.TempDir, spill)
	}
	for _, want := range []string{"out of disk", spill, "48MB", "--temp-directory", "--memory-limit", "nothing was committed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if n := queryString(t, w, `SELECT count(*) FROM fact_sales`); n != "0" {
		t.Errorf("fact_sales has %s rows after the failed load, want 0", n)
	}
	if n := queryString(t, w, `SELECT count(*) FROM etl_run WHERE status = 'committed'`); n != "0" {
		t.Errorf("%s committed runs after the failed load, want 0", n)
	}
}
