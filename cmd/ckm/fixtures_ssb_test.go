package main

import (
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
