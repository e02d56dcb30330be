package cluster

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// TestAssignSQLEqualsGo stores scikit-learn's Telco model (its scaling and
// centroids), assigns every one of the 7,043 customers in DuckDB with
// AssignSQL, and asserts the segment equals Model.Assign on the values
// DuckDB read — and scikit-learn's own label — on every row; the 11 rows
// with a NULL TotalCharges get NULL. It also runs the expression as a macro
// body with the features as parameters.
func TestAssignSQLEqualsGo(t *testing.T) {
	ref := loadRef(t)
	m := Model{Scaling: Scaling{Names: telcoFeatures, Mean: ref.Mean, Scale: ref.Scale}, Centroids: ref.Centers}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	csvPath, _ := filepath.Abs(telcoCSV)
	if _, err := db.ExecContext(ctx, `CREATE TABLE telco AS SELECT * FROM read_csv(?, header = true, nullstr = ' ', types = {'TotalCharges': 'DOUBLE'})`, csvPath); err != nil {
		t.Fatal(err)
	}
	expr, err := m.AssignSQL(telcoFeatures)
	if err != nil {
		t.Fatal(err)
	}
	macroExpr, err := m.AssignSQL([]string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE MACRO segment_of(a, b, c) AS `+macroExpr); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT CAST(tenure AS DOUBLE), CAST(MonthlyCharges AS DOUBLE), TotalCharges, `+expr+
		`, segment_of(tenure, MonthlyCharges, TotalCharges) FROM telco ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, kept, nulls := 0, 0, 0
	for rows.Next() {
		var a, b float64
		var c sql.NullFloat64
		var seg, macroSeg sql.NullInt64
		if err := rows.Scan(&a, &b, &c, &seg, &macroSeg); err != nil {
			t.Fatal(err)
		}
		n++
		if seg != macroSeg {
			t.Fatalf("row %d: expression %v, macro %v", n, seg, macroSeg)
		}
		if !c.Valid {
			nulls++
			if seg.Valid {
				t.Errorf("row %d: NULL TotalCharges got segment %d", n, seg.Int64)
			}
			continue
		}
		goSeg, err := m.Assign([]float64{a, b, c.Float64})
		if err != nil {
			t.Fatal(err)
		}
		if !seg.Valid || int(seg.Int64) != goSeg {
			t.Errorf("row %d (%v, %v, %v): SQL %v, Go %d", n, a, b, c.Float64, seg, goSeg)
		}
		if byte('0'+goSeg) != ref.Labels[kept] {
			t.Errorf("row %d: Go %d, scikit-learn %c", n, goSeg, ref.Labels[kept])
		}
		kept++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 7043 || nulls != 11 || kept != ref.Rows {
		t.Errorf("%d rows, %d NULL, %d assigned; want 7043, 11, %d", n, nulls, kept, ref.Rows)
	}
}

// TestAssignSQLQuotesAndRefuses checks a hostile column name stays one
// quoted identifier and that a damaged model or a wrong column count is an
// error, not SQL.
func TestAssignSQLQuotesAndRefuses(t *testing.T) {
	m := Model{Scaling: Scaling{Mean: []float64{0}, Scale: []float64{1}}, Centroids: [][]float64{{0}, {1}}}
	expr, err := m.AssignSQL([]string{`x"; DROP TABLE t; --`})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(expr, `"x""; DROP TABLE t; --"`) {
		t.Errorf("identifier not quoted: %s", expr)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got sql.NullInt64
	if err := db.QueryRow(`SELECT ` + expr + ` FROM (SELECT 0.75 AS "x""; DROP TABLE t; --")`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !got.Valid || got.Int64 != 1 {
		t.Errorf("0.75 assigned to %v, want 1", got)
	}
	for name, bad := range map[string]Model{
		"zero scale":    {Scaling: Scaling{Mean: []float64{0}, Scale: []float64{0}}, Centroids: [][]float64{{0}}},
		"NaN centroid":  {Scaling: Scaling{Mean: []float64{0}, Scale: []float64{1}}, Centroids: [][]float64{{nan()}}},
		"short":         {Scaling: Scaling{Mean: []float64{0}, Scale: []float64{1}}, Centroids: [][]float64{{0, 1}}},
		"no centroids":  {Scaling: Scaling{Mean: []float64{0}, Scale: []float64{1}}},
		"scale missing": {Scaling: Scaling{Mean: []float64{0, 1}, Scale: []float64{1}}, Centroids: [][]float64{{0, 1}}},
	} {
		if _, err := bad.AssignSQL([]string{"x"}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := m.AssignSQL([]string{"x", "y"}); err == nil {
		t.Error("two columns for one feature: no error")
	}
	if _, err := m.AssignSQL([]string{""}); err == nil {
		t.Error("empty column name: no error")
	}
}

// TestModelJSONRoundTrip: a model stored as JSON (as kb_segment keeps it)
// and read back assigns and emits SQL exactly as before.
func TestModelJSONRoundTrip(t *testing.T) {
	ref := loadRef(t)
	m := Model{Scaling: Scaling{Names: telcoFeatures, Mean: ref.Mean, Scale: ref.Scale}, Centroids: ref.Centers}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	s1, _ := m.AssignSQL(telcoFeatures)
	s2, err := back.AssignSQL(telcoFeatures)
	if err != nil || s1 != s2 {
		t.Fatalf("SQL changed through JSON (%v)", err)
	}
	raw, _ := loadTelco(t)
	for i := 0; i < raw.Rows; i++ {
		a, _ := m.Assign(raw.Row(i))
		b, _ := back.Assign(raw.Row(i))
		if a != b {
			t.Fatalf("row %d: %d before, %d after", i, a, b)
		}
	}
}
