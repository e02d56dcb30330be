package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewReportCmd(t *testing.T) {
	day := time.Date(2024, 9, 30, 0, 0, 0, 0, time.Local)
	cases := []parseCase[reportOptions]{
		{"defaults", nil, nil, reportOptions{out: "report.html"}, ""},
		{"flags", nil, []string{"--out", "q3.html", "--as-of", "2024-09-30"}, reportOptions{out: "q3.html", asOf: day}, ""},
		{"environment", map[string]string{"CKM_REPORT_OUT": "env.html", "CKM_REPORT_AS_OF": "2024-09-30"}, nil, reportOptions{out: "env.html", asOf: day}, ""},
		{"empty out", nil, []string{"--out", ""}, reportOptions{}, "--out"},
		{"bad date", nil, []string{"--as-of", "30.9.2024"}, reportOptions{}, `--as-of "30.9.2024"`},
	}
	checkParse(t, nil, newReportCmd, []string{"report"}, func(o *reportOptions) { o.app = nil }, cases)
}

func TestReportCommand(t *testing.T) {
	wh := sqlWarehouse(t) // two customers, no sales
	out := filepath.Join(t.TempDir(), "r.html")
	stdout, stderr, code := runCkm(t, "", "report", "--warehouse", wh, "--out", out)
	if code != 0 || strings.TrimSpace(stdout) != out {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.Contains(page, `data-empty="revenue"`) || !strings.Contains(page, "No sales in the warehouse yet") {
		t.Errorf("report of a warehouse without sales lacks its no-data section")
	}
	// Missing warehouse: a failure naming it, no file written.
	missing := filepath.Join(t.TempDir(), "none.duckdb")
	out2 := filepath.Join(t.TempDir(), "r2.html")
	if _, stderr, code := runCkm(t, "", "report", "--warehouse", missing, "--out", out2); code != 1 || !strings.Contains(stderr, "none.duckdb") {
		t.Errorf("missing warehouse: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Error("a report was written for a missing warehouse")
	}
	// A directory that does not exist: a clear failure.
	if _, stderr, code := runCkm(t, "", "report", "--warehouse", wh, "--out", filepath.Join(t.TempDir(), "no", "such", "r.html")); code != 1 || !strings.Contains(stderr, "report:") {
		t.Errorf("bad --out: exit %d, %s", code, stderr)
	}
}
