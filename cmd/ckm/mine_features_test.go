package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/mining"
)

// featureFixtureWarehouse loads a generated set of 600 customers over 240
// days from 2024-01-01 (to 2024-08-28).
func featureFixtureWarehouse(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	exp, err := fixtures.Generate(context.Background(), fixtures.Options{Out: data, Customers: 600, Days: 240, Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "w.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", data, "--as-of", exp.ExportDate); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	return wh
}

// activeLabel: did the customer buy from the cut-off 2024-07-01 on?
const activeLabel = `SELECT customer_id, CASE WHEN EXISTS (SELECT 1 FROM fact_sales s WHERE s.customer_id = d.customer_id
    AND s.order_ts >= DATE '2024-07-01' AND s.amount > 0) THEN 'active' ELSE 'lapsed' END AS label
    FROM (SELECT DISTINCT customer_id FROM dim_customer WHERE customer_id > 0) d`

// ckm mine tree --label-sql --as-of learns from the warehouse features in
// one command: every labelled customer known before the cut-off is a case
// (counted by the test's own SQL), the features are the warehouse's, the
// recipe is stored with the model, and the tree beats the majority class;
// a --feature-sql that reads the label window is refused naming the
// column and the cut-off, and writes nothing.
func TestMineTreeFromWarehouse(t *testing.T) {
	wh := featureFixtureWarehouse(t)
	base := []string{"mine", "tree", "--warehouse", wh, "--features", "warehouse", "--label-sql", activeLabel, "--as-of", "2024-07-01"}
	_, stderr, code := runCkm(t, "", append(base, "--feature-sql", "SELECT customer_id, count(*) AS lines FROM fact_sales GROUP BY 1")...)
	if code != 1 || !strings.Contains(stderr, `feature query: column "lines" reads data from the cut-off 2024-07-01 on`) {
		t.Errorf("leaky feature query: exit %d, %s", code, stderr)
	}
	out, stderr, code := runCkm(t, "", append(base, "--format", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		ModelID  int64    `json:"model_id"`
		Features []string `json:"features"`
		Cases    struct {
			Labelled, Cases int
			Unknown         int `json:"unknown_before_cutoff"`
		} `json:"cases_from_warehouse"`
		Metrics struct {
			TrainRows        int     `json:"train_rows"`
			TestRows         int     `json:"test_rows"`
			Accuracy         float64 `json:"accuracy"`
			MajorityAccuracy float64 `json:"majority_accuracy"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	w, err := engine.Open(context.Background(), wh, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var labelled, known, models int
	var asOf string
	if err := w.DB.QueryRow(`SELECT (SELECT count(DISTINCT customer_id) FROM dim_customer WHERE customer_id > 0),
            (SELECT count(DISTINCT customer_id) FROM dim_customer WHERE customer_id > 0 AND valid_from < DATE '2024-07-01'
                AND (registered_date IS NULL OR registered_date < DATE '2024-07-01')),
            (SELECT count(*) FROM kb_model), (SELECT params->'from_warehouse'->>'as_of' FROM kb_model WHERE model_id = 1)`).Scan(&labelled, &known, &models, &asOf); err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	if res.Cases.Labelled != labelled || res.Cases.Cases != known || res.Cases.Unknown != labelled-known || m.TrainRows+m.TestRows != known {
		t.Errorf("cases %+v, rows %d+%d; want %d labelled, %d known before the cut-off", res.Cases, m.TrainRows, m.TestRows, labelled, known)
	}
	if !slices.Equal(res.Features, mining.WarehouseFeatures) {
		t.Errorf("features %v, want %v", res.Features, mining.WarehouseFeatures)
	}
	if models != 1 || res.ModelID != 1 || asOf != "2024-07-01" {
		t.Errorf("%d models (the refused run must write none), model %d, as_of %q", models, res.ModelID, asOf)
	}
	if !(m.Accuracy > m.MajorityAccuracy) {
		t.Errorf("accuracy %.4f does not beat the majority class's %.4f", m.Accuracy, m.MajorityAccuracy)
	}
	t.Logf("cases %+v accuracy %.4f majority %.4f", res.Cases, m.Accuracy, m.MajorityAccuracy)
}

// ckm mine score MODEL --as-of scores every customer through a
// warehouse-learnt model's stored recipe (warehouse features and its
// feature query, from rows before the date): at the training cut-off one
// row per customer known before it (the test's own count), ordered by
// customer_id, with predictions that beat the majority class against the
// labels the test computes itself; at a later date, as many more rows as
// customers known by then. A model learnt from --source has no recipe, and
// a recipe whose feature query was edited to read a file is refused.
func TestMineScoreFromRecipe(t *testing.T) {
	wh := featureFixtureWarehouse(t)
	extra := "SELECT customer_id, count(*) AS lines FROM fact_sales WHERE order_ts < DATE '2024-07-01' GROUP BY 1"
	if _, stderr, code := runCkm(t, "", "mine", "tree", "--warehouse", wh, "--features", "warehouse", "--label-sql", activeLabel,
		"--as-of", "2024-07-01", "--feature-sql", extra); code != 0 {
		t.Fatalf("mine tree: exit %d: %s", code, stderr)
	}
	type scored struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
	}
	score := func(asOf string) scored {
		t.Helper()
		out, stderr, code := runCkm(t, "", "mine", "score", "1", "--warehouse", wh, "--as-of", asOf, "--format", "json")
		var s scored
		if code != 0 || json.Unmarshal([]byte(out), &s) != nil {
			t.Fatalf("mine score --as-of %s: exit %d: %s", asOf, code, stderr)
		}
		return s
	}
	july, august := score("2024-07-01"), score("2024-08-01")
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	known := func(d string) int {
		var n int
		if err := w.DB.QueryRow(`SELECT count(DISTINCT customer_id) FROM dim_customer WHERE customer_id > 0 AND valid_from < CAST(? AS DATE)
            AND (registered_date IS NULL OR registered_date < CAST(? AS DATE))`, d, d).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	labels := map[int64]string{}
	rows, err := w.DB.Query(activeLabel)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var l string
		if err := rows.Scan(&id, &l); err != nil {
			t.Fatal(err)
		}
		labels[id] = l
	}
	rows.Close()
	knownJuly, knownAugust := known("2024-07-01"), known("2024-08-01")
	w.Close()
	if !slices.Equal(july.Columns, []string{"customer_id", "prediction", "probability"}) {
		t.Fatalf("columns %v", july.Columns)
	}
	if len(july.Rows) != knownJuly || len(august.Rows) != knownAugust || knownAugust <= knownJuly {
		t.Errorf("%d rows as of July, %d as of August; want %d and %d", len(july.Rows), len(august.Rows), knownJuly, knownAugust)
	}
	right, last := 0, -1.0
	labelCount := map[string]int{}
	for _, r := range july.Rows {
		id := r[0].(float64)
		if id <= last {
			t.Fatalf("rows not ordered by customer_id: %v after %v", id, last)
		}
		last = id
		labelCount[labels[int64(id)]]++
		if r[1] == labels[int64(id)] {
			right++
		}
	}
	most := 0
	for _, n := range labelCount {
		most = max(most, n)
	}
	t.Logf("as of 2024-07-01: %d customers, %d predicted right, majority label %d", len(july.Rows), right, most)
	if right <= most {
		t.Errorf("%d of %d right: not better than always the majority label (%d)", right, len(july.Rows), most)
	}
	if _, stderr, code := runCkm(t, "", "mine", "tree", "--warehouse", wh, "--source", "SELECT range % 7 AS x, CASE WHEN range % 7 < 3 THEN 'a' ELSE 'b' END AS label FROM range(200)", "--label", "label"); code != 0 {
		t.Fatalf("mine tree on a --source: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCkm(t, "", "mine", "score", "2", "--warehouse", wh, "--as-of", "2024-07-01"); code == 0 || !strings.Contains(stderr, "model 2 was learnt from a source, not from the warehouse") {
		t.Errorf("a model learnt from --source, scored --as-of: exit %d, %s", code, stderr)
	}
	w, err = engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec(`UPDATE kb_model SET params = json_merge_patch(params, '{"from_warehouse": {"feature_sql": "SELECT * FROM read_csv(''/etc/hostname'')"}}') WHERE model_id = 1`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, stderr, code := runCkm(t, "", "mine", "score", "1", "--warehouse", wh, "--as-of", "2024-07-01"); code == 0 || !strings.Contains(stderr, "from_warehouse.feature_sql") || !strings.Contains(stderr, "read_csv") {
		t.Errorf("edited recipe: exit %d, %s", code, stderr)
	}
}
