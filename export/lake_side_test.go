package export

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestLakeSideSnapshot: an incremental export of a protected warehouse
// exports the masked dim_customer on a second connection, and the lake
// is the same as a full export's. When a write commits between the start
// of the export's transaction and the second connection's, the second
// connection is not used (its snapshot would hold the write), and the
// lake holds the warehouse as it was when the export began: the write is
// in the next export, not this one. Reading dim_customer on the second
// connection regardless fails the test (the lake shows "between").
func TestLakeSideSnapshot(t *testing.T) {
	ctx := context.Background()
	w := protectedLoad(t)
	dir := filepath.Join(t.TempDir(), "lake")
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	var keys []int64
	rows, err := w.DB.QueryContext(ctx, `SELECT customer_key FROM main.dim_customer ORDER BY customer_key LIMIT 3`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k int64
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	if len(keys) != 3 {
		t.Fatalf("%d customers", len(keys))
	}
	set := func(key int64, level string) {
		t.Helper()
		if _, err := w.DB.ExecContext(ctx, `UPDATE main.dim_customer SET member_level = ? WHERE customer_key = ?`, level, key); err != nil {
			t.Fatal(err)
		}
	}
	level := func(key int64) string {
		t.Helper()
		snap, err := OpenLakeSnapshot(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := w.DB.QueryRowContext(ctx, `SELECT member_level FROM `+overFiles(t, snap.Tables["dim_customer"])+` WHERE customer_key = ?`, key).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	set(keys[0], "side")
	res, err := Lake(ctx, w, LakeOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.SideTables, []string{"dim_customer"}) {
		t.Errorf("exported on the second connection: %v, want [dim_customer]", res.SideTables)
	}
	if got := level(keys[0]); got != "side" {
		t.Errorf("the lake's customer %d has member level %q, want side", keys[0], got)
	}
	sameAsFull(t, w, dir, "second connection")

	set(keys[1], "before")
	lakeBetweenPins = func() { set(keys[2], "between") }
	res, err = Lake(ctx, w, LakeOptions{Dir: dir})
	lakeBetweenPins = nil
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SideTables) != 0 {
		t.Errorf("a write committed between the two transactions' starts, yet %v were exported on the second connection", res.SideTables)
	}
	if got := level(keys[1]); got != "before" {
		t.Errorf("the lake's customer %d has member level %q, want before (committed before the export)", keys[1], got)
	}
	if got := level(keys[2]); got == "between" {
		t.Errorf("the lake's customer %d has member level %q, committed after the export's snapshot", keys[2], got)
	}
	res, err = Lake(ctx, w, LakeOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.SideTables, []string{"dim_customer"}) {
		t.Errorf("the next export, with no write between: %v on the second connection, want [dim_customer]", res.SideTables)
	}
	if got := level(keys[2]); got != "between" {
		t.Errorf("the next export: customer %d has member level %q, want between", keys[2], got)
	}
	sameAsFull(t, w, dir, "after the write between")
}
