package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

const dtEx1Path = "../../mining/rough/testdata/dt_ex1.csv"

// ckm mine roughset's flags parse into RoughOptions; a missing source or
// decision column is a usage error naming the flag.
func TestMineRoughSetParse(t *testing.T) {
	var want mineRoughSetOptions
	want.Source.Table, want.Source.Label = "t", "decision"
	all := want
	all.Source.Label, all.Source.Features, all.ID, all.Decision, all.Name, all.DryRun = "ee", "bb,cc", "object", "1", "rs", true
	env := want
	env.Decision = "2"
	cases := []parseCase[mineRoughSetOptions]{
		{name: "defaults", args: []string{"--source", "t"}, want: want},
		{name: "all", args: []string{"--source", "t", "--label", "ee", "--features", "bb,cc", "--id", "object", "--decision", "1", "--name", "rs", "--dry-run"}, want: all},
		{name: "env", env: map[string]string{"CKM_MINE_ROUGHSET_DECISION": "2"}, args: []string{"--source", "t"}, want: env},
		{name: "no source", err: "--source"},
		{name: "no label", args: []string{"--source", "t", "--label", " "}, err: "--label"},
	}
	checkParse(t, []string{"mine"}, newMineRoughSetCmd, []string{"mine", "roughset"}, func(o *mineRoughSetOptions) { o.app = nil }, cases)
}

// dtEx1Warehouse loads RoughSets' dt.ex1 (mining/rough/testdata, copied
// from ../shared/data's README) into table fact_dt_ex1.
func dtEx1Warehouse(t *testing.T) string {
	t.Helper()
	wh := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p, _ := filepath.Abs(dtEx1Path)
	if _, err := w.DB.Exec(`CREATE TABLE fact_dt_ex1 AS SELECT * FROM read_csv('` + p + `', all_varchar = true)`); err != nil {
		t.Fatal(err)
	}
	return wh
}

// ckm mine roughset on dt.ex1 with conditions {bb, cc} gives the published
// results (RoughSets' dt.ex1, ../shared/data/README.md): classes {1,5},
// {2,7,8}, {3}, {4}, {6}; for ee = 1 lower {3,6}, upper
// {1,2,3,5,6,7,8}; positive region {3,4,6}; γ = 0.375. Neither bb nor cc
// alone keeps the positive region (hand check: bb alone decides only {6},
// cc alone nothing), so core and reduct are {bb, cc} and the rules are one
// per class: 3 certain ({3}, {4}, {6}) and 4 possible (two decisions in
// {1,5} and in {2,7,8}), stored in kb_rule in one model.
func TestMineRoughSetDtEx1(t *testing.T) {
	wh := dtEx1Warehouse(t)
	out, stderr, code := runCkm(t, "", "mine", "roughset", "--warehouse", wh, "--source", "fact_dt_ex1", "--id", "object",
		"--label", "ee", "--features", "bb,cc", "--decision", "1", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		ModelID        int64      `json:"model_id"`
		Classes        [][]string `json:"indiscernibility_classes"`
		Approximations []struct {
			Decision     string
			Lower, Upper []string
		} `json:"approximations"`
		Positive []string `json:"positive_region"`
		Gamma    float64  `json:"gamma"`
		Core     []string `json:"core"`
		Reduct   []string `json:"reduct"`
		Rules    []struct {
			Conditions []string
			Decision   string
			Certain    bool
			Support    int
			Matches    int
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	wantClasses := [][]string{{"1", "5"}, {"2", "7", "8"}, {"3"}, {"4"}, {"6"}}
	if !reflect.DeepEqual(res.Classes, wantClasses) {
		t.Errorf("classes %v, want %v", res.Classes, wantClasses)
	}
	if len(res.Approximations) != 3 || res.Approximations[0].Decision != "1" ||
		!reflect.DeepEqual(res.Approximations[0].Lower, []string{"3", "6"}) ||
		!reflect.DeepEqual(res.Approximations[0].Upper, []string{"1", "2", "3", "5", "6", "7", "8"}) {
		t.Errorf("approximations %+v; want ee = 1 first, lower {3,6}, upper {1,2,3,5,6,7,8}", res.Approximations)
	}
	if !reflect.DeepEqual(res.Positive, []string{"3", "4", "6"}) || res.Gamma != 0.375 {
		t.Errorf("positive %v, γ %v; want {3,4,6}, 0.375", res.Positive, res.Gamma)
	}
	if !reflect.DeepEqual(res.Core, []string{"bb", "cc"}) || !reflect.DeepEqual(res.Reduct, []string{"bb", "cc"}) {
		t.Errorf("core %v, reduct %v; want {bb, cc} both", res.Core, res.Reduct)
	}
	certain, possible := 0, 0
	for _, r := range res.Rules {
		if r.Certain {
			certain++
		} else {
			possible++
		}
	}
	if certain != 3 || possible != 4 {
		t.Errorf("%d certain and %d possible rules, want 3 and 4: %+v", certain, possible, res.Rules)
	}
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var n, nCertain int
	var gamma float64
	var sixRule string
	if err := w.DB.QueryRow(`SELECT count(*), count(*) FILTER (WHERE detail->>'rule' = 'certain'),
            (SELECT CAST(metrics->>'gamma' AS DOUBLE) FROM kb_model WHERE model_id = ? AND kind = 'roughset'),
            max(CASE WHEN antecedent = ['bb = 2', 'cc = 0'] THEN consequent || ' ' || confidence || ' ' || count END)
        FROM kb_rule WHERE model_id = ? AND kind = 'roughset'`, res.ModelID, res.ModelID).Scan(&n, &nCertain, &gamma, &sixRule); err != nil {
		t.Fatal(err)
	}
	if n != 7 || nCertain != 3 || gamma != 0.375 || sixRule != "1 1.0 1" {
		t.Errorf("kb: %d rules (%d certain), γ %v, rule for object 6 %q; want 7, 3, 0.375, \"1 1.0 1\"", n, nCertain, gamma, sixRule)
	}

	// Degenerate input: a clear error, nothing written.
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--source", "fact_dt_ex1", "--label", "ff"}, `unknown label column "ff"`},
		{[]string{"--source", "SELECT * FROM fact_dt_ex1 WHERE false", "--label", "ee"}, "no rows"},
		{[]string{"--source", "SELECT * REPLACE ('1' AS object) FROM fact_dt_ex1", "--label", "ee", "--id", "object"}, `rows 1 and 2 have the same object "1"`},
		{[]string{"--source", "fact_dt_ex1", "--label", "ee", "--decision", "7"}, `no object has decision "7"`},
	} {
		_, stderr, code := runCkm(t, "", append([]string{"mine", "roughset", "--warehouse", wh}, c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, %q; want 1 and %q", c.args, code, stderr, c.msg)
		}
	}
	_ = w.DB.QueryRow(`SELECT count(*) FROM kb_model`).Scan(&n)
	if n != 1 {
		t.Errorf("%d models after the failures, want 1", n)
	}
}
