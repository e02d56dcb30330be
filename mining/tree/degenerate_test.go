package tree

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
)

// TestDegenerateData: bad input is an error naming what is wrong; data
// with nothing to learn gives a one-leaf tree; nothing panics.
func TestDegenerateData(t *testing.T) {
	ctx := context.Background()
	tab := func(rows ...string) Table {
		t := Table{Header: []string{"colour", "size", "buys"}}
		for _, r := range rows {
			t.Rows = append(t.Rows, strings.Split(r, ","))
		}
		return t
	}
	schema := Schema{Class: "buys", Numeric: []string{"size"}}
	errs := map[string]struct {
		err  func() error
		want string
	}{
		"no rows":       {func() error { _, err := FromTable(tab(), schema); return err }, "no rows"},
		"no class col":  {func() error { _, err := FromTable(tab("red,1,yes"), Schema{Class: "churn"}); return err }, `no class column "churn"`},
		"missing class": {func() error { _, err := FromTable(tab("red,1,yes", "red,2,?"), schema); return err }, `row 2 has no class`},
		"bad number":    {func() error { _, err := FromTable(tab("red,1,yes", "red,big,no"), schema); return err }, `row 2 column "size": "big" is not a number`},
		"short row":     {func() error { _, err := FromTable(tab("red,1,yes", "red,no"), schema); return err }, "row 2 has 2 cells"},
		"unknown numeric": {func() error {
			_, err := FromTable(tab("red,1,yes"), Schema{Class: "buys", Numeric: []string{"weight"}})
			return err
		}, `numeric column "weight" is not in the header`},
		"empty dataset": {func() error { _, err := C45(ctx, &Dataset{}, C45Options{}); return err }, "no rows"},
		"confidence": {func() error {
			ds, _ := FromTable(tab("red,1,yes"), schema)
			_, err := C45(ctx, ds, C45Options{Confidence: 0.7})
			return err
		}, "pruning confidence 0.7"},
		"min leaf": {func() error {
			ds, _ := FromTable(tab("red,1,yes"), schema)
			_, err := C45(ctx, ds, C45Options{MinLeaf: -1})
			return err
		}, "minimum leaf weight -1"},
		"ID3 numeric": {func() error {
			ds, _ := FromTable(tab("red,1,yes"), schema)
			_, _, err := ID3(ctx, ds, ID3Options{})
			return err
		}, `"size" is numeric`},
		"ID3 missing": {func() error {
			ds, _ := FromTable(tab("red,1,yes", "?,1,no"), Schema{Class: "buys"})
			_, _, err := ID3(ctx, ds, ID3Options{})
			return err
		}, `"colour" is missing in row 2`},
		"ID3 window": {func() error {
			ds, _ := FromTable(tab("red,1,yes"), Schema{Class: "buys"})
			_, _, err := ID3(ctx, ds, ID3Options{Window: -3})
			return err
		}, "window -3"},
		"unknown class": {func() error {
			ds, _ := FromTable(tab("red,1,yes", "blue,2,no"), schema)
			_, _, err := ds.Conform(tab("red,1,maybe"), schema)
			return err
		}, `class "maybe" the model never saw`},
	}
	for name, c := range errs {
		if err := c.err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
	if _, err := C45(ctx, &Dataset{}, C45Options{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty dataset is not ErrEmpty: %v", err)
	}

	// One class, and constant attributes: nothing to split, one leaf.
	for name, rows := range map[string][]string{
		"one class": {"red,1,yes", "blue,2,yes", "green,3,yes", "red,4,yes"},
		"constant":  {"red,1,yes", "red,1,no", "red,1,yes", "red,1,yes", "red,1,no"},
	} {
		ds, err := FromTable(tab(rows...), schema)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := C45(ctx, ds, C45Options{})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Size() != 1 || tr.Classes[tr.Root.Class] != "yes" {
			t.Errorf("%s: %d nodes, class %s; want one leaf saying yes", name, tr.Size(), tr.Classes[tr.Root.Class])
		}
		if got := tr.String(); !strings.HasPrefix(got, ": yes (") {
			t.Errorf("%s: printed %q", name, got)
		}
		sqlText, err := tr.CaseSQL([]string{"colour", "size"})
		if err != nil || sqlText != "'yes'" {
			t.Errorf("%s: CASE %q, %v", name, sqlText, err)
		}
	}
}

// TestUnseenAndHostileSQL: a nominal value with a quote, a column name
// with a quote, an unseen value, a known one with a leading space (unseen:
// compared verbatim) and NULL all score in DuckDB as in Go; a
// wrong column count and a class the tree lacks are errors.
func TestUnseenAndHostileSQL(t *testing.T) {
	train := Table{Header: []string{`shop "name"`, "visits", "buys"}, Rows: [][]string{
		{"O'Brien", "1", "no"}, {"O'Brien", "2", "no"}, {"O'Brien", "3", "no"}, {"Acme", "4", "yes"},
		{"Acme", "5", "yes"}, {"Acme", "6", "yes"}, {"O'Brien", "9", "yes"}, {"Acme", "1", "no"},
	}}
	ds, err := FromTable(train, Schema{Class: "buys", Numeric: []string{"visits"}})
	if err != nil {
		t.Fatal(err)
	}
	tr, _, err := ID3(context.Background(), &Dataset{Attrs: ds.Attrs[:1], ClassName: ds.ClassName, Classes: ds.Classes,
		Nominal: ds.Nominal[:1], Numeric: ds.Numeric[:1], Class: ds.Class}, ID3Options{})
	if err != nil {
		t.Fatal(err)
	}
	expr, err := tr.CaseSQL([]string{`shop "name"`})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, v := range []sql.NullString{{String: "O'Brien", Valid: true}, {String: "Acme", Valid: true}, {String: "Martian", Valid: true}, {String: " Acme", Valid: true}, {}} {
		var got string
		if err := db.QueryRow(`SELECT `+expr+` FROM (SELECT CAST(? AS VARCHAR) AS "shop ""name""")`, v).Scan(&got); err != nil {
			t.Fatal(err)
		}
		row := Row{Nominal: []int{-1}, Numeric: []float64{0}}
		for i, name := range tr.Attrs[0].Values {
			if v.Valid && name == v.String {
				row.Nominal[0] = i
			}
		}
		c, _ := tr.Predict(row)
		if got != tr.Classes[c] {
			t.Errorf("%v: SQL %s, Go %s", v, got, tr.Classes[c])
		}
	}
	if _, err := tr.CaseSQL([]string{"a", "b"}); err == nil {
		t.Error("two columns for one attribute: no error")
	}
	if _, err := tr.ProbabilitySQL([]string{"a"}, "perhaps"); err == nil {
		t.Error("unknown class: no error")
	}
	if _, err := tr.Probabilities(Row{}); err == nil {
		t.Error("empty row: no error")
	}
}
