package olap

import (
	"context"
	"regexp"
	"testing"

	"github.com/ckm-dev/ckm/fixtures/ssb"
)

// orderKeys is the ORDER_BY operator's key list: the cube orders by its
// output names and breaks the ties the hand-written SQL leaves (Q3.x order
// by year and revenue only), so the keys differ while the plan does not.
var orderKeys = regexp.MustCompile(`(ORDER_BY|TOP_N) \[[^\n]*\]`)

// TestSSBPlansMatchHandSQL checks on ckm's SSB at SF 0.01 that DuckDB runs
// each of the 13 SSB cube queries with the physical plan of the standard
// hand-written SQL: the same operators, joins in the same order on the
// same conditions, the same scans and filters.
func TestSSBPlansMatchHandSQL(t *testing.T) {
	w := ssbWarehouse(t, 0.01)
	cube := builtinCube(t, "ssb")
	ctx := context.Background()
	for i, sq := range SSBQueries {
		t.Run(sq.Name, func(t *testing.T) {
			q := sq.Query
			q.NoRollups = true
			text, args, err := Compile(cube, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := planShape(ctx, w.DB, text, args)
			if err != nil {
				t.Fatal(err)
			}
			want, err := planShape(ctx, w.DB, ssb.Queries[i].SQL, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, want = orderKeys.ReplaceAllString(got, "$1"), orderKeys.ReplaceAllString(want, "$1")
			if got != want {
				t.Errorf("the cube query's plan is not the hand-written SQL's\n-- cube:\n%s-- hand-written:\n%s-- cube SQL:\n%s", got, want, text)
			}
		})
	}
}
