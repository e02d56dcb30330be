package etl

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestTraceMemory: with TraceMemory each statement's trace line is followed
// by DuckDB's memory by tag, which holds the load's temporary tables
// (IN_MEMORY_TABLE) once they exist; without it no memory line is written.
func TestTraceMemory(t *testing.T) {
	ctx := context.Background()
	for _, on := range []bool{false, true} {
		dir := t.TempDir()
		smallSet(t, dir)
		var trace bytes.Buffer
		if _, err := Load(ctx, openMem(t), []string{dir}, Options{AsOf: asOf2024(), Trace: &trace, TraceMemory: on}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(trace.String(), "\n")
		stmt := regexp.MustCompile(`^ *[0-9.]+s [a-z]+ "`)
		mem := regexp.MustCompile(`^ +mem \(MB in memory/spilled\):( [A-Z_]+=[0-9.]+/[0-9.]+)+$`)
		var stmts, mems, tables int
		for i, ln := range lines {
			if stmt.MatchString(ln) {
				stmts++
				if on && (i+1 >= len(lines) || !mem.MatchString(lines[i+1])) {
					t.Fatalf("statement line %q not followed by a memory line: %q", ln, lines[min(i+1, len(lines)-1)])
				}
			}
			if strings.Contains(ln, "mem (MB") {
				mems++
				if strings.Contains(ln, " IN_MEMORY_TABLE=") {
					tables++
				}
			}
		}
		switch {
		case stmts < 50:
			t.Fatalf("TraceMemory %v: %d statement lines in the trace, want the load's (> 50)", on, stmts)
		case !on && mems != 0:
			t.Errorf("TraceMemory off: %d memory lines", mems)
		case on && (mems != stmts || tables < stmts/2):
			t.Errorf("TraceMemory on: %d memory lines (%d with IN_MEMORY_TABLE) for %d statements", mems, tables, stmts)
		}
	}
}
