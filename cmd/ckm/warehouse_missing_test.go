package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadingCommandsNeedAWarehouse runs every command that reads (or, like
// mine and cube refresh, writes next to data) on a path with no warehouse:
// each exits 1 saying so, and creates nothing.
func TestReadingCommandsNeedAWarehouse(t *testing.T) {
	cases := [][]string{
		{"sql", "-c", "SELECT 1"},
		{"runs"},
		{"rejects"},
		{"rejects", "summary"},
		{"cube", "list"},
		{"cube", "query", "sales", "--measures", "revenue"},
		{"cube", "explain", "sales", "--measures", "revenue"},
		{"cube", "advise", "sales"},
		{"cube", "refresh", "sales"},
		{"mine", "rfm"},
		{"mine", "clv"},
		{"mine", "churn"},
		{"mine", "lifecycle"},
		{"mine", "profit"},
		{"mine", "anomaly"},
		{"export", "parquet", "--out", "lake"},
		{"--read-only", "runs"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			wh := filepath.Join(dir, "data", "none.duckdb")
			if args[len(args)-1] == "lake" {
				args = append(args[:len(args)-1:len(args)-1], filepath.Join(dir, "lake"))
			}
			_, stderr, code := runCkm(t, "", append([]string{"--warehouse", wh}, args...)...)
			if code != exitFailure {
				t.Errorf("exit %d, want %d", code, exitFailure)
			}
			if msg := "no warehouse at " + wh + "; run ckm init"; !strings.Contains(stderr, msg) {
				t.Errorf("stderr lacks %q:\n%s", msg, stderr)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("%s made %d entries in %s (first %s)", args[0], len(entries), dir, entries[0].Name())
			}
		})
	}
}
