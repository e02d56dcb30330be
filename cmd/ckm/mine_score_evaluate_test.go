package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// ckm mine evaluate re-validates the stored C4.5 Telco model: on the very
// test rows it was evaluated on, nothing changes; on those rows with the
// label flipped for customers of tenure under 12 months, the accuracy is
// the share the test counts itself from tree.C45's predictions, and the
// drop is flagged as degraded.
func TestMineEvaluateDrift(t *testing.T) {
	wh := telcoWarehouse(t)
	if _, stderr, code := runCkm(t, "", "mine", "tree", "--warehouse", wh, "--source", "fact_telco", "--id", "customerID", "--label", "Churn", "--split-col", "split"); code != 0 {
		t.Fatalf("mine tree: exit %d: %s", code, stderr)
	}
	type drift struct {
		Before, After struct {
			TestRows int     `json:"test_rows"`
			Accuracy float64 `json:"accuracy"`
		}
		AccuracyChange float64 `json:"accuracy_change"`
		PValue         float64 `json:"p_value"`
		Degraded       bool    `json:"degraded"`
	}
	evaluate := func(src string) drift {
		out, stderr, code := runCkm(t, "", "mine", "evaluate", "1", "--warehouse", wh, "--source", src, "--format", "json")
		var d drift
		if code != 0 || json.Unmarshal([]byte(out), &d) != nil {
			t.Fatalf("mine evaluate: exit %d: %s%s", code, out, stderr)
		}
		return d
	}
	same := evaluate("SELECT * FROM fact_telco WHERE split = 'test'")
	if same.After != same.Before || same.AccuracyChange != 0 || same.PValue != 1 || same.Degraded || same.After.TestRows != 2113 {
		t.Errorf("same rows: %+v", same)
	}
	want := packageTelcoPredictions(t)
	flipped := "SELECT * REPLACE (CASE WHEN tenure < 12 THEN CASE Churn WHEN 'Yes' THEN 'No' ELSE 'Yes' END ELSE Churn END AS Churn) FROM fact_telco WHERE split = 'test'"
	// The flipped labels, read independently of the model.
	out, stderr, code := runCkm(t, "", "sql", "--warehouse", wh, "--format", "json", "-c", "SELECT customerID, Churn FROM ("+flipped+")")
	var rows []map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil {
		t.Fatalf("sql: exit %d: %s", code, stderr)
	}
	right := 0
	for _, r := range rows {
		if want[r["customerID"]] == r["Churn"] {
			right++
		}
	}
	d := evaluate(flipped)
	if d.After.TestRows != len(rows) || math.Abs(d.After.Accuracy-float64(right)/float64(len(rows))) > 1e-12 || !d.Degraded || d.PValue >= 0.05 {
		t.Errorf("flipped labels: %+v; want accuracy %d/%d, degraded", d, right, len(rows))
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"7", "--source", "fact_telco"}, 1, "no such model 7"},
		{[]string{"1"}, 2, "--source"},
		{[]string{"1", "--source", "SELECT * EXCLUDE (Churn) FROM fact_telco"}, 1, `unknown label column "Churn"`},
		{[]string{"1", "--source", "SELECT * FROM fact_telco WHERE false"}, 1, "has no labelled rows"},
	} {
		_, stderr, code := runCkm(t, "", append([]string{"mine", "evaluate", "--warehouse", wh}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("mine evaluate %v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}

// ckm mine evaluate parses a model id and a source.
func TestMineEvaluateParse(t *testing.T) {
	want := mineEvaluateOptions{ModelID: 2}
	want.Source.Table = "t"
	checkParse(t, []string{"mine"}, newMineEvaluateCmd, []string{"mine", "evaluate"}, func(o *mineEvaluateOptions) { o.app = nil }, []parseCase[mineEvaluateOptions]{
		{name: "ok", args: []string{"2", "--source", "t"}, want: want},
		{name: "bad id", args: []string{"x", "--source", "t"}, err: `model "x"`},
		{name: "no source", args: []string{"2"}, err: "--source"},
	})
}
