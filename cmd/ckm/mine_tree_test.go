package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
	"github.com/ckm-dev/ckm/mining/evaluate"
	"github.com/ckm-dev/ckm/mining/tree"
)

const (
	telcoCSVPath   = "../../mining/testdata/telco/Telco-Customer-Churn.csv"
	telcoSplitPath = "../../mining/testdata/telco/split_70_30.csv"
	telcoJ48Path   = "../../mining/tree/testdata/telco_j48.json"
)

// ckm mine tree's flags parse into TreeOptions; bad values are usage errors
// naming the flag.
func TestMineTreeParse(t *testing.T) {
	var want mineTreeOptions
	want.Source.Table, want.Source.Label, want.Algorithm, want.TestFraction, want.Seed = "t", "label", "c45", 0.3, 1
	id3 := want
	id3.Algorithm, id3.Window, id3.ID, id3.SplitCol, id3.Source.Label, id3.Source.Features, id3.Positive = "id3", 50, "cid", "set", "churn", "a, b", "Yes"
	env := want
	env.TestFraction, env.Seed = 0.25, 7
	wh := want
	wh.Source.Table, wh.Source.Features = "", "warehouse"
	wh.FromWarehouse = mining.FeatureOptions{AsOf: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), LabelSQL: "SELECT 1", FeatureSQL: "SELECT 2"}
	cases := []parseCase[mineTreeOptions]{
		{name: "defaults", args: []string{"--source", "t"}, want: want},
		{name: "all", args: []string{"--source", "t", "--algorithm", "id3", "--window", "50", "--id", "cid", "--split-col", "set", "--label", "churn",
			"--features", "a, b", "--positive", "Yes"}, want: id3},
		{name: "env", env: map[string]string{"CKM_MINE_TREE_TEST_FRACTION": "0.25", "CKM_SEED": "7"}, args: []string{"--source", "t"}, want: env},
		{name: "no source", err: "--source"},
		{name: "algorithm", args: []string{"--source", "t", "--algorithm", "cart"}, err: `--algorithm "cart": want c45 or id3`},
		{name: "fraction", args: []string{"--source", "t", "--test-fraction", "1"}, err: "--test-fraction 1: want a number > 0 and < 1"},
		{name: "window", args: []string{"--source", "t", "--window", "5"}, err: "--window needs --algorithm id3"},
		{name: "seed", args: []string{"--source", "t", "--seed", "-1"}, err: "--seed -1: want 0 or more"},
		{name: "negative window", args: []string{"--source", "t", "--algorithm", "id3", "--window", "-5"}, err: "--window -5"},
		{name: "warehouse", args: []string{"--features", "warehouse", "--label-sql", "SELECT 1", "--feature-sql", "SELECT 2", "--as-of", "2024-07-01"}, want: wh},
		{name: "source and label-sql", args: []string{"--source", "t", "--label-sql", "SELECT 1", "--as-of", "2024-07-01"}, err: "--source and --label-sql: give one"},
		{name: "label-sql without as-of", args: []string{"--label-sql", "SELECT 1"}, err: "--as-of: give the cut-off date"},
		{name: "bad as-of", args: []string{"--label-sql", "SELECT 1", "--as-of", "July"}, err: `--as-of "July": want a date`},
		{name: "as-of without label-sql", args: []string{"--source", "t", "--as-of", "2024-07-01"}, err: "--feature-sql and --as-of need --label-sql"},
	}
	checkParse(t, []string{"mine"}, newMineTreeCmd, []string{"mine", "tree"}, func(o *mineTreeOptions) { o.app = nil }, cases)
}

// telcoWarehouse loads the Telco churn file into table fact_telco (a name
// the analyst sandbox of mine --source lets through), in file
// order, with typed numeric columns and the committed 70/30 split in
// column split.
func telcoWarehouse(t *testing.T) string {
	t.Helper()
	wh := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	csvPath, _ := filepath.Abs(telcoCSVPath)
	splitPath, _ := filepath.Abs(telcoSplitPath)
	if _, err := w.DB.Exec(`CREATE TABLE fact_telco AS
        SELECT c.customerID, gender, CAST(SeniorCitizen AS INTEGER) AS SeniorCitizen, Partner, Dependents, CAST(tenure AS INTEGER) AS tenure,
            PhoneService, MultipleLines, InternetService, OnlineSecurity, OnlineBackup, DeviceProtection, TechSupport, StreamingTV,
            StreamingMovies, Contract, PaperlessBilling, PaymentMethod, CAST(MonthlyCharges AS DOUBLE) AS MonthlyCharges,
            TRY_CAST(TotalCharges AS DOUBLE) AS TotalCharges, Churn, s."set" AS split
        FROM (SELECT *, row_number() OVER () AS rn FROM read_csv('` + csvPath + `', all_varchar = true)) c
        JOIN read_csv('` + splitPath + `', all_varchar = true) s USING (customerID) ORDER BY c.rn`); err != nil {
		t.Fatal(err)
	}
	return wh
}

