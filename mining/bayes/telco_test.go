package bayes

import (
	"database/sql"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

var (
	telcoCategorical = []string{"gender", "SeniorCitizen", "Partner", "Dependents", "PhoneService",
		"MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
		"TechSupport", "StreamingTV", "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod"}
	telcoNumeric = []string{"tenure", "MonthlyCharges", "TotalCharges"}
)

const telcoDir = "../testdata/telco"

type telcoSet struct {
	ids   []string
	cols  []Column
	churn []string
}

// telco reads the committed split: train and test batches.
func telco(t *testing.T) (train, test telcoSet) {
	t.Helper()
	header, rows := readCSV(t, filepath.Join(telcoDir, "Telco-Customer-Churn.csv"))
	_, split := readCSV(t, filepath.Join(telcoDir, "split_70_30.csv"))
	set := map[string]string{}
	for _, r := range split {
		set[r[0]] = r[1]
	}
	at := map[string]int{}
	for i, h := range header {
		at[h] = i
	}
	mk := func() telcoSet {
		var s telcoSet
		for _, n := range telcoCategorical {
			s.cols = append(s.cols, Column{Name: n, Categories: []string{}})
		}
		for _, n := range telcoNumeric {
			s.cols = append(s.cols, Column{Name: n, Values: []float64{}})
		}
		return s
	}
	train, test = mk(), mk()
	for _, r := range rows {
		s := &train
		switch set[r[at["customerID"]]] {
		case "test":
			s = &test
		case "train":
		default:
			t.Fatalf("customer %s not in the split", r[0])
		}
		s.ids = append(s.ids, r[at["customerID"]])
		s.churn = append(s.churn, r[at["Churn"]])
		for j := range s.cols {
			c := &s.cols[j]
			v := r[at[c.Name]]
			if c.Values == nil {
				c.Categories = append(c.Categories, v)
				continue
			}
			x := math.NaN()
			if strings.TrimSpace(v) != "" {
				var err error
				if x, err = strconv.ParseFloat(v, 64); err != nil {
					t.Fatalf("%s %s: %v", r[0], c.Name, err)
				}
			}
			c.Values = append(c.Values, x)
		}
	}
	return train, test
}

// TestTelcoAgainstScikitLearn: on the committed 70/30 split, with α = 1 and
// Gaussian numeric attributes, every test row's posterior equals
// scikit-learn's (sklearn_nb.py) and the accuracy beats the 73.46 % majority
// baseline of the whole data set and the test set's own majority baseline.
func TestTelcoAgainstScikitLearn(t *testing.T) {
	train, test := telco(t)
	m, err := Train(train.cols, train.churn, Options{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Score(test.cols)
	if err != nil {
		t.Fatal(err)
	}
	_, ref := readCSV(t, filepath.Join("testdata", "sklearn_telco.csv"))
	if len(ref) != len(test.ids) {
		t.Fatalf("%d test rows, scikit-learn %d", len(test.ids), len(ref))
	}
	yes := 1
	correct, worst := 0, 0.0
	for r := range test.ids {
		want, _ := strconv.ParseFloat(ref[r][1], 64)
		if ref[r][0] != test.ids[r] {
			t.Fatalf("row %d: customer %s, scikit-learn %s", r, test.ids[r], ref[r][0])
		}
		worst = math.Max(worst, math.Abs(s.Posterior[r][yes]-want))
		if s.Predicted[r] != ref[r][2] {
			t.Errorf("%s: predicted %s, scikit-learn %s", test.ids[r], s.Predicted[r], ref[r][2])
		}
		if s.Predicted[r] == test.churn[r] {
			correct++
		}
	}
	if worst > 1e-9 {
		t.Errorf("largest |posterior − scikit-learn| = %g", worst)
	}
	acc := float64(correct) / float64(len(test.ids))
	sum := summary(t)
	t.Logf("test accuracy %.4f (scikit-learn %.4f), test majority baseline %.4f, largest posterior gap %.2g",
		acc, sum["test_accuracy"], sum["majority_baseline"], worst)
	if acc != sum["test_accuracy"] {
		t.Errorf("accuracy %v, scikit-learn %v", acc, sum["test_accuracy"])
	}
	if acc <= 0.7346 || acc <= sum["majority_baseline"] {
		t.Errorf("accuracy %.4f does not beat the majority baseline (73.46 %%, test %.4f)", acc, sum["majority_baseline"])
	}
}

// TestTelcoSQLEqualsGo: the posterior and the predicted class as DuckDB
// expressions, evaluated over the test rows loaded from the CSV, equal Go's
// on every row.
func TestTelcoSQLEqualsGo(t *testing.T) {
	train, test := telco(t)
	m, err := Train(train.cols, train.churn, Options{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Score(test.cols)
	if err != nil {
		t.Fatal(err)
	}
	expr, err := m.PosteriorSQL("Yes")
	if err != nil {
		t.Fatal(err)
	}
	predict, err := m.PredictSQL()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	csvPath, _ := filepath.Abs(filepath.Join(telcoDir, "Telco-Customer-Churn.csv"))
	splitPath, _ := filepath.Abs(filepath.Join(telcoDir, "split_70_30.csv"))
	// All columns as text; a blank TotalCharges becomes NULL (missing).
	q := `WITH raw AS (SELECT * REPLACE (NULLIF(trim(TotalCharges), '') AS TotalCharges)
	        FROM read_csv(?, all_varchar = true)),
	      s AS (SELECT * FROM read_csv(?, all_varchar = true))
	      SELECT raw.customerID, ` + expr + `, ` + predict + ` FROM raw JOIN s USING (customerID)
	      WHERE s."set" = 'test' ORDER BY customerID`
	rows, err := db.Query(q, csvPath, splitPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	got := map[string]float64{}
	gotClass := map[string]string{}
	for rows.Next() {
		var id, class string
		var p float64
		if err := rows.Scan(&id, &p, &class); err != nil {
			t.Fatal(err)
		}
		got[id], gotClass[id] = p, class
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(test.ids) {
		t.Fatalf("SQL scored %d rows, Go %d", len(got), len(test.ids))
	}
	worst := 0.0
	for r, id := range test.ids {
		p, ok := got[id]
		if !ok {
			t.Fatalf("SQL lost %s", id)
		}
		worst = math.Max(worst, math.Abs(p-s.Posterior[r][1]))
		if gotClass[id] != s.Predicted[r] {
			t.Errorf("%s: SQL predicts %s (posterior %v), Go %s", id, gotClass[id], p, s.Predicted[r])
		}
	}
	t.Logf("largest |SQL − Go| posterior over %d rows: %.2g", len(got), worst)
	if worst > 1e-12 {
		t.Errorf("SQL posterior differs from Go's by up to %g", worst)
	}
}

// TestSQLQuotesHostileNames: names and categories with quotes stay literals.
func TestSQLQuotesHostileNames(t *testing.T) {
	cols := []Column{
		{Name: `a"; DROP TABLE x; --`, Categories: []string{"it's", "it's", `o"k`, "z"}},
		{Name: "n", Values: []float64{1, 2, 5, 7}},
	}
	label := []string{"p'q", "p'q", "r", "r"}
	m, err := Train(cols, label, Options{Alpha: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Score(cols)
	if err != nil {
		t.Fatal(err)
	}
	expr, err := m.PosteriorSQL("r")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := `SELECT ` + expr + ` FROM (VALUES ('it''s', 1.0, 0), ('it''s', 2.0, 1), ('o"k', 5.0, 2), ('z', 7.0, 3), (NULL, NULL, 4), ('it''s', 1e4, 5))
	      AS t("a""; DROP TABLE x; --", n, i) ORDER BY i`
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	var got []float64
	for rows.Next() {
		var p float64
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	for r := 0; r < 4; r++ {
		if math.Abs(got[r]-s.Posterior[r][1]) > 1e-12 {
			t.Errorf("row %d: SQL %v, Go %v", r, got[r], s.Posterior[r][1])
		}
	}
	// All NULL: the prior, P(r) = 1/2.
	if math.Abs(got[4]-0.5) > 1e-15 {
		t.Errorf("all-NULL row: %v, want the prior 0.5", got[4])
	}
	// A value far out in the tails makes exp() overflow to +Inf in SQL; the
	// posterior is still Go's (0 or 1 to double precision), not an error.
	far, err := m.Score([]Column{{Name: cols[0].Name, Categories: []string{"it's"}}, {Name: "n", Values: []float64{1e4}}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[5]-far.Posterior[0][1]) > 1e-12 {
		t.Errorf("far row: SQL %v, Go %v", got[5], far.Posterior[0][1])
	}
}

// TestSQLThreeClasses: with three classes, every class's posterior and the
// predicted class from SQL equal Go's on every row, including a row with an
// unseen category.
func TestSQLThreeClasses(t *testing.T) {
	colour := []string{"red", "red", "blue", "green", "blue", "green", "red", "blue", "green", "teal"}
	size := []float64{1.0, 1.5, 3.2, 5.1, 2.9, 4.8, 1.2, 3.5, 5.5, 2.0}
	label := []string{"s", "s", "m", "l", "m", "l", "s", "m", "l", "m"}
	cols := []Column{{Name: "colour", Categories: colour}, {Name: "size", Values: size}}
	m, err := Train(cols, label, Options{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	score := []Column{{Name: "colour", Categories: []string{"red", "blue", "purple", "green"}},
		{Name: "size", Values: []float64{4.0, 1.1, 3.0, 2.5}}}
	s, err := m.Score(score)
	if err != nil {
		t.Fatal(err)
	}
	sel := []string{}
	for _, c := range m.Classes {
		e, err := m.PosteriorSQL(c)
		if err != nil {
			t.Fatal(err)
		}
		sel = append(sel, e)
	}
	p, err := m.PredictSQL()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT ` + strings.Join(sel, ", ") + `, ` + p + ` FROM (VALUES ('red', 4.0, 0), ('blue', 1.1, 1), ('purple', 3.0, 2), ('green', 2.5, 3)) AS t(colour, size, i) ORDER BY i`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for r := 0; rows.Next(); r++ {
		got := make([]float64, 3)
		var class string
		if err := rows.Scan(&got[0], &got[1], &got[2], &class); err != nil {
			t.Fatal(err)
		}
		for k := range got {
			if math.Abs(got[k]-s.Posterior[r][k]) > 1e-12 {
				t.Errorf("row %d class %s: SQL %v, Go %v", r, m.Classes[k], got[k], s.Posterior[r][k])
			}
		}
		if class != s.Predicted[r] {
			t.Errorf("row %d: SQL predicts %s, Go %s", r, class, s.Predicted[r])
		}
	}
	if s.Unseen["colour"] != 1 {
		t.Errorf("unseen %v", s.Unseen)
	}
}
