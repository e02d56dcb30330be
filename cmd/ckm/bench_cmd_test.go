package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNewBenchETLCmd checks what ckm bench etl parses its flags and
// environment into, without generating anything.
func TestNewBenchETLCmd(t *testing.T) {
	cases := []parseCase[benchETLOptions]{
		{"defaults", nil, nil, benchETLOptions{benchWorld: benchWorld{customers: 220000, days: 365, seed: 1, runs: 1}, plainLines: 1000000}, ""},
		{"flags", nil, []string{"--customers", "100", "--days", "30", "--seed", "5", "--dir", "d", "--keep", "--plain-lines", "5000", "--runs", "3"},
			benchETLOptions{benchWorld: benchWorld{customers: 100, days: 30, seed: 5, dir: "d", keep: true, runs: 3}, plainLines: 5000}, ""},
		{"environment", map[string]string{"CKM_BENCH_ETL_DAYS": "60", "CKM_CUSTOMERS": "500", "CKM_BENCH_ETL_RUNS": "3"}, nil,
			benchETLOptions{benchWorld: benchWorld{customers: 500, days: 60, seed: 1, runs: 3}, plainLines: 1000000}, ""},
		{"zero customers", nil, []string{"--customers", "0"}, benchETLOptions{}, "--customers 0"},
		{"zero days", nil, []string{"--days", "0"}, benchETLOptions{}, "--days 0"},
		{"days not a number", nil, []string{"--days", "week"}, benchETLOptions{}, "--days"},
		{"too few plain lines", nil, []string{"--plain-lines", "99"}, benchETLOptions{}, "--plain-lines 99"},
		{"zero runs", nil, []string{"--runs", "0"}, benchETLOptions{}, "--runs 0"},
	}
	checkParse(t, []string{"bench"}, newBenchETLCmd, []string{"bench", "etl"}, func(o *benchETLOptions) { o.app = nil }, cases)
}

// TestNewBenchOLAPCmd checks what ckm bench olap parses its flags and
// environment into, without generating anything.
func TestNewBenchOLAPCmd(t *testing.T) {
	cases := []parseCase[benchOLAPOptions]{
		{"defaults: in memory", nil, nil, benchOLAPOptions{sf: 1, runs: 5}, ""},
		{"flags", nil, []string{"--sf", "0.01", "--runs", "1", "--bench-warehouse", "b.duckdb", "--reuse"},
			benchOLAPOptions{sf: 0.01, runs: 1, warehouse: "b.duckdb", reuse: true}, ""},
		{"environment", map[string]string{"CKM_BENCH_OLAP_RUNS": "3", "CKM_SF": "0.1"}, nil, benchOLAPOptions{sf: 0.1, runs: 3}, ""},
		{"zero sf", nil, []string{"--sf", "0"}, benchOLAPOptions{}, "--sf 0"},
		{"NaN sf", nil, []string{"--sf", "NaN"}, benchOLAPOptions{}, "--sf NaN"},
		{"zero runs", nil, []string{"--runs", "0"}, benchOLAPOptions{}, "--runs 0"},
		{"negative runs from the environment", map[string]string{"CKM_RUNS": "-2"}, nil, benchOLAPOptions{}, "--runs -2"},
		{"dbgen files", nil, []string{"--from", "/data/ssb", "--runs", "15"}, benchOLAPOptions{sf: 1, runs: 15, from: "/data/ssb"}, ""},
		{"dbgen files with a scale factor", nil, []string{"--from", "/data/ssb", "--sf", "1"}, benchOLAPOptions{}, "--sf 1 with --from /data/ssb"},
		{"dbgen files with reuse", nil, []string{"--from", "/data/ssb", "--reuse"}, benchOLAPOptions{}, "--reuse with --from /data/ssb"},
	}
	checkParse(t, []string{"bench"}, newBenchOLAPCmd, []string{"bench", "olap"}, func(o *benchOLAPOptions) { o.app = nil }, cases)
}

// TestNewBenchValueCmd checks what ckm bench value parses its flags and
// environment into, without generating anything.
func TestNewBenchValueCmd(t *testing.T) {
	cdnow := filepath.Join(t.TempDir(), "CDNOW_master.txt")
	if err := os.WriteFile(cdnow, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []parseCase[benchValueOptions]{
		{"defaults: the built-in CDNOW file", nil, nil, benchValueOptions{customers: 1000000, repeat: 3}, ""},
		{"flags", nil, []string{"--customers", "10", "--repeat", "1", "--cdnow", cdnow}, benchValueOptions{customers: 10, repeat: 1, cdnow: cdnow}, ""},
		{"environment", map[string]string{"CKM_BENCH_VALUE_REPEAT": "2", "CKM_CUSTOMERS": "200"}, nil, benchValueOptions{customers: 200, repeat: 2}, ""},
		{"too few customers", nil, []string{"--customers", "9"}, benchValueOptions{}, "--customers 9"},
		{"zero repeat", nil, []string{"--repeat", "0"}, benchValueOptions{}, "--repeat 0"},
		{"missing CDNOW file", nil, []string{"--cdnow", cdnow + ".none"}, benchValueOptions{}, "--cdnow"},
	}
	checkParse(t, []string{"bench"}, newBenchValueCmd, []string{"bench", "value"}, func(o *benchValueOptions) { o.app = nil }, cases)
}

// TestNewRawGoCmd checks that the hidden ckm bench-raw-go takes exactly
// one directory.
func TestNewRawGoCmd(t *testing.T) {
	got, err := parseOpts(t, nil, newRawGoCmd, "bench-raw-go", "exports")
	if err != nil || got.dir != "exports" {
		t.Fatalf("err %v, options %+v; want dir exports", err, got)
	}
	_, err = parseOpts(t, nil, newRawGoCmd, "bench-raw-go")
	wantUsageError(t, err, "accepts 1 arg")
}

// TestNewRawLoadCmd checks that the hidden ckm bench-raw-load takes exactly
// one directory.
func TestNewRawLoadCmd(t *testing.T) {
	got, err := parseOpts(t, nil, newRawLoadCmd, "bench-raw-load", "exports")
	if err != nil || got.dir != "exports" {
		t.Fatalf("err %v, options %+v; want dir exports", err, got)
	}
	_, err = parseOpts(t, nil, newRawLoadCmd, "bench-raw-load")
	wantUsageError(t, err, "accepts 1 arg")
}
