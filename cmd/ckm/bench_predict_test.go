package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestNewBenchPredictCmd checks what ckm bench predict parses its flags into.
func TestNewBenchPredictCmd(t *testing.T) {
	def := benchPredictOptions{repeat: 5, customers: 1000000, weka: "/usr/share/java/weka.jar", java: "java", python: "/usr/bin/python3", peerTimeout: 3600}
	every := benchPredictOptions{repeat: 1, customers: 0, weka: "w.jar", java: "/j", python: "/p", j48Large: true, peerTimeout: 60}
	cases := []parseCase[benchPredictOptions]{
		{name: "defaults", want: def},
		{name: "every flag", args: []string{"--repeat", "1", "--customers", "0", "--weka", "w.jar", "--java", "/j", "--python", "/p", "--j48-large", "--peer-timeout", "60"}, want: every},
		{name: "repeat zero", args: []string{"--repeat", "0"}, err: "--repeat 0"},
		{name: "few customers", args: []string{"--customers", "10"}, err: "--customers 10"},
		{name: "timeout", args: []string{"--peer-timeout", "0"}, err: "--peer-timeout 0"},
	}
	checkParse(t, []string{"bench"}, newBenchPredictCmd, []string{"bench", "predict"}, func(o *benchPredictOptions) { o.app = nil }, cases)
}

// ckm bench predict without its peers: C4.5 on the built-in Telco split
// scores J48's committed 1,639 of 2,113 test rows, the SQL CASE gives Go's
// class on every generated row, and the missing peers are notes, not
// failures.
func TestBenchPredictWithoutPeers(t *testing.T) {
	out, stderr, code := runCkm(t, "", "bench", "predict", "--customers", "3000", "--repeat", "1", "--weka", "/nonexistent/weka.jar",
		"--python", "/nonexistent/python3", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		TreeAccuracy float64  `json:"tree_accuracy"`
		TreeSize     int      `json:"tree_size"`
		CaseRows     int      `json:"case_rows"`
		CaseAgree    int      `json:"case_agree_with_go"`
		CaseSeconds  *float64 `json:"case_score_seconds"`
		ExprSeconds  *float64 `json:"case_expr_seconds"`
		TreeRatio    *float64 `json:"tree_ratio"`
		Notes        []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if math.Abs(res.TreeAccuracy-100*1639.0/2113) > 1e-9 || res.TreeSize != 439 || res.CaseRows != 3000 || res.CaseAgree != 3000 || res.CaseSeconds == nil || res.ExprSeconds == nil || res.TreeRatio != nil {
		t.Errorf("result %+v", res)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"Weka skipped: /nonexistent/weka.jar not found", "scikit-learn skipped: /nonexistent/python3 not found"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}
