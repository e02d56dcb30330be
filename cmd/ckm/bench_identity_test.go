package main

import "testing"

// TestNewBenchIdentityCmd checks what ckm bench identity parses its flags
// and environment into, without generating anything.
func TestNewBenchIdentityCmd(t *testing.T) {
	cases := []parseCase[benchIdentityOptions]{
		{"defaults", nil, nil, benchIdentityOptions{persons: 50000, days: 365, seed: 1}, ""},
		{"flags", nil, []string{"--persons", "100", "--days", "30", "--seed", "5", "--dir", "d", "--keep"},
			benchIdentityOptions{persons: 100, days: 30, seed: 5, dir: "d", keep: true}, ""},
		{"environment", map[string]string{"CKM_BENCH_IDENTITY_DAYS": "60", "CKM_PERSONS": "500"}, nil, benchIdentityOptions{persons: 500, days: 60, seed: 1}, ""},
		{"zero persons", nil, []string{"--persons", "0"}, benchIdentityOptions{}, "--persons 0"},
		{"too many persons", nil, []string{"--persons", "2000000"}, benchIdentityOptions{}, "--persons 2000000"},
		{"zero days", nil, []string{"--days", "0"}, benchIdentityOptions{}, "--days 0"},
	}
	checkParse(t, []string{"bench"}, newBenchIdentityCmd, []string{"bench", "identity"}, func(o *benchIdentityOptions) { o.app = nil }, cases)
}
