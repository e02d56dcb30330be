package main

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNewBenchExportCmd checks what ckm bench export parses its flags into.
func TestNewBenchExportCmd(t *testing.T) {
	cases := []parseCase[benchExportOptions]{
		{"defaults", nil, nil, benchExportOptions{lines: 5_000_000, runs: 3, build: "sql"}, ""},
		{"flags", nil, []string{"--lines", "2000", "--runs", "1", "--build", "load", "--bench-dir", "d"},
			benchExportOptions{lines: 2000, runs: 1, build: "load", dir: "d"}, ""},
		{"too few lines", nil, []string{"--lines", "999"}, benchExportOptions{}, "--lines 999"},
		{"zero runs", nil, []string{"--runs", "0"}, benchExportOptions{}, "--runs 0"},
		{"unknown build", nil, []string{"--build", "csv"}, benchExportOptions{}, `--build "csv"`},
		{"reuse", nil, []string{"--bench-dir", "d", "--reuse"}, benchExportOptions{lines: 5_000_000, runs: 3, build: "sql", dir: "d", reuse: true}, ""},
		{"reuse without a directory", nil, []string{"--reuse"}, benchExportOptions{}, "--reuse needs --bench-dir"},
	}
	checkParse(t, []string{"bench"}, newBenchExportCmd, []string{"bench", "export"}, func(o *benchExportOptions) { o.app = nil }, cases)
}

// TestBenchExportRuns runs the bench small, both ways of building its
// warehouse: every run's incremental export rewrites only the loaded
// day's month of fact_sales (and no table a day's load does not touch:
// ckm load's day may add customers and inferred products), and --build
// load's warehouse is protected.
func TestBenchExportRuns(t *testing.T) {
	for _, c := range []struct {
		build, month string
		protected    bool
	}{
		{"sql", "2025-12", false},
		{"load", "2026-1", true},
	} {
		t.Run(c.build, func(t *testing.T) {
			args := []string{"--format", "json", "bench", "export", "--lines", "2000", "--runs", "2", "--build", c.build}
			var stdout string
			if c.build == "load" {
				// ckm load runs as a child process of the binary.
				out, err := exec.Command(ckmBinary(t), args...).Output()
				if err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				stdout = string(out)
			} else {
				var stderr string
				var code int
				if stdout, stderr, code = runCkm(t, "", args...); code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
			}
			var res benchExportResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("%v: %s", err, stdout)
			}
			if len(res.PerRun) != 2 || res.Protected != c.protected || res.DayLines < 1 || res.Lines < 1000 {
				t.Errorf("runs %d, protected %v, day lines %d, lines %d", len(res.PerRun), res.Protected, res.DayLines, res.Lines)
			}
			if !slices.Equal(res.FactPartitions, []string{c.month}) {
				t.Errorf("fact_sales rewrote %v, want [%s]", res.FactPartitions, c.month)
			}
			// 2,000 lines are one DuckDB row group of fact_sales, which the
			// one-day load changes: hashed again, nothing of it kept.
			if res.RowGroupsHashed < 1 {
				t.Errorf("the incremental export hashed %d fact row groups (%d kept), want at least fact_sales's one", res.RowGroupsHashed, res.RowGroupsKept)
			}
			// The median run's phases, with when its storage warm-up was
			// done (within its incremental export's time, at most the
			// longest run's).
			ph, longest := res.IncrementalPhases, 0.0
			for _, r := range res.PerRun {
				longest = max(longest, r.IncrementalMS)
			}
			if ph["tables"] <= 0 || ph["storage_warm_done"] <= 0 || ph["storage_warm_done"] > longest {
				t.Errorf("incremental phases %v, longest incremental export %.1f ms", ph, longest)
			}
			// The analyst's masked dim_customer (protected or not) is read
			// on a second connection: nothing else runs in the bench's
			// process to move DuckDB's transaction numbers between the
			// two transactions' starts.
			if !slices.Equal(res.IncrementalSide, []string{"dim_customer"}) || ph["side_done"] <= 0 || ph["side_done"] > longest {
				t.Errorf("tables on the second connection %v, done at %.1f ms", res.IncrementalSide, ph["side_done"])
			}
			for _, r := range res.PerRun {
				if r.RawCopyMS <= 0 || r.FullExportMS <= 0 || r.IncrementalMS <= 0 || r.IncrementalRatio != r.IncrementalMS/r.FullExportMS {
					t.Errorf("run %+v", r)
				}
				// Each table's time on both sides: fact_sales_current's
				// full-export time is its check and linking, the raw side's
				// its COPY; the raw tables' times are parts of raw_copy_ms.
				var rawSum float64
				for _, v := range r.RawTablesMS {
					rawSum += v
				}
				for _, name := range []string{"fact_sales", "fact_sales_current", "dim_customer"} {
					if r.RawTablesMS[name] <= 0 || r.FullTablesMS[name] <= 0 {
						t.Errorf("%s: raw %v ms, full %v ms", name, r.RawTablesMS[name], r.FullTablesMS[name])
					}
				}
				if rawSum > r.RawCopyMS || len(r.RawTablesMS) != len(r.FullTablesMS) {
					t.Errorf("raw tables %v (sum %.1f ms) of raw_copy_ms %.1f; full tables %v", r.RawTablesMS, rawSum, r.RawCopyMS, r.FullTablesMS)
				}
				if r.RawCopyCPU <= 0 || r.FullExportCPU <= 0 || r.IncrementalCPU <= 0 || r.ExportCPURatio != r.FullExportCPU/r.RawCopyCPU ||
					r.IncrementalCPURatio != r.IncrementalCPU/r.FullExportCPU {
					t.Errorf("run's cpu seconds: %+v", r)
				}
			}
			for _, name := range res.TablesRewritten {
				switch name {
				case "fact_sales", "fact_sales_current", "etl_run", "kb_model_status", "dim_customer", "dim_product", "dim_date":
				default:
					t.Errorf("the one-day load rewrote %s", name)
				}
			}
		})
	}
}

// TestBenchExportReuse: with --bench-dir and --reuse, a second bench uses
// the warehouse the first built there (build_ms 0, the same lines, the
// one-day load still rewriting only its month), and one asked for other
// --lines is refused rather than silently measured on the wrong warehouse.
func TestBenchExportReuse(t *testing.T) {
	dir := t.TempDir()
	bench := func(lines string) (benchExportResult, string, int) {
		stdout, stderr, code := runCkm(t, "", "--format", "json", "bench", "export", "--lines", lines, "--runs", "1", "--bench-dir", dir, "--reuse")
		var res benchExportResult
		if code == 0 {
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("%v: %s", err, stdout)
			}
		}
		return res, stderr, code
	}
	first, stderr, code := bench("2000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if first.Reused || first.BuildMS <= 0 || first.Lines != 2000 {
		t.Errorf("first bench: reused %v, build_ms %v, lines %d", first.Reused, first.BuildMS, first.Lines)
	}
	second, stderr, code := bench("2000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !second.Reused || second.BuildMS != 0 || second.Lines != 2000 || !slices.Equal(second.FactPartitions, []string{"2025-12"}) {
		t.Errorf("second bench: reused %v, build_ms %v, lines %d, rewrote %v", second.Reused, second.BuildMS, second.Lines, second.FactPartitions)
	}
	if _, stderr, code := bench("3000"); code == 0 || !strings.Contains(stderr, "--lines 2000, not --build sql --lines 3000") {
		t.Errorf("other --lines: exit %d: %s", code, stderr)
	}
}
