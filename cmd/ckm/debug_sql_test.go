package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLoadDebugSQL: CKM_DEBUG_SQL=1 makes ckm load write each statement's
// time to stderr; CKM_DEBUG_SQL=mem adds DuckDB's memory by tag after each
// (the temporary tables, IN_MEMORY_TABLE, among them); unset, neither.
// Each statement and step line ends with the CPU seconds it used, and the
// rollups' refresh after the commit has its line.
func TestLoadDebugSQL(t *testing.T) {
	bin := ckmBinary(t)
	dir := t.TempDir()
	exports := filepath.Join(dir, "exports")
	if _, errOut, code := runCkm(t, "", "fixtures", "generate", "--out", exports, "--customers", "20", "--days", "3", "--quiet"); code != 0 {
		t.Fatalf("fixtures: %s", errOut)
	}
	for i, env := range []string{"", "1", "mem"} {
		cmd := exec.Command(bin, "--warehouse", filepath.Join(dir, "w"+env+".duckdb"), "load", exports)
		cmd.Env = append(os.Environ(), "CKM_DEBUG_SQL="+env)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != 3 {
			t.Fatalf("CKM_DEBUG_SQL=%q: %v\n%s", env, err, stderr.String())
		}
		statements := strings.Count(stderr.String(), `s validate "`)
		memory := strings.Count(stderr.String(), "mem (MB in memory/spilled):")
		tables := strings.Count(stderr.String(), " IN_MEMORY_TABLE=")
		switch {
		case i == 0 && statements+memory != 0:
			t.Errorf("CKM_DEBUG_SQL unset: %d statement and %d memory lines", statements, memory)
		case i == 1 && (statements < 10 || memory != 0):
			t.Errorf("CKM_DEBUG_SQL=1: %d validate statement lines (want > 10), %d memory lines (want 0)", statements, memory)
		case i == 1:
			withCPU := len(regexp.MustCompile(`(?m)^ *[0-9.]+s validate ".*" cpu [0-9.]+s$`).FindAllString(stderr.String(), -1))
			steps := regexp.MustCompile(`(?m)^ *[0-9.]+s (validate|identity|facts) \(step\) cpu [0-9.]+s$`).FindAllString(stderr.String(), -1)
			after := regexp.MustCompile(`(?m)^ *[0-9.]+s after-commit hooks cpu [0-9.]+s$`).MatchString(stderr.String())
			if withCPU != statements || len(steps) != 3 || !after {
				t.Errorf("CKM_DEBUG_SQL=1: %d of %d validate statements with their CPU seconds, step lines with CPU %q, an after-commit line %v", withCPU, statements, steps, after)
			}
		case i == 2 && (statements < 10 || memory < statements || tables < statements):
			t.Errorf("CKM_DEBUG_SQL=mem: %d validate statement lines, %d memory lines, %d with IN_MEMORY_TABLE", statements, memory, tables)
		}
	}
}
