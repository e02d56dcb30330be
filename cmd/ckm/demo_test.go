package main

import "testing"

// TestNewDemoCmd checks what ckm demo parses its flags and environment
// into, without generating or loading anything.
func TestNewDemoCmd(t *testing.T) {
	cases := []parseCase[demoOptions]{
		{"defaults", nil, nil, demoOptions{dir: "ckm-demo", customers: 2000, seed: 1}, ""},
		{"flags", nil, []string{"--dir", "d", "--customers", "50", "--seed", "0"}, demoOptions{dir: "d", customers: 50, seed: 0}, ""},
		{"environment", map[string]string{"CKM_DEMO_CUSTOMERS": "300", "CKM_SEED": "7", "CKM_DEMO_DIR": "envdir"}, nil, demoOptions{dir: "envdir", customers: 300, seed: 7}, ""},
		{"empty dir", nil, []string{"--dir", ""}, demoOptions{}, "--dir"},
		{"zero customers", nil, []string{"--customers", "0"}, demoOptions{}, "--customers 0"},
		{"too many customers", nil, []string{"--customers", "999999999"}, demoOptions{}, "--customers 999999999"},
		{"seed not a number", nil, []string{"--seed", "x"}, demoOptions{}, "--seed"},
	}
	checkParse(t, nil, newDemoCmd, []string{"demo"}, func(o *demoOptions) { o.app = nil }, cases)
}