// ckm mine tree on Telco with the committed split gives the package's C4.5
// tree: J48's test accuracy (committed figure, 77.5674 %), and the stored
// scoring CASE, run in DuckDB, gives the class tree.C45's Predict gives on
// every test row (the test builds that tree itself from the CSV files);
// degenerate input is a clear error that writes nothing.
func TestMineTreeTelco(t *testing.T) {
	wh := telcoWarehouse(t)
	base := []string{"mine", "tree", "--warehouse", wh, "--id", "customerID", "--label", "Churn", "--split-col", "split"}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--source", "SELECT * FROM fact_telco WHERE Churn = 'No'"}, `label "Churn" has one class ("No")`},
		{[]string{"--source", "fact_telco", "--label", "churned"}, `unknown label column "churned"`},
		{[]string{"--source", "SELECT * FROM fact_telco WHERE false"}, "no rows to learn from"},
		{[]string{"--source", "SELECT * REPLACE (CASE WHEN tenure = 1 THEN 'dev' ELSE split END AS split) FROM fact_telco"}, `split column "split", row 1: "dev"`},
	} {
		_, stderr, code := runCkm(t, "", append(append([]string{}, base...), c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, stderr, c.msg)
		}
	}
	out, stderr, code := runCkm(t, "", append(append([]string{}, base...), "--source", "fact_telco", "--format", "json")...)
	if code != 0 {
		t.Fatalf("mine tree: exit %d: %s", code, stderr)
	}
	var res struct {
		ModelID int64 `json:"model_id"`
		Size    int   `json:"tree_size"`
		Leaves  int   `json:"leaves"`
		Rules   int   `json:"rules"`
		Metrics struct {
			TrainRows        int      `json:"train_rows"`
			TestRows         int      `json:"test_rows"`
			Correct          int      `json:"correct"`
			Accuracy         float64  `json:"accuracy"`
			MajorityAccuracy float64  `json:"majority_accuracy"`
			AUC              *float64 `json:"auc"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	var ref struct {
		TrainRows   int     `json:"train_rows"`
		TestRows    int     `json:"test_rows"`
		TestCorrect int     `json:"test_correct"`
		TestAcc     float64 `json:"test_accuracy_pct"`
		Leaves      int     `json:"leaves"`
		Size        int     `json:"tree_size"`
	}
	b, err := os.ReadFile(telcoJ48Path)
	if err != nil || json.Unmarshal(b, &ref) != nil {
		t.Fatalf("J48 reference: %v", err)
	}
	m := res.Metrics
	if res.ModelID != 1 || m.TrainRows != ref.TrainRows || m.TestRows != ref.TestRows || m.Correct != ref.TestCorrect ||
		math.Abs(100*m.Accuracy-ref.TestAcc) > 5e-5 || res.Size != ref.Size || res.Leaves != ref.Leaves || m.AUC == nil || *m.AUC <= 0.5 {
		t.Errorf("tree result %+v\nwant J48's %+v", res, ref)
	}

	// The package's own tree on the same split, built from the CSV files.
	want := packageTelcoPredictions(t)
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var scoreSQL string
	var rules, leavesWithRows int
	if err := w.DB.QueryRow(`SELECT params->>'score_sql', (SELECT count(*) FROM kb_rule WHERE model_id = 1 AND kind = 'decision'),
            (SELECT count(*) FROM kb_model) FROM kb_model WHERE model_id = 1 AND kind = 'tree'`).Scan(&scoreSQL, &rules, &leavesWithRows); err != nil {
		t.Fatal(err)
	}
	if leavesWithRows != 1 || rules != res.Rules || rules == 0 {
		t.Errorf("kb_model rows %d (failed runs must write none), kb_rule %d decision rules, result says %d", leavesWithRows, rules, res.Rules)
	}
	rows, err := w.DB.Query(`SELECT customerID, Churn, ` + scoreSQL + ` FROM fact_telco WHERE split = 'test'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, right, no := 0, 0, 0
	for rows.Next() {
		var id, actual string
		var got sql.NullString
		if err := rows.Scan(&id, &actual, &got); err != nil {
			t.Fatal(err)
		}
		n++
		if got.String != want[id] {
			t.Errorf("customer %s: SQL %q, Go %q", id, got.String, want[id])
		}
		if got.String == actual {
			right++
		}
		if actual == "No" {
			no++
		}
	}
	if n != ref.TestRows || right != ref.TestCorrect {
		t.Errorf("SQL scored %d test rows, %d right; want %d, %d", n, right, ref.TestRows, ref.TestCorrect)
	}
	// ckm mine score runs the stored CASE through the CLI: the same classes.
	out, stderr, code = runCkm(t, "", "mine", "score", "1", "--warehouse", wh, "--format", "csv", "--source", "SELECT * FROM fact_telco WHERE split = 'test'")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != ref.TestRows+1 || strings.Join(recs[0], ",") != "customerID,prediction,probability" {
		t.Fatalf("mine score: exit %d, %d lines, %v: %s", code, len(recs), err, stderr)
	}
	for _, r := range recs[1:] {
		if r[1] != want[r[0]] {
			t.Errorf("mine score, customer %s: %q, Go %q", r[0], r[1], want[r[0]])
		}
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"2", "--source", "fact_telco"}, 1, "no such model 2 in kb_model"},
		{[]string{"one", "--source", "fact_telco"}, 2, `model "one"`},
		{[]string{"1"}, 2, "--source"},
		{[]string{"1", "--source", "SELECT customerID, tenure FROM fact_telco"}, 1, `unknown features column "gender"`},
	} {
		_, stderr, code := runCkm(t, "", append([]string{"mine", "score", "--warehouse", wh}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("mine score %v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	// The majority baseline predicts the training majority, No, for every test row.
	if want := float64(no) / float64(n); math.Abs(m.MajorityAccuracy-want) > 1e-12 {
		t.Errorf("majority accuracy %v, want %d/%d", m.MajorityAccuracy, no, n)
	}
}

// packageTelcoPredictions builds tree.C45 on the committed split's training
// rows from the CSV files (as mining/tree's Telco test does) and returns
// its prediction per test customer.
func packageTelcoPredictions(t *testing.T) map[string]string {
	t.Helper()
	split := readTelcoCSV(t, telcoSplitPath)
	set := map[string]string{}
	for _, r := range split[1:] {
		set[r[0]] = r[1]
	}
	pred, _ := packageTelcoTree(t, func(ids, _ []string) (train, test []int) {
		for i, id := range ids {
			if set[id] == "train" {
				train = append(train, i)
			} else {
				test = append(test, i)
			}
		}
		return train, test
	})
	return pred
}

// packageTelcoTree builds tree.C45 on the Telco rows split chooses (given
// the customer ids and labels in file order) and returns its prediction
// per test customer and the number right.
func packageTelcoTree(t *testing.T, split func(ids, labels []string) (train, test []int)) (map[string]string, int) {
	t.Helper()
	recs := readTelcoCSV(t, telcoCSVPath)
	all := tree.Table{Header: recs[0], Rows: recs[1:]}
	ds, err := tree.FromTable(all, tree.Schema{Class: "Churn", Numeric: []string{"SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"}, Ignore: []string{"customerID"}})
	if err != nil {
		t.Fatal(err)
	}
	ids, labels := make([]string, len(all.Rows)), make([]string, len(all.Rows))
	for i, r := range all.Rows {
		ids[i], labels[i] = r[0], r[len(r)-1]
	}
	tr, te := split(ids, labels)
	model, err := tree.C45(context.Background(), ds.Subset(tr), tree.C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	test := ds.Subset(te)
	out, right := map[string]string{}, 0
	for i, r := range te {
		c, err := model.Predict(tree.RowOf(test, i))
		if err != nil {
			t.Fatal(err)
		}
		out[ids[r]] = model.Classes[c]
		if c == test.Class[i] {
			right++
		}
	}
	return out, right
}

// Without --split-col, ckm mine tree splits with evaluate.StratifiedSplit
// of the labels in source order: the test rows and correct count equal the
// package's C4.5 on the split the test draws itself with the same seed.
func TestMineTreeSeededSplit(t *testing.T) {
	wh := telcoWarehouse(t)
	out, stderr, code := runCkm(t, "", "mine", "tree", "--warehouse", wh, "--source", "SELECT * EXCLUDE (split) FROM fact_telco",
		"--id", "customerID", "--label", "Churn", "--seed", "42", "--test-fraction", "0.25", "--dry-run", "--format", "json")
	if code != 0 {
		t.Fatalf("mine tree: exit %d: %s", code, stderr)
	}
	var res struct {
		Metrics struct {
			TrainRows int `json:"train_rows"`
			TestRows  int `json:"test_rows"`
			Correct   int `json:"correct"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	var sp evaluate.Split
	_, right := packageTelcoTree(t, func(_, labels []string) ([]int, []int) {
		var err error
		if sp, err = evaluate.StratifiedSplit(labels, 0.75, 42); err != nil {
			t.Fatal(err)
		}
		return sp.Train, sp.Test
	})
	if res.Metrics.TrainRows != len(sp.Train) || res.Metrics.TestRows != len(sp.Test) || res.Metrics.Correct != right {
		t.Errorf("operator %+v; package on the same split: %d/%d train/test, %d right", res.Metrics, len(sp.Train), len(sp.Test), right)
	}
	t.Logf("C4.5, seeded split (seed 42, 25 %% test): %d of %d right", right, len(sp.Test))
}

// readTelcoCSV reads a CSV file, header first.
func readTelcoCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// ckm mine score parses a model id and a source; a bad id or no source is
// a usage error.
func TestMineScoreParse(t *testing.T) {
	want := mineScoreOptions{ModelID: 3}
	want.Source.Table = "SELECT * FROM t"
	cases := []parseCase[mineScoreOptions]{
		{name: "ok", args: []string{"3", "--source", "SELECT * FROM t"}, want: want},
		{name: "env", env: map[string]string{"CKM_MINE_SCORE_SOURCE": "SELECT * FROM t"}, args: []string{"3"}, want: want},
		{name: "bad id", args: []string{"0", "--source", "t"}, err: `model "0"`},
		{name: "no source", args: []string{"3"}, err: "--source or --as-of"},
		{name: "as-of", args: []string{"3", "--as-of", "2024-07-01"}, want: mineScoreOptions{ModelID: 3, AsOf: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "bad as-of", args: []string{"3", "--as-of", "July"}, err: `--as-of "July"`},
		{name: "source and as-of", args: []string{"3", "--source", "t", "--as-of", "2024-07-01"}, err: "--source and --as-of: give one"},
	}
	checkParse(t, []string{"mine"}, newMineScoreCmd, []string{"mine", "score"}, func(o *mineScoreOptions) { o.app = nil }, cases)
}

// ckm mine tree --algorithm id3 --window grows the tree tree.ID3 grows with
// the same window and seed on the committed split's training rows of
// nominal Telco features: the same windowing rounds and test rows right.
func TestMineTreeID3Window(t *testing.T) {
	wh := telcoWarehouse(t)
	features := []string{"gender", "Partner", "Dependents", "InternetService", "Contract", "PaymentMethod"}
	out, stderr, code := runCkm(t, "", "mine", "tree", "--warehouse", wh, "--source", "fact_telco", "--label", "Churn", "--split-col", "split",
		"--features", strings.Join(features, ","), "--algorithm", "id3", "--window", "400", "--seed", "3", "--format", "json")
	if code != 0 {
		t.Fatalf("mine tree: exit %d: %s", code, stderr)
	}
	var res struct {
		Leaves  int              `json:"leaves"`
		Window  tree.WindowStats `json:"windowing"`
		Metrics struct {
			Correct int `json:"correct"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	recs := readTelcoCSV(t, telcoCSVPath)
	var ignore []string
	for _, h := range recs[0] {
		if h != "Churn" && !slices.Contains(features, h) {
			ignore = append(ignore, h)
		}
	}
	ds, err := tree.FromTable(tree.Table{Header: recs[0], Rows: recs[1:]}, tree.Schema{Class: "Churn", Ignore: ignore})
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]string{}
	for _, r := range readTelcoCSV(t, telcoSplitPath)[1:] {
		set[r[0]] = r[1]
	}
	var tr, te []int
	for i, r := range recs[1:] {
		if set[r[0]] == "train" {
			tr = append(tr, i)
		} else {
			te = append(te, i)
		}
	}
	model, stats, err := tree.ID3(context.Background(), ds.Subset(tr), tree.ID3Options{Window: 400, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, right, err := model.Accuracy(ds.Subset(te))
	if err != nil {
		t.Fatal(err)
	}
	if res.Window != *stats || res.Metrics.Correct != right || res.Leaves != model.Leaves() {
		t.Errorf("operator: %+v, %d right, %d leaves; package: %+v, %d right, %d leaves", res.Window, res.Metrics.Correct, res.Leaves, *stats, right, model.Leaves())
	}
	t.Logf("ID3 with windowing (400, seed 3): %+v, %d of %d right", *stats, right, len(te))
}
