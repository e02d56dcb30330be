package tree

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"math"
	"testing"

	"github.com/duckdb/duckdb-go/v2"
)

// TestScoreQueryEqualsGo scores 30,000 generated customers with the query
// a stored tree deploys (ScoreQuery, as ckm mine score runs it) and with
// CaseQuery, and asserts every row's prediction and probability equal
// Predict and Probabilities exactly. The rows are enough for both of the
// query's paths to run on several DuckDB vectors (2,048 rows): about
// 24,000 with every tested value known (the nested CASE) and about 5,800
// with satisfaction missing (5 %, generated; NULL or NaN) or a contract
// NULL or never seen (every 10th row), which take the fractional sums.
func TestScoreQueryEqualsGo(t *testing.T) {
	train, err := GenerateChurn(5000, 11)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := C45(context.Background(), train, C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := GenerateChurn(30000, 14)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, app, names := featureTable(t, tr.Attrs)
	goRows := make([]Row, ds.Rows())
	missing := 0
	for i := 0; i < ds.Rows(); i++ {
		r := RowOf(ds, i)
		vals := []driver.Value{int64(i)}
		gone := false
		for a, at := range tr.Attrs {
			switch {
			case at.Name == "contract" && i%20 == 0:
				r.Nominal[a], gone = -1, true
				vals = append(vals, "never-seen")
			case at.Name == "contract" && i%10 == 5:
				r.Nominal[a], gone = -1, true
				vals = append(vals, nil)
			case at.Numeric && math.IsNaN(r.Numeric[a]) && i%2 == 1:
				gone = true
				vals = append(vals, math.NaN())
			case at.Numeric && math.IsNaN(r.Numeric[a]):
				gone = true
				vals = append(vals, nil)
			case at.Numeric:
				vals = append(vals, r.Numeric[a])
			default:
				vals = append(vals, at.Values[r.Nominal[a]])
			}
		}
		if gone {
			missing++
		}
		if err := app.AppendRow(vals...); err != nil {
			t.Fatal(err)
		}
		goRows[i] = r
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if missing < 2*2048 || ds.Rows()-missing < 2*2048 {
		t.Fatalf("%d rows with a missing value of %d: both paths need several vectors", missing, ds.Rows())
	}
	sq, err := tr.ScoreQuery(names, "yes")
	if err != nil {
		t.Fatal(err)
	}
	cq, err := tr.CaseQuery(names, "f", []string{"row_id"}, "class")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, `WITH ckm_rows AS (SELECT * FROM f)
        SELECT s.row_id, s.prediction, s.probability, c.class FROM (`+sq+`) s JOIN (`+cq+`) c USING (row_id) ORDER BY row_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, bad := 0, 0
	for rows.Next() {
		var id int64
		var pred, class string
		var prob float64
		if err := rows.Scan(&id, &pred, &prob, &class); err != nil {
			t.Fatal(err)
		}
		p, err := tr.Probabilities(goRows[id])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := tr.Predict(goRows[id])
		if id != int64(n) || pred != tr.Classes[want] || class != pred || prob != p[1] {
			if bad++; bad < 10 {
				t.Errorf("row %d: ScoreQuery %s %v, CaseQuery %s; Go %s %v", id, pred, prob, class, tr.Classes[want], p[1])
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != ds.Rows() || bad != 0 {
		t.Fatalf("%d rows of %d scored, %d differ from Go", n, ds.Rows(), bad)
	}
	t.Logf("%d rows (%d with a missing value), tree of %d nodes", n, missing, tr.Size())
}

// featureTable opens an in-memory DuckDB holding table f — row_id and one
// column per attribute (DOUBLE when numeric, else VARCHAR) — and returns a
// connection, an appender on f and the attributes' names. Both close with
// the test.
func featureTable(t *testing.T, attrs []Attribute) (*sql.Conn, *duckdb.Appender, []string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	names := make([]string, len(attrs))
	create := "CREATE TABLE f (row_id BIGINT"
	for a, at := range attrs {
		names[a] = at.Name
		typ := "VARCHAR"
		if at.Numeric {
			typ = "DOUBLE"
		}
		create += `, "` + at.Name + `" ` + typ
	}
	if _, err := conn.ExecContext(context.Background(), create+")"); err != nil {
		t.Fatal(err)
	}
	var app *duckdb.Appender
	if err := conn.Raw(func(dc any) error {
		app, err = duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "f")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return conn, app, names
}
