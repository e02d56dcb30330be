package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewFixturesSSBCmd checks what ckm fixtures ssb parses its flags and
// environment into, without a warehouse.
func TestNewFixturesSSBCmd(t *testing.T) {
	cases := []parseCase[fixturesSSBOptions]{
		{"defaults", nil, nil, fixturesSSBOptions{sf: 1}, ""},
		{"flags", nil, []string{"--sf", "0.01", "--rollups"}, fixturesSSBOptions{sf: 0.01, rollups: true}, ""},
		{"environment", map[string]string{"CKM_FIXTURES_SSB_SF": "0.1", "CKM_ROLLUPS": "true"}, nil, fixturesSSBOptions{sf: 0.1, rollups: true}, ""},
		{"zero", nil, []string{"--sf", "0"}, fixturesSSBOptions{}, "--sf 0"},
		{"negative", nil, []string{"--sf", "-1"}, fixturesSSBOptions{}, "--sf -1"},
		{"NaN", nil, []string{"--sf", "NaN"}, fixturesSSBOptions{}, "--sf NaN"},
		{"Inf from the environment", map[string]string{"CKM_SF": "Inf"}, nil, fixturesSSBOptions{}, "--sf +Inf"},
		{"not a number", nil, []string{"--sf", "big"}, fixturesSSBOptions{}, "--sf"},
		{"from dbgen files", nil, []string{"--from", "/data/ssb"}, fixturesSSBOptions{sf: 1, from: "/data/ssb"}, ""},
		{"from in the environment", map[string]string{"CKM_FIXTURES_SSB_FROM": "/data/ssb"}, nil, fixturesSSBOptions{sf: 1, from: "/data/ssb"}, ""},
		{"from with a scale factor", nil, []string{"--from", "/data/ssb", "--sf", "2"}, fixturesSSBOptions{}, "--sf 2 with --from /data/ssb"},
	}
	checkParse(t, []string{"fixtures"}, newFixturesSSBCmd, []string{"fixtures", "ssb"}, func(o *fixturesSSBOptions) { o.app = nil }, cases)
}

// dbgenSample is the committed sample of real ssb-dbgen SF 1 output.
func dbgenSample(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../fixtures/ssb/testdata/dbgen")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFixturesSSBFrom loads the dbgen sample with ckm fixtures ssb --from
// and checks the rows per table against the files' lines; a directory
// without part.tbl fails (exit 1) naming it and keeps the tables loaded.
func TestFixturesSSBFrom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.duckdb")
	if _, stderr, code := runCkm(t, "", "init", "--warehouse", path); code != exitOK {
		t.Fatalf("init: %d %s", code, stderr)
	}
	sample := dbgenSample(t)
	out, stderr, code := runCkm(t, "", "--warehouse", path, "--format", "csv", "fixtures", "ssb", "--from", sample)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "table,rows\ndate,778\ncustomer,977\nsupplier,738\npart,1014\nlineorder,1021\n"
	if out != want {
		t.Errorf("output\n%s\nwant\n%s", out, want)
	}
	broken := t.TempDir()
	for _, table := range []string{"date", "customer", "supplier", "lineorder"} {
		b, err := os.ReadFile(filepath.Join(sample, table+".tbl"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(broken, table+".tbl"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, stderr, code = runCkm(t, "", "--warehouse", path, "fixtures", "ssb", "--from", broken)
	if code != exitFailure || !strings.Contains(stderr, "part.tbl") {
		t.Errorf("without part.tbl: exit %d (want %d naming part.tbl): %s", code, exitFailure, stderr)
	}
	out, stderr, code = runCkm(t, "", append(append([]string{"--warehouse", path, "--format", "csv", "sql"}, asAdmin(t)...), "-c", "SELECT count(*) AS n FROM lineorder")...)
	if code != exitOK || out != "n\n1021\n" {
		t.Errorf("after the failed load: exit %d, %q (want the 1021 rows loaded before): %s", code, out, stderr)
	}
}
