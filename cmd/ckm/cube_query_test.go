package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/olap"
)

func TestCubeCLIOnSSB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ssb.duckdb")
	if out, stderr, code := runCkm(t, "", "--warehouse", path, "fixtures", "ssb", "--sf", "0.01", "--rollups"); code != 0 || !strings.Contains(out, "lineorder") {
		t.Fatalf("fixtures ssb: %d %s %s", code, out, stderr)
	}
	out, stderr, code := runCkm(t, "", "--warehouse", path, "--format", "csv", "cube", "query", "ssb", "--measures", "revenue",
		"--rows", "date.year", "--where", "customer.region=ASIA", "--where", "date.year between 1993,1995")
	if code != 0 {
		t.Fatalf("cube query: %d %s", code, stderr)
	}
	// The same figures by hand.
	ctx := context.Background()
	w, err := engine.Open(ctx, path, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := olap.Run(ctx, w, `SELECT d_year, sum(lo_revenue) FROM lineorder JOIN "date" ON lo_orderdate = d_datekey JOIN customer ON lo_custkey = c_custkey
		WHERE c_region = 'ASIA' AND d_year BETWEEN 1993 AND 1995 GROUP BY d_year ORDER BY d_year`, nil)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := "date.year,revenue\n"
	for _, r := range rows {
		want += cell(r[0]) + "," + cell(r[1]) + "\n"
	}
	if out != want {
		t.Fatalf("cube query csv:\n%s\nwant:\n%s", out, want)
	}
	// Pivot with subtotals renders a grid with indented members.
	out, _, code = runCkm(t, "", "--warehouse", path, "cube", "query", "ssb", "--measures", "lines", "--rows", "customer.region",
		"--drill", "customer.region=ASIA", "--cols", "date.year", "--totals")
	if code != 0 || !strings.Contains(out, "Total") || !strings.Contains(out, "\n  CHINA") || !strings.Contains(out, "1998") {
		t.Fatalf("pivot grid (%d):\n%s", code, out)
	}
	out, _, code = runCkm(t, "", "--warehouse", path, "cube", "explain", "ssb", "--measures", "revenue", "--rows", "customer.nation")
	if code != 0 || !strings.Contains(out, "source: rollup year_nations") || !strings.Contains(out, "rejected rollup year_regions: level customer.nation is not in the rollup") {
		t.Fatalf("explain (%d):\n%s", code, out)
	}
	for _, bad := range [][]string{
		{"cube", "query", "nosuch", "--measures", "revenue"},
		{"cube", "query", "ssb", "--measures", "revenue", "--rows", "date.century"},
		{"cube", "query", "ssb", "--measures", "revenue", "--where", "date.year"},
		{"cube", "query", "ssb", "--measures", "revenue", "--top", "date.year:x:revenue"},
	} {
		if _, stderr, code := runCkm(t, "", append([]string{"--warehouse", path}, bad...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", bad, code, exitUsage, stderr)
		}
	}
	out, _, code = runCkm(t, "", "--warehouse", path, "cube", "list")
	if code != 0 || !strings.Contains(out, "ssb") || !strings.Contains(out, "builtin:ssb.yaml           ok") {
		t.Fatalf("cube list (%d):\n%s", code, out)
	}
}
