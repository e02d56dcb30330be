package main

import "testing"

// TestNewDemoCmd checks what ckm demo parses its flags and environment
// into, without generating or loading anything.
func TestNewDemoCmd(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want demoOptions
		err  string
	}{
		{"defaults", nil, nil, demoOptions{dir: "ckm-demo", customers: 2000, seed: 1}, ""},
		{"flags", nil, []string{"--dir", "d", "--customers", "50", "--seed", "0"}, demoOptions{dir: "d", customers: 50, seed: 0}, ""},
		{"environment", map[string]string{"CKM_DEMO_CUSTOMERS": "300", "CKM_SEED": "7", "CKM_DEMO_DIR": "envdir"}, nil, demoOptions{dir: "envdir", customers: 300, seed: 7}, ""},
		{"empty dir", nil, []string{"--dir", ""}, demoOptions{}, "--dir"},
		{"zero customers", nil, []string{"--customers", "0"}, demoOptions{}, "--customers 0"},
		{"too many customers", nil, []string{"--customers", "999999999"}, demoOptions{}, "--customers 999999999"},
		{"seed not a number", nil, []string{"--seed", "x"}, demoOptions{}, "--seed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			got, err := parseOpts(t, nil, newDemoCmd, append([]string{"demo"}, c.args...)...)
			if c.err != "" {
				wantUsageError(t, err, c.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.app = nil
			if *got != c.want {
				t.Errorf("options %+v, want %+v", *got, c.want)
			}
		})
	}
}
