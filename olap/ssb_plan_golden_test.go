package olap

import (
	"context"
	"strings"
	"testing"
)

// TestSSBPlanGolden keeps DuckDB's physical plan of each of the 13 SSB
// cube queries on ckm's SSB at SF 0.01 (operators, join order and
// conditions, scans and filters; no costs, timings or cardinalities) in
// testdata/ssb_plans.golden, so a change of the compiler or of DuckDB that
// changes a plan shows up in review (go test ./olap -update rewrites it).
func TestSSBPlanGolden(t *testing.T) {
	w := ssbWarehouse(t, 0.01)
	cube := builtinCube(t, "ssb")
	ctx := context.Background()
	var b strings.Builder
	for _, sq := range SSBQueries {
		q := sq.Query
		q.NoRollups = true
		text, args, err := Compile(cube, q)
		if err != nil {
			t.Fatal(err)
		}
		shape, err := planShape(ctx, w.DB, text, args)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("== " + sq.Name + "\n" + shape)
	}
	checkGolden(t, "ssb_plans.golden", "the plans of the SSB cube queries", b.String())
}
