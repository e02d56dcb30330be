package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/fixtures"
)

// TestEngineSettingsReachDuckDB: --memory-limit, --threads and
// --temp-directory, from the command line, CKM_* or ckm.yaml (also in
// DuckDB's spelling, memory_limit), are what DuckDB reports with
// current_setting in the warehouse a command opens.
func TestEngineSettingsReachDuckDB(t *testing.T) {
	wh := sqlWarehouse(t)
	dir := t.TempDir()
	spill := filepath.Join(dir, "spill")
	// An admin's config (principals) with the settings added.
	cfg := principalsConfig(t, "admin")
	base, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withSettings := filepath.Join(dir, "ckm.yaml")
	if err := os.WriteFile(withSettings, append(base, []byte("\nmemory_limit: 300MiB\nthreads: 1\ntemp-directory: "+spill+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	query := []string{"-c", "SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t, current_setting('temp_directory') AS d"}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flags", nil, []string{"--memory-limit", "1GiB", "--threads", "2", "--temp-directory", spill}, "1.0 GiB,2," + spill},
		{"environment", map[string]string{"CKM_MEMORY_LIMIT": "512MiB", "CKM_THREADS": "1", "CKM_TEMP_DIRECTORY": spill}, nil, "512.0 MiB,1," + spill},
		{"config", nil, []string{"--config", withSettings}, "300.0 MiB,1," + spill},
		{"flag beats config", nil, []string{"--config", withSettings, "--memory-limit", "2GiB"}, "2.0 GiB,1," + spill},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			args := append(append([]string{"sql", "--warehouse", wh, "--format", "csv", "--config", cfg, "--role", "admin"}, c.args...), query...)
			out, stderr, code := runCkm(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if got := lines[len(lines)-1]; got != c.want {
				t.Errorf("settings %q, want %q", got, c.want)
			}
		})
	}
}

// TestEngineSettingsInvalid: an unusable value is a usage error (exit 2)
// naming the flag and what it takes, wherever it came from.
func TestEngineSettingsInvalid(t *testing.T) {
	wh := sqlWarehouse(t)
	cfg := filepath.Join(t.TempDir(), "ckm.yaml")
	if err := os.WriteFile(cfg, []byte("memory_limit: plenty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flag", nil, []string{"--memory-limit", "lots"}, `--memory-limit: memory_limit "lots": want a size such as 4GB`},
		{"percent", nil, []string{"--memory-limit", "50%"}, `--memory-limit: memory_limit "50%": want a size`},
		{"environment", map[string]string{"CKM_MEMORY_LIMIT": "big"}, nil, `--memory-limit: memory_limit "big"`},
		{"config", nil, []string{"--config", cfg}, `--memory-limit: memory_limit "plenty"`},
		{"threads", nil, []string{"--threads", "-1"}, "--threads: threads -1: want a positive number"},
		{"threads not a number", nil, []string{"--threads", "many"}, `invalid argument "many" for "--threads"`},
		{"temp directory a file", nil, []string{"--temp-directory", cfg}, "--temp-directory: temp_directory " + cfg + ": not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, stderr, code := runCkm(t, "", append([]string{"sql", "--warehouse", wh, "-c", "SELECT 1"}, c.args...)...)
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, c.want)
			}
		})
	}
}

// TestLoadOutOfMemorySaysWhatToChange: a load that cannot fit in its
// memory limit fails (exit 1) with a message naming the limit and the
// settings to change, and commits nothing (the next load under a working
// limit loads every file).
func TestLoadOutOfMemorySaysWhatToChange(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if _, err := fixtures.Generate(context.Background(), fixtures.Options{Out: data, Customers: 40, Days: 10, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "w.duckdb")
	if _, stderr, code := runCkm(t, "", "init", "--warehouse", wh); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	_, stderr, code := runCkm(t, "", "load", "--warehouse", wh, "--memory-limit", "8MB", "--as-of", "2024-12-31", data)
	for _, want := range []string{"load ran out of memory under its memory limit (8MB)", "--memory-limit", "nothing was committed", "Out of Memory Error"} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("load under 8MB: exit %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
	if strings.Contains(stderr, "Possible solutions") {
		t.Errorf("DuckDB's tuning paragraphs are repeated:\n%s", stderr)
	}
	out, stderr, code := runCkm(t, "", "load", "--warehouse", wh, "--format", "csv", "--as-of", "2024-12-31", data)
	if code != 0 && code != 3 {
		t.Fatalf("load under the default limit: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "run 1:") {
		t.Errorf("the failed load left a run behind; the next load is not run 1:\n%s\n%s", out, stderr)
	}
}
