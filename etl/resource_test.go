package etl

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

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
	// What DuckDB 1.5.6 says: out of memory by type, the spill limit in
	// its message.
	if de := (*duckdb.Error)(nil); !errors.As(err, &de) || de.Type != duckdb.ErrorTypeOutOfMemory || !strings.Contains(de.Msg, "max_temp_directory_size") {
		t.Errorf("DuckDB's error %#v, want out of memory naming max_temp_directory_size", de)
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

// TestResourceFailure: DuckDB's error type says whether a load ran out of
// memory or of spill disk (the spill limit and a full disk by the
// message, as DuckDB 1.5.6 words them); a DuckDB error of another type
// quoting the same words is neither; only an error without a type is
// matched by its text.
func TestResourceFailure(t *testing.T) {
	oom := &duckdb.Error{Type: duckdb.ErrorTypeOutOfMemory, Msg: "Out of Memory Error: could not allocate block of size 30.5 MiB (2.4 MiB/7.6 MiB used)\n\nPossible solutions:"}
	spillLimit := &duckdb.Error{Type: duckdb.ErrorTypeOutOfMemory, Msg: "Out of Memory Error: failed to offload data block of size 256.0 KiB (1.7 MiB/1.9 MiB used).\nThis limit was set by the 'max_temp_directory_size' setting."}
	diskFull := &duckdb.Error{Type: duckdb.ErrorTypeIO, Msg: `IO Error: Could not write file "/spill/duckdb_temp_storage_DEFAULT-0.tmp": No space left on device`}
	quoting := &duckdb.Error{Type: duckdb.ErrorTypeInvalidInput, Msg: "Invalid Input Error: Out of Memory Error: No space left on device (max_temp_directory_size)"}
	value := &duckdb.Error{Type: duckdb.ErrorTypeConversion, Msg: "Conversion Error: Could not convert string 'Out of Memory Error' to INT32"}
	noFiles := &duckdb.Error{Type: duckdb.ErrorTypeIO, Msg: `IO Error: No files found that match the pattern "x.csv"`}
	stage := func(err error) error { return fmt.Errorf("stage a.csv: stage: %w", err) }
	for _, c := range []struct {
		name           string
		err            error
		resource, disk bool
	}{
		{"out of memory", stage(oom), true, false},
		{"spill past max_temp_directory_size (out of memory by type)", errors.Join(nil, stage(spillLimit)), true, true},
		{"spill disk full (IO)", stage(diskFull), true, true},
		{"another IO error", stage(noFiles), false, false},
		{"invalid input quoting the words", stage(quoting), false, false},
		{"a source value quoting them", stage(value), false, false},
		{"one file of several out of memory", errors.Join(stage(value), stage(oom)), true, false},
		{"one file of several out of disk", errors.Join(stage(spillLimit), stage(oom)), true, true},
		{"no type: out of memory by its text", fmt.Errorf("load: %v", oom), true, false},
		{"no type: disk full by its text", errors.New("stage a.csv: " + diskFull.Msg), true, true},
		{"a message duckdb-go could not classify", &duckdb.Error{Type: duckdb.ErrorTypeInvalid, Msg: "failed to offload data block: max_temp_directory_size"}, true, true},
		{"no type, other words", errors.New("stage a.csv: permission denied"), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r, d := resourceFailure(c.err); r != c.resource || d != c.disk {
				t.Errorf("resourceFailure = %v, disk %v; want %v, %v", r, d, c.resource, c.disk)
			}
		})
	}

	// DuckDB's own error of another type, quoting the words.
	ctx := context.Background()
	w, err := engine.Open(ctx, engine.Memory, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = w.DB.ExecContext(ctx, `SELECT error('Out of Memory Error: No space left on device (max_temp_directory_size)')`)
	var de *duckdb.Error
	if !errors.As(err, &de) || de.Type == duckdb.ErrorTypeOutOfMemory || de.Type == duckdb.ErrorTypeIO || de.Type == duckdb.ErrorTypeInvalid {
		t.Fatalf("error(): %v, want a typed DuckDB error of another type", err)
	}
	if got := ExplainResourceError(ctx, w, err); got != err {
		t.Errorf("DuckDB's %v quoting the words explained as %v", err, got)
	}
}
