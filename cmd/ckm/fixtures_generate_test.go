package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
