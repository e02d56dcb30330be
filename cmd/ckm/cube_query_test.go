package main

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

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

// TestNewCubeQueryCmd checks the query ckm cube query and cube explain parse
// their flags and environment into, without a warehouse.
func TestNewCubeQueryCmd(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(q olap.Query) bool
		err   string
	}{
		{"measures, rows, totals", nil, []string{"sales", "--measures", "revenue,customers", "--rows", "region.province", "--totals"},
			func(q olap.Query) bool {
				return q.Cube == "sales" && slices.Equal(q.Measures, []string{"revenue", "customers"}) && slices.Equal(q.Rows, []string{"region.province"}) && q.Totals
			}, ""},
		{"where and order repeat", nil, []string{"sales", "--measures", "revenue", "--where", "region.city=Shenzhen", "--where", "date.year>=2024", "--order", "-revenue"},
			func(q olap.Query) bool { return len(q.Where) == 2 && len(q.Order) == 1 }, ""},
		{"drill-through pages with --limit", nil, []string{"sales", "--through", "order_id,amount", "--limit", "20", "--offset", "40"},
			func(q olap.Query) bool {
				return q.Through != nil && slices.Equal(q.Through.Columns, []string{"order_id", "amount"}) && q.Through.Limit == 20 && q.Through.Offset == 40 && q.Limit == 0
			}, ""},
		{"limit from the environment", map[string]string{"CKM_CUBE_QUERY_LIMIT": "5", "CKM_CUBE_EXPLAIN_LIMIT": "5"}, []string{"sales", "--measures", "revenue"},
			func(q olap.Query) bool { return q.Limit == 5 }, ""},
		{"negative limit", nil, []string{"sales", "--limit", "-1"}, nil, "--limit -1"},
		{"negative offset", nil, []string{"sales", "--offset", "-1"}, nil, "--offset -1"},
		{"bad filter", nil, []string{"sales", "--where", "region.city"}, nil, "--where"},
		{"bad top", nil, []string{"sales", "--top", "x"}, nil, "--top"},
		{"missing query file", nil, []string{"sales", "--query", filepath.Join(t.TempDir(), "none.json")}, nil, "--query"},
	}
	for _, sub := range []struct {
		name  string
		build func(*app, func(context.Context, *cubeQueryOptions) error) *cobra.Command
	}{{"query", newCubeQueryCmd}, {"explain", newCubeExplainCmd}} {
		for _, c := range cases {
			t.Run(sub.name+" "+c.name, func(t *testing.T) {
				for k, v := range c.env {
					t.Setenv(k, v)
				}
				var got *cubeQueryOptions
				err := parseWith(t, []string{"cube"}, func(a *app) *cobra.Command {
					return sub.build(a, func(_ context.Context, o *cubeQueryOptions) error { got = o; return nil })
				}, append([]string{"cube", sub.name}, c.args...)...)
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
				if !c.check(got.q) {
					t.Errorf("query %+v", got.q)
				}
			})
		}
	}
}
