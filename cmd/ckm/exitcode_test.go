package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodes runs the ckm binary and checks the exit codes of the CLI
// contract for every command: a usage error exits 2, a failure 1, success 0,
// and a load that rejects rows 3. The successes run on one small demo
// warehouse.
func TestExitCodes(t *testing.T) {
	bin := ckmBinary(t)
	dir := t.TempDir()
	wh := filepath.Join(dir, "demo.duckdb")
	none := filepath.Join(dir, "none", "none.duckdb")
	fresh := func(name string) string { return filepath.Join(dir, name) }
	clean := fresh("pos_sales_clean.csv")
	os.WriteFile(clean, []byte(posHeader+posRows(3)), 0o644)
	noCDNOW := fresh("cdnow.txt")
	os.WriteFile(noCDNOW, []byte("no purchases here\n"), 0o644)
	run := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CKM_WAREHOUSE="+wh)
		out, err := cmd.CombinedOutput()
		return exitOf(err), string(out)
	}
	code, out := run("demo", "--customers", "100", "--dir", fresh("demo"))
	if code != exitOK {
		t.Fatalf("demo: exit %d\n%s", code, lastLines(out, 10))
	}
	// The demo writes the report too, and says where.
	if st, err := os.Stat(filepath.Join(fresh("demo"), "report.html")); err != nil || st.Size() == 0 || !strings.Contains(out, filepath.Join("demo", "report.html")) {
		t.Errorf("demo report: %v; output:\n%s", err, lastLines(out, 4))
	}
	cases := []struct {
		command string
		usage   []string // the arguments after the command
		failure []string // nil: the command cannot fail on its own
		success []string
	}{
		{"init", []string{"extra"}, []string{"--warehouse", "/dev/null/w.duckdb"}, []string{"--warehouse", fresh("init.duckdb")}},
		{"version", []string{"extra"}, nil, []string{}},
		{"load", []string{"--warehouse", fresh("load-usage.duckdb")}, []string{fresh("nope.csv")}, []string{"--warehouse", fresh("load.duckdb"), clean, "--as-of", "2024-12-31"}},
		{"demo", []string{"--customers", "0"}, []string{"--dir", "/dev/null", "--customers", "50", "--warehouse", fresh("demo2.duckdb")}, nil},
		{"sql", []string{"-c", "SELECT 1", "-f", "x.sql"}, []string{"-c", "SELECT nope"}, []string{"-c", "SELECT 1"}},
		{"runs", []string{"extra"}, []string{"--warehouse", none}, []string{}},
		{"rejects", []string{"--role", "root"}, []string{"--warehouse", none}, []string{}},
		{"rejects summary", []string{"extra"}, []string{"--warehouse", none}, []string{}},
		{"cube list", []string{"extra"}, []string{"--warehouse", none}, []string{}},
		{"cube show", []string{"nosuch"}, nil, []string{"sales"}}, // reads only the cube model
		{"cube query", []string{}, []string{"sales", "--measures", "revenue", "--warehouse", none}, []string{"sales", "--measures", "revenue"}},
		{"cube explain", []string{}, []string{"sales", "--measures", "revenue", "--warehouse", none}, []string{"sales", "--measures", "revenue"}},
		{"cube advise", []string{}, []string{"sales", "--warehouse", none}, []string{"sales"}},
		{"cube refresh", []string{}, []string{"sales", "--warehouse", none}, []string{"sales"}},
		{"mine rfm", []string{"--window-days", "-1"}, []string{"--warehouse", none}, []string{}},
		{"mine clv", []string{"--horizon-weeks", "0"}, []string{"--warehouse", none}, []string{}},
		{"mine churn", []string{"--top-deciles", "0"}, []string{"--warehouse", none}, []string{}},
		{"mine lifecycle", []string{"--churn-days", "0"}, []string{"--warehouse", none}, []string{}},
		{"mine profit", []string{"--service-cost", "NaN"}, []string{"--warehouse", none}, []string{}},
		{"mine anomaly", []string{"--jump", "0"}, []string{"--warehouse", none}, []string{}},
		{"report", []string{"--as-of", "yesterday"}, []string{"--out", fresh("r-none.html"), "--warehouse", none}, []string{"--out", fresh("report.html")}},
		{"export parquet", []string{}, []string{"--out", fresh("lake-none"), "--warehouse", none}, []string{"--out", fresh("lake")}},
		{"fixtures generate", []string{"--customers", "0", "--out", fresh("fx0")}, []string{"--out", "/dev/null/fx", "--customers", "5"}, []string{"--out", fresh("fx"), "--customers", "20", "--days", "10", "--quiet"}},
		{"fixtures ssb", []string{"--sf", "0"}, []string{"--sf", "0.01", "--warehouse", "/dev/null/w.duckdb"}, []string{"--sf", "0.01", "--warehouse", fresh("ssb.duckdb")}},
		{"bench etl", []string{"--customers", "-1"}, []string{"--customers", "200", "--days", "30", "--dir", "/dev/null/bench"}, []string{"--customers", "200", "--days", "30", "--plain-lines", "2000"}},
		{"bench olap", []string{"--sf", "0"}, []string{"--sf", "0.01", "--runs", "1", "--bench-warehouse", "/dev/null/w.duckdb"}, []string{"--sf", "0.01", "--runs", "1"}},
		{"bench value", []string{"--customers", "5"}, []string{"--customers", "200", "--repeat", "1", "--cdnow", noCDNOW}, []string{"--customers", "200", "--repeat", "1"}},
	}
	for _, c := range cases {
		t.Run(c.command, func(t *testing.T) {
			words := strings.Fields(c.command)
			check := func(what string, args []string, want int) {
				t.Helper()
				if code, out := run(append(words, args...)...); code != want {
					t.Errorf("%s (%s): exit %d, want %d\n%s", what, strings.Join(args, " "), code, want, lastLines(out, 5))
				}
			}
			check("usage error", c.usage, exitUsage)
			check("unknown flag", []string{"--no-such-flag"}, exitUsage)
			check("bad --format", []string{"--format", "xml"}, exitUsage)
			if c.failure != nil {
				check("failure", c.failure, exitFailure)
			}
			if c.success != nil {
				check("success", c.success, exitOK)
			}
		})
	}
	t.Run("load rejects", func(t *testing.T) {
		if code, out := run("load", "--warehouse", fresh("rejects.duckdb"), clean, "--as-of", "2000-01-01"); code != exitRejected {
			t.Errorf("exit %d, want %d\n%s", code, exitRejected, lastLines(out, 5))
		}
	})
}
