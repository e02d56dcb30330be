package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/fixtures"
)

func TestFixturesGenerateCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "exports")
	stdout, stderr, code := runCkm(t, "", "fixtures", "generate", "--out", out, "--customers", "150", "--days", "45",
		"--seed", "9", "--start", "2024-11-01", "--quiet", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		ExportDate        string           `json:"export_date"`
		DistinctCustomers int64            `json:"distinct_customers"`
		NetRevenue        string           `json:"net_revenue"`
		Files             []map[string]any `json:"files"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	exp, err := fixtures.ReadExpected(out)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ExportDate != "2024-12-16" || doc.DistinctCustomers != exp.DistinctCustomers || doc.NetRevenue != exp.NetRevenue {
		t.Errorf("summary %+v does not match expected.json", doc)
	}
	// 6 fixed exports and POS files for November and December.
	if len(doc.Files) != 8 {
		t.Errorf("%d files in the summary, want 8", len(doc.Files))
	}
	for _, f := range doc.Files {
		st, err := os.Stat(filepath.Join(out, f["file"].(string)))
		if err != nil || float64(st.Size()) != f["bytes"].(float64) {
			t.Errorf("%v: on disk %v, %v", f, st, err)
		}
	}

	for _, c := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no --out", nil, "--out is required"},
		{"bad start", []string{"--out", out, "--start", "2024-02-30"}, "want YYYY-MM-DD"},
		{"too many", []string{"--out", out, "--customers", "2000000"}, "--customers 2000000"},
		{"no days", []string{"--out", out, "--days", "-1"}, "--days -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCkm(t, "", append([]string{"fixtures", "generate"}, c.args...)...)
			if code != 2 || !strings.Contains(stderr, c.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, c.stderr)
			}
		})
	}
}

// TestNewFixturesGenerateCmd checks the generator options ckm fixtures
// generate parses its flags and environment into, without generating.
func TestNewFixturesGenerateCmd(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want fixtures.Options
		err  string
	}{
		{"defaults", nil, []string{"--out", "x"}, fixtures.Options{Out: "x", Customers: 1000, Days: 365, Seed: 1, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, ""},
		{"flags", nil, []string{"--out", "x", "--customers", "5", "--days", "7", "--seed", "3", "--start", "2023-02-01"},
			fixtures.Options{Out: "x", Customers: 5, Days: 7, Seed: 3, Start: time.Date(2023, 2, 1, 0, 0, 0, 0, time.UTC)}, ""},
		{"hard cases", nil, []string{"--out", "x", "--hard-cases"},
			fixtures.Options{Out: "x", Customers: 1000, Days: 365, Seed: 1, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), HardCases: true}, ""},
		{"companions", nil, []string{"--out", "x", "--companions"},
			fixtures.Options{Out: "x", Customers: 1000, Days: 365, Seed: 1, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Companions: true}, ""},
		{"environment", map[string]string{"CKM_FIXTURES_GENERATE_OUT": "y", "CKM_CUSTOMERS": "9"}, nil,
			fixtures.Options{Out: "y", Customers: 9, Days: 365, Seed: 1, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, ""},
		{"no --out", nil, nil, fixtures.Options{}, "--out is required"},
		{"zero customers", nil, []string{"--out", "x", "--customers", "0"}, fixtures.Options{}, "--customers 0"},
		{"zero days", nil, []string{"--out", "x", "--days", "0"}, fixtures.Options{}, "--days 0"},
		{"bad start", nil, []string{"--out", "x", "--start", "1.2.2024"}, fixtures.Options{}, "--start"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var got *fixturesGenerateOptions
			err := parseWith(t, []string{"fixtures"}, func(a *app) *cobra.Command {
				return newFixturesGenerateCmd(a, func(_ context.Context, o *fixturesGenerateOptions) error { got = o; return nil })
			}, append([]string{"fixtures", "generate", "--quiet"}, c.args...)...)
			if c.err != "" {
				var ue usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want a usage error with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := got.gen
			if g.Out != c.want.Out || g.Customers != c.want.Customers || g.Days != c.want.Days || g.Seed != c.want.Seed || !g.Start.Equal(c.want.Start) || g.Logf != nil || g.HardCases != c.want.HardCases {
				t.Errorf("options %+v, want %+v", g, c.want)
			}
		})
	}
}
