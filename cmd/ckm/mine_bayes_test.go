package main

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining/bayes"
)

// ckm mine bayes' flags parse into BayesOptions; bad values are usage errors.
func TestMineBayesParse(t *testing.T) {
	var want mineBayesOptions
	want.Source.Table, want.Source.Label, want.Alpha, want.TestFraction, want.Seed = "t", "label", 1, 0.3, 1
	all := want
	all.Alpha, all.ID, all.SplitCol, all.Seed, all.TestFraction = 0.5, "cid", "set", 9, 0.2
	cases := []parseCase[mineBayesOptions]{
		{name: "defaults", args: []string{"--source", "t"}, want: want},
		{name: "all", args: []string{"--source", "t", "--alpha", "0.5", "--id", "cid", "--split-col", "set", "--seed", "9", "--test-fraction", "0.2"}, want: all},
		{name: "no source", err: "--source"},
		{name: "alpha", args: []string{"--source", "t", "--alpha", "-1"}, err: "--alpha -1: want a number >= 0"},
		{name: "alpha inf", args: []string{"--source", "t", "--alpha", "Inf"}, err: "--alpha +Inf"},
		{name: "fraction", args: []string{"--source", "t", "--test-fraction", "0"}, err: "--test-fraction 0"},
	}
	checkParse(t, []string{"mine"}, newMineBayesCmd, []string{"mine", "bayes"}, func(o *mineBayesOptions) { o.app = nil }, cases)
}

// ckm mine bayes on Telco with the committed split equals bayes.Train and
// Score run by the test on the CSV files (correct test rows, and the stored
// PredictSQL, run in DuckDB, gives Go's class on every test row);
// degenerate input writes nothing.
func TestMineBayesTelco(t *testing.T) {
	wh := telcoWarehouse(t)
	src := "SELECT * REPLACE (CAST(SeniorCitizen AS VARCHAR) AS SeniorCitizen) FROM fact_telco"
	base := []string{"mine", "bayes", "--warehouse", wh, "--id", "customerID", "--label", "Churn", "--split-col", "split"}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--source", src + " WHERE Churn = 'Yes'"}, `label "Churn" has one class ("Yes")`},
		{[]string{"--source", src + " WHERE false"}, "no rows to learn from"},
		{[]string{"--source", src, "--features", "tenure, nosuch"}, `unknown feature column "nosuch"`},
	} {
		_, stderr, code := runCkm(t, "", append(append([]string{}, base...), c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, stderr, c.msg)
		}
	}
	out, stderr, code := runCkm(t, "", append(append([]string{}, base...), "--source", src, "--format", "json")...)
	if code != 0 {
		t.Fatalf("mine bayes: exit %d: %s", code, stderr)
	}
	var res struct {
		ModelID int64 `json:"model_id"`
		Metrics struct {
			TestRows int      `json:"test_rows"`
			Correct  int      `json:"correct"`
			AUC      *float64 `json:"auc"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	// The package on the CSV files, as mining/bayes' Telco test reads them.
	trainCols, trainY, testCols, testY, testIDs := telcoBayesColumns(t)
	m, err := bayes.Train(trainCols, trainY, bayes.Options{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := m.Score(testCols)
	if err != nil {
		t.Fatal(err)
	}
	want, right := map[string]string{}, 0
	for i, id := range testIDs {
		want[id] = sc.Predicted[i]
		if sc.Predicted[i] == testY[i] {
			right++
		}
	}
	if res.ModelID != 1 || res.Metrics.TestRows != len(testIDs) || res.Metrics.Correct != right || res.Metrics.AUC == nil {
		t.Errorf("bayes result %+v; the package: %d of %d right", res, right, len(testIDs))
	}
	// scikit-learn's figure on the same split (mining/bayes/testdata/sklearn_nb.py).
	for _, r := range readTelcoCSV(t, "../../mining/bayes/testdata/sklearn_summary.csv") {
		if r[0] == "test_accuracy" {
			acc, err := strconv.ParseFloat(r[1], 64)
			if err != nil || math.Abs(acc-float64(res.Metrics.Correct)/float64(res.Metrics.TestRows)) > 1e-12 {
				t.Errorf("accuracy %d/%d, scikit-learn's %s", res.Metrics.Correct, res.Metrics.TestRows, r[1])
			}
		}
	}
	t.Logf("naive Bayes on the Telco split: %d of %d test rows right (%.4f %%)", right, len(testIDs), 100*float64(right)/float64(len(testIDs)))
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var scoreSQL string
	var models int
	if err := w.DB.QueryRow(`SELECT params->>'score_sql', (SELECT count(*) FROM kb_model) FROM kb_model WHERE model_id = 1 AND kind = 'bayes'`).Scan(&scoreSQL, &models); err != nil {
		t.Fatal(err)
	}
	if models != 1 {
		t.Errorf("%d models, want 1 (failed runs write none)", models)
	}
	rows, err := w.DB.Query(`SELECT customerID, ` + scoreSQL + ` FROM (` + src + `) WHERE split = 'test'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, got string
		if err := rows.Scan(&id, &got); err != nil {
			t.Fatal(err)
		}
		n++
		if got != want[id] {
			t.Errorf("customer %s: SQL %q, Go %q", id, got, want[id])
		}
	}
	if n != len(testIDs) {
		t.Errorf("SQL scored %d rows, want %d", n, len(testIDs))
	}
}

// telcoBayesColumns reads the Telco CSV files into bayes columns (numeric:
// tenure, MonthlyCharges, TotalCharges; blank is missing) split by the
// committed split.
func telcoBayesColumns(t *testing.T) (trainCols []bayes.Column, trainY []string, testCols []bayes.Column, testY, testIDs []string) {
	t.Helper()
	all := readTelcoCSV(t, telcoCSVPath)
	split := readTelcoCSV(t, telcoSplitPath)
	set := map[string]string{}
	for _, r := range split[1:] {
		set[r[0]] = r[1]
	}
	header := all[0]
	numeric := map[string]bool{"tenure": true, "MonthlyCharges": true, "TotalCharges": true}
	mk := func() []bayes.Column {
		var cols []bayes.Column
		for _, h := range header {
			if h == "customerID" || h == "Churn" {
				continue
			}
			c := bayes.Column{Name: h}
			if numeric[h] {
				c.Values = []float64{}
			} else {
				c.Categories = []string{}
			}
			cols = append(cols, c)
		}
		return cols
	}
	trainCols, testCols = mk(), mk()
	for _, r := range all[1:] {
		cols, y := &trainCols, &trainY
		if set[r[0]] == "test" {
			cols, y = &testCols, &testY
			testIDs = append(testIDs, r[0])
		}
		j := 0
		for i, h := range header {
			switch h {
			case "customerID":
				continue
			case "Churn":
				*y = append(*y, r[i])
				continue
			}
			c := &(*cols)[j]
			j++
			if c.Values == nil {
				c.Categories = append(c.Categories, r[i])
				continue
			}
			x := math.NaN()
			if s := strings.TrimSpace(r[i]); s != "" {
				var err error
				if x, err = strconv.ParseFloat(s, 64); err != nil {
					t.Fatal(err)
				}
			}
			c.Values = append(c.Values, x)
		}
	}
	return
}
