package tree

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// scoreInDuckDB loads the Telco CSV into an in-memory DuckDB, keeps the
// test customers, optionally damages it (NULLs in every attribute column on
// a rotating seventh of the rows, and a Contract value the tree never saw),
// and returns the attribute values as DuckDB holds them with the SQL class
// and P(Yes) of every row.
func scoreInDuckDB(t *testing.T, tr *Tree, damage bool) (Table, []string, []float64) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	csvPath, _ := filepath.Abs(telcoCSV)
	splitPath, _ := filepath.Abs(telcoSplit)
	if _, err := db.ExecContext(ctx, `CREATE TABLE telco AS SELECT c.* REPLACE (CAST(SeniorCitizen AS INTEGER) AS SeniorCitizen, CAST(tenure AS INTEGER) AS tenure,
			CAST(MonthlyCharges AS DOUBLE) AS MonthlyCharges, CAST(nullif(trim(TotalCharges), '') AS DOUBLE) AS TotalCharges)
		FROM read_csv(?, header = true, all_varchar = true) c
		JOIN read_csv(?, header = true, all_varchar = true) s USING (customerID) WHERE s.set = 'test' ORDER BY customerID`, csvPath, splitPath); err != nil {
		t.Fatal(err)
	}
	cols := make([]string, len(tr.Attrs))
	for a, at := range tr.Attrs {
		cols[a] = at.Name
	}
	if damage {
		for a, name := range cols {
			if _, err := db.ExecContext(ctx, fmt.Sprintf(`UPDATE telco SET "%s" = NULL WHERE (hash(customerID) + %d) %% 7 = 0`, name, a)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `UPDATE telco SET Contract = 'Martian' WHERE hash(customerID) % 11 = 3`); err != nil {
			t.Fatal(err)
		}
	}
	class, err := tr.CaseSQL(cols)
	if err != nil {
		t.Fatal(err)
	}
	pYes, err := tr.ProbabilitySQL(cols, "Yes")
	if err != nil {
		t.Fatal(err)
	}
	sel := make([]string, len(cols))
	for a, c := range cols {
		sel[a] = fmt.Sprintf(`coalesce(CAST("%s" AS VARCHAR), '')`, c)
	}
	rows, err := db.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+`, Churn, `+class+`, `+pYes+` FROM telco ORDER BY customerID`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tab := Table{Header: append(append([]string(nil), cols...), "Churn")}
	var classes []string
	var probs []float64
	for rows.Next() {
		vals := make([]string, len(cols)+1)
		dest := make([]any, len(cols)+3)
		for i := range vals {
			dest[i] = &vals[i]
		}
		var c string
		var p float64
		dest[len(cols)+1], dest[len(cols)+2] = &c, &p
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		tab.Rows = append(tab.Rows, vals)
		classes = append(classes, c)
		probs = append(probs, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// CaseQuery gives every customer the class CaseSQL gives.
	query, err := tr.CaseQuery(cols, "telco", []string{"customerID"}, "class")
	if err != nil {
		t.Fatal(err)
	}
	var n, differ int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE q.class IS DISTINCT FROM `+class+`)
        FROM telco JOIN (`+query+`) q USING (customerID)`).Scan(&n, &differ); err != nil {
		t.Fatal(err)
	}
	if n != len(classes) || differ != 0 {
		t.Errorf("CaseQuery: %d of %d rows, %d with another class than CaseSQL", n, len(classes), differ)
	}
	return tab, classes, probs
}

// TestCaseSQLEqualsGo scores every Telco test customer with the C4.5 tree's
// CASE expression in DuckDB and asserts the class and P(Yes) equal the Go
// tree's on every row — on the data as it is (11 blank TotalCharges in the
// file) and with NULLs in every column and an unseen Contract value, which
// take the fractional path.
func TestCaseSQLEqualsGo(t *testing.T) {
	train, _, _ := loadTelco(t)
	tr, err := C45(context.Background(), train, C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, damage := range []bool{false, true} {
		tab, classes, probs := scoreInDuckDB(t, tr, damage)
		ds, unseen, err := train.Conform(tab, Schema{Class: "Churn", Numeric: telcoSchema.Numeric})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Rows() != 2113 {
			t.Fatalf("%d test rows", ds.Rows())
		}
		missingRows := 0
		for i := 0; i < ds.Rows(); i++ {
			r := RowOf(ds, i)
			p, err := tr.Probabilities(r)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := tr.Predict(r)
			if classes[i] != tr.Classes[c] || probs[i] != p[1] {
				t.Errorf("damage %v row %d: SQL %s P(Yes) %v, Go %s %v", damage, i, classes[i], probs[i], tr.Classes[c], p[1])
			}
			for a := range tr.Attrs {
				if ds.missing(a, i) {
					missingRows++
					break
				}
			}
		}
		t.Logf("damage %v: %d rows, %d with a missing value, %d unseen values", damage, ds.Rows(), missingRows, unseen)
		if damage && (missingRows < 1500 || unseen < 100) {
			t.Errorf("damage left %d rows with missing values and %d unseen values", missingRows, unseen)
		}
	}
}

// TestCaseScoreMillion times the Telco tree's CASE on 1,000,106 rows (the
// 7,043 customers 142 times) in DuckDB, behind CKM_LONG=1, and asserts the
// count of Yes equals 142 × Go's count on the customers.
//
//	CKM_LONG=1 go test ./mining/tree -run TestCaseScoreMillion -count=1 -v
func TestCaseScoreMillion(t *testing.T) {
	if os.Getenv("CKM_LONG") == "" {
		t.Skip("set CKM_LONG=1 to time the CASE on a million rows")
	}
	train, _, _ := loadTelco(t)
	tr, err := C45(context.Background(), train, C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]string, len(tr.Attrs))
	for a, at := range tr.Attrs {
		cols[a] = at.Name
	}
	expr, err := tr.CaseSQL(cols)
	if err != nil {
		t.Fatal(err)
	}
	all, err := FromTable(readCSV(t, telcoCSV), telcoSchema)
	if err != nil {
		t.Fatal(err)
	}
	goYes := 0
	for i := 0; i < all.Rows(); i++ {
		if c, _ := tr.Predict(RowOf(all, i)); tr.Classes[c] == "Yes" {
			goYes++
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, _ := filepath.Abs(telcoCSV)
	if _, err := db.Exec(`CREATE TABLE t AS SELECT c.* REPLACE (CAST(SeniorCitizen AS INTEGER) AS SeniorCitizen, CAST(tenure AS INTEGER) AS tenure,
		CAST(MonthlyCharges AS DOUBLE) AS MonthlyCharges, CAST(nullif(trim(TotalCharges), '') AS DOUBLE) AS TotalCharges)
		FROM read_csv(?, header = true, all_varchar = true) c, range(142) r`, p); err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 3; run++ {
		start := time.Now()
		var n, yes int
		if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE (`+expr+`) = 'Yes') FROM t`).Scan(&n, &yes); err != nil {
			t.Fatal(err)
		}
		t.Logf("case_score_seconds %.3f: %d rows, %d Yes (expression %d bytes)", time.Since(start).Seconds(), n, yes, len(expr))
		if n != 142*all.Rows() || yes != 142*goYes {
			t.Errorf("%d rows, %d Yes; want %d, %d", n, yes, 142*all.Rows(), 142*goYes)
		}
	}
}
