package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewBenchPrivacyCmd checks what ckm bench privacy parses its flags and
// environment into, without generating anything.
func TestNewBenchPrivacyCmd(t *testing.T) {
	cases := []parseCase[benchPrivacyOptions]{
		{"defaults", nil, nil, benchPrivacyOptions{benchWorld: benchWorld{customers: 220000, days: 365, seed: 1, runs: 1}}, ""},
		{"flags", nil, []string{"--customers", "100", "--days", "40", "--seed", "5", "--dir", "d", "--keep", "--runs", "3"},
			benchPrivacyOptions{benchWorld: benchWorld{customers: 100, days: 40, seed: 5, dir: "d", keep: true, runs: 3}}, ""},
		{"environment", map[string]string{"CKM_BENCH_PRIVACY_RUNS": "3"}, nil, benchPrivacyOptions{benchWorld: benchWorld{customers: 220000, days: 365, seed: 1, runs: 3}}, ""},
		{"one month has no increment", nil, []string{"--days", "31"}, benchPrivacyOptions{}, "--days 31"},
		{"zero runs", nil, []string{"--runs", "0"}, benchPrivacyOptions{}, "--runs 0"},
	}
	checkParse(t, []string{"bench"}, newBenchPrivacyCmd, []string{"bench", "privacy"}, func(o *benchPrivacyOptions) { o.app = nil }, cases)
}

