package tree

import (
	"context"
	"database/sql/driver"
	"math"
	"testing"
)

// missingDepths walks the branches a row's weight reaches and returns the
// depths (root 0) of the tests whose value it lacks.
func (t *Tree) missingDepths(n *Node, r Row, depth int, out *[]int) {
	if n.Leaf() {
		return
	}
	if b := t.branch(n, r); b >= 0 {
		t.missingDepths(n.Children[b], r, depth+1, out)
		return
	}
	*out = append(*out, depth)
	for _, ch := range n.Children {
		t.missingDepths(ch, r, depth+1, out)
	}
}

// TestCaseSQLMissingEverywhere scores 4,000 generated customers whose
// values are missing in several attributes at once — as NULL, NaN, or a
// nominal value the tree never saw — and whose numeric values sit on the
// tree's thresholds and one double either side of the left branch's edge,
// and asserts the CASE class and both ProbabilitySQL values equal Predict
// and Probabilities exactly on every row. It also asserts the damage
// reaches the fractional path deep in the tree and on several tests per
// row, so the comparison covers it.
func TestCaseSQLMissingEverywhere(t *testing.T) {
	train, err := GenerateChurn(5000, 11)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := C45(context.Background(), train, C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := GenerateChurn(4000, 12)
	if err != nil {
		t.Fatal(err)
	}
	thresholds := make([][]float64, len(tr.Attrs))
	var collect func(n *Node)
	collect = func(n *Node) {
		if n.Leaf() {
			return
		}
		if tr.Attrs[n.Attr].Numeric {
			l := leftMost(n.Threshold)
			thresholds[n.Attr] = append(thresholds[n.Attr], n.Threshold, l, math.Nextafter(l, math.Inf(1)))
		}
		for _, ch := range n.Children {
			collect(ch)
		}
	}
	collect(tr.Root)

	ctx := context.Background()
	conn, app, names := featureTable(t, tr.Attrs)
	goRows := make([]Row, ds.Rows())
	deep, several := 0, 0
	for i := 0; i < ds.Rows(); i++ {
		r := RowOf(ds, i)
		vals := []driver.Value{int64(i)}
		for a, at := range tr.Attrs {
			gone := (i*7+a*13)%5 == 0
			switch {
			case at.Numeric && gone && (i+a)%2 == 0:
				r.Numeric[a] = math.NaN()
				vals = append(vals, nil)
			case at.Numeric && gone:
				r.Numeric[a] = math.NaN()
				vals = append(vals, math.NaN())
			case at.Numeric && i%4 == 1 && len(thresholds[a]) > 0:
				r.Numeric[a] = thresholds[a][(i/4)%len(thresholds[a])]
				vals = append(vals, r.Numeric[a])
			case at.Numeric && math.IsNaN(r.Numeric[a]):
				vals = append(vals, nil)
			case at.Numeric:
				vals = append(vals, r.Numeric[a])
			case gone && (i+a)%2 == 0:
				r.Nominal[a] = -1
				vals = append(vals, nil)
			case gone:
				r.Nominal[a] = -1
				vals = append(vals, "never-seen")
			case r.Nominal[a] < 0:
				vals = append(vals, nil)
			default:
				vals = append(vals, at.Values[r.Nominal[a]])
			}
		}
		if err := app.AppendRow(vals...); err != nil {
			t.Fatal(err)
		}
		goRows[i] = r
		var depths []int
		tr.missingDepths(tr.Root, r, 0, &depths)
		if len(depths) > 1 {
			several++
		}
		for _, d := range depths {
			if d >= 3 {
				deep++
				break
			}
		}
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if tr.Size() < 50 || deep < 200 || several < 200 {
		t.Fatalf("tree of %d nodes; %d rows missing a value at depth 3 or more, %d on several tests: too few to test", tr.Size(), deep, several)
	}
	class, err := tr.CaseSQL(names)
	if err != nil {
		t.Fatal(err)
	}
	p0, err := tr.ProbabilitySQL(names, tr.Classes[0])
	if err != nil {
		t.Fatal(err)
	}
	p1, err := tr.ProbabilitySQL(names, tr.Classes[1])
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT row_id, "+class+", "+p0+", "+p1+" FROM f ORDER BY row_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var c string
		var q0, q1 float64
		if err := rows.Scan(&id, &c, &q0, &q1); err != nil {
			t.Fatal(err)
		}
		p, err := tr.Probabilities(goRows[id])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := tr.Predict(goRows[id])
		if c != tr.Classes[want] || q0 != p[0] || q1 != p[1] {
			t.Errorf("row %d: SQL %s %v %v, Go %s %v %v", id, c, q0, q1, tr.Classes[want], p[0], p[1])
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != ds.Rows() {
		t.Fatalf("%d rows scored of %d", n, ds.Rows())
	}
	t.Logf("%d nodes; %d rows missing a value at depth ≥ 3, %d on several tests", tr.Size(), deep, several)
}

// TestLeftMost asserts leftMost(t) is the edge of Go's left-branch rule
// v−t <= 1e-6: it goes left and the next double up does not, for
// thresholds of every magnitude (where 1e-6 is many ulps, or less than one).
func TestLeftMost(t *testing.T) {
	for _, thr := range []float64{0, 1, -1, 0.5, 12.345, -7.25e-7, 1e-300, 3.3e5, 1e10, -1e10, 1e15, 1e300, -1e300, 123456789.123} {
		l := leftMost(thr)
		u := math.Nextafter(l, math.Inf(1))
		if !(l-thr <= small) || u-thr <= small {
			t.Errorf("threshold %v: leftMost %v (%v − t = %v), next %v (%v)", thr, l, l, l-thr, u, u-thr)
		}
	}
}