// TestTraceStepSeconds sums a load trace's statement times by step: the
// step totals and "since start" lines are not statements.
func TestTraceStepSeconds(t *testing.T) {
	trace := "   0.125s identity \"CREATE OR REPLACE TEMP TABLE id_tok AS\\n\\tSELECT kid\"\n" +
		"   0.250s identity \"INSERT INTO vault_value (token, customer_id\"\n" +
		"   1.000s identity (step)\n" +
		"   0.500s facts \"INSERT INTO fact_sales\"\n" +
		"   2.000s extract (since start)\n" +
		"   0.010s dim merge \"UPDATE dim_store\"\n"
	got := traceStepSeconds([]byte(trace))
	want := map[string]float64{"identity": 0.375, "facts": 0.5, "dim merge": 0.01}
	if len(got) != len(want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-9 {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}

// TestCostliestSteps orders steps by the growth of their seconds, a step
// only one side has counting as 0 on the other.
func TestCostliestSteps(t *testing.T) {
	clear := map[string]float64{"facts": 1, "identity": 2, "ledger": 0.5, "gone": 0.25}
	protected := map[string]float64{"facts": 1.25, "identity": 3.5, "ledger": 0.5, "customers": 0.75}
	got := costliestSteps(clear, protected, 4)
	want := []string{"identity", "customers", "facts", "ledger"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("costliest steps %v, want %v", got, want)
	}
}

// TestBenchPrivacySmall runs the benchmark on a small world: the increment
// is the last till month with its rows, both sides loaded both parts and
// their identity steps ran, and the ratios are the sides' quotients.
func TestBenchPrivacySmall(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := runCkm(t, "", "bench", "privacy", "--customers", "150", "--days", "40", "--dir", filepath.Join(dir, "b"), "--keep", "--format", "json")
	if code != 0 {
		t.Fatalf("bench privacy: exit %d %s", code, stderr)
	}
	var r benchPrivacyResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.IncrementRows <= 0 || r.IncrementRows >= r.SourceRows {
		t.Errorf("increment of %d rows out of %d", r.IncrementRows, r.SourceRows)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "b", "increment", "pos_sales_*.csv")); len(files) != 1 {
		t.Errorf("increment files %v, want the last till month", files)
	}
	for name, s := range map[string]privacySide{"clear": r.Clear, "protected": r.Protected} {
		if s.BaseSeconds <= 0 || s.IncrementSeconds <= 0 || s.IdentitySeconds <= 0 || s.IncIdentitySec <= 0 || s.CPUSeconds <= 0 {
			t.Errorf("%s: %+v; want every part timed", name, s)
		}
		if s.Steps["identity"] < s.IdentitySeconds || s.Steps["facts"] <= 0 {
			t.Errorf("%s: steps %v; want identity and facts timed", name, s.Steps)
		}
		if math.Abs(s.Seconds-(s.BaseSeconds+s.IncrementSeconds)) > 1e-9 {
			t.Errorf("%s: %v seconds, parts %v + %v", name, s.Seconds, s.BaseSeconds, s.IncrementSeconds)
		}
	}
	if math.Abs(r.Ratio-r.Protected.Seconds/r.Clear.Seconds) > 1e-9 || math.Abs(r.IncIdentityRatio-r.Protected.IncIdentitySec/r.Clear.IncIdentitySec) > 1e-9 {
		t.Errorf("ratios %+v", r)
	}
	// One run: its own ratios are the sides' quotients.
	if len(r.RunCPURatios) != 1 || math.Abs(r.RunCPURatios[0]-r.Protected.CPUSeconds/r.Clear.CPUSeconds) > 1e-9 ||
		r.MedianRunCPURatio != r.RunCPURatios[0] || len(r.RunRatios) != 1 || math.Abs(r.MedianRunRatio-r.Ratio) > 1e-9 {
		t.Errorf("run ratios %v (median %v), cpu %v (median %v)", r.RunRatios, r.MedianRunRatio, r.RunCPURatios, r.MedianRunCPURatio)
	}
}

// TestRunRatios: each run's protected/clear quotient, and their median,
// by hand.
func TestRunRatios(t *testing.T) {
	secs := func(v ...float64) []privacySide {
		s := make([]privacySide, len(v))
		for i, x := range v {
			s[i].CPUSeconds = x
		}
		return s
	}
	cpu := func(s privacySide) float64 { return s.CPUSeconds }
	rs, m := runRatios(secs(100, 50, 80), secs(130, 60, 80), cpu)
	if len(rs) != 3 || rs[0] != 1.3 || rs[1] != 1.2 || rs[2] != 1 || m != 1.2 {
		t.Errorf("three runs: %v median %v, want [1.3 1.2 1] median 1.2", rs, m)
	}
	if rs, m := runRatios(secs(100, 50), secs(130, 60), cpu); len(rs) != 2 || math.Abs(m-1.25) > 1e-12 {
		t.Errorf("two runs: %v median %v, want median 1.25", rs, m)
	}
	if rs, m := runRatios(nil, nil, cpu); rs != nil || m != 0 {
		t.Errorf("no runs: %v %v", rs, m)
	}
}

// TestBenchPrivacyTrace: under CKM_DEBUG_SQL the benchmark writes each
// load's statement trace to stderr, headed by its side and part, so the
// sides can be compared statement by statement — the seal statements in the
// protected side's traces only.
func TestBenchPrivacyTrace(t *testing.T) {
	t.Setenv("CKM_DEBUG_SQL", "1")
	_, stderr, code := runCkm(t, "", "bench", "privacy", "--customers", "150", "--days", "40", "--format", "json")
	if code != 0 {
		t.Fatalf("bench privacy: exit %d %s", code, stderr)
	}
	heads := []string{"clear, base", "clear, increment", "protected, base", "protected, increment"}
	sections := map[string]string{}
	rest := stderr
	for i, h := range heads {
		at := strings.Index(rest, "-- trace: "+h+"\n")
		if at < 0 {
			t.Fatalf("no trace headed %q (in order) in stderr:\n%s", h, stderr)
		}
		rest = rest[at+len("-- trace: "+h+"\n"):]
		end := len(rest)
		if i+1 < len(heads) {
			if n := strings.Index(rest, "-- trace: "+heads[i+1]+"\n"); n >= 0 {
				end = n
			}
		}
		sections[h] = rest[:end]
	}
	for h, s := range sections {
		if steps := traceStepSeconds([]byte(s)); steps["identity"] <= 0 {
			t.Errorf("%s: steps %v, want the identity step's statements", h, steps)
		}
		if sealed := strings.Contains(s, `identity "INSERT INTO vault_value`); sealed != strings.HasPrefix(h, "protected") {
			t.Errorf("%s: a seal statement in the trace: %v", h, sealed)
		}
	}
}
