package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/mining"
)

// TestNewMineSegmentsCmd checks what ckm mine segments parses its flags
// into and that every bad value is a usage error naming the flag.
func TestNewMineSegmentsCmd(t *testing.T) {
	want := func(w mining.SegmentsOptions) func(*mineSegmentsOptions) string {
		return func(o *mineSegmentsOptions) string {
			if !reflect.DeepEqual(o.SegmentsOptions, w) {
				return "want " + jsonText(w)
			}
			return ""
		}
	}
	def := mining.SegmentsOptions{K: 4, Restarts: 10, Algorithm: "hamerly", SilhouetteSample: 5000}
	every := mining.SegmentsOptions{Source: mining.Source{Table: "feats", Customer: "cust"}, Features: []string{"a", "b"},
		AsOf: day("2024-06-30"), K: 5, KRange: []int{2, 3, 4}, Seed: 42, Restarts: 3, Algorithm: "elkan", SilhouetteSample: 100,
		Name: "n", DryRun: true}
	rng := mining.SegmentsOptions{KRange: []int{2, 3, 4, 5, 6, 7, 8}, Restarts: 10, Algorithm: "hamerly", SilhouetteSample: 5000}
	builtin := def
	builtin.Features = []string{"recency", "avg_order", "returns"}
	env := def
	env.K, env.Algorithm = 6, "lloyd"
	testMineCmd(t, "segments", newMineSegmentsCmd, []mineCase[mineSegmentsOptions]{
		{"defaults with k", nil, []string{"--k", "4"}, want(def), ""},
		{"every flag", nil, []string{"--source", "feats", "--customer-col", "cust", "--features", "a, b", "--as-of", "2024-06-30", "--k", "5",
			"--k-range", "2..4", "--seed", "42", "--restarts", "3", "--algorithm", "elkan", "--silhouette-sample", "100", "--name", "n", "--dry-run"}, want(every), ""},
		{"k range alone", nil, []string{"--k-range", "2..8"}, want(rng), ""},
		{"built-in features", nil, []string{"--k", "4", "--features", "recency,avg_order", "--features", "returns"}, want(builtin), ""},
		{"environment", map[string]string{"CKM_MINE_SEGMENTS_K": "6", "CKM_ALGORITHM": "lloyd"}, nil, want(env), ""},
		{"no k", nil, nil, nil, "--k 0"},
		{"k zero", nil, []string{"--k", "0"}, nil, "--k 0"},
		{"k negative", nil, []string{"--k", "-2"}, nil, "--k -2"},
		{"k NaN", nil, []string{"--k", "NaN"}, nil, `"--k"`},
		{"k from the environment", map[string]string{"CKM_K": "-1"}, nil, nil, "--k -1"},
		{"k range reversed", nil, []string{"--k-range", "5..2"}, nil, `--k-range "5..2"`},
		{"k range from 1", nil, []string{"--k-range", "1..3"}, nil, `--k-range "1..3"`},
		{"k range text", nil, []string{"--k-range", "two..8"}, nil, `--k-range "two..8"`},
		{"seed negative", nil, []string{"--k", "3", "--seed", "-1"}, nil, "--seed -1"},
		{"seed NaN", nil, []string{"--k", "3", "--seed", "NaN"}, nil, `"--seed"`},
		{"restarts zero", nil, []string{"--k", "3", "--restarts", "0"}, nil, "--restarts 0"},
		{"algorithm", nil, []string{"--k", "3", "--algorithm", "minibatch"}, nil, `--algorithm "minibatch"`},
		{"silhouette sample", nil, []string{"--k", "3", "--silhouette-sample", "1"}, nil, "--silhouette-sample 1"},
		{"unknown feature", nil, []string{"--k", "3", "--features", "recency,age"}, nil, `--features: unknown feature "age"`},
		{"feature twice", nil, []string{"--k", "3", "--features", "recency,recency"}, nil, `--features: "recency" named twice`},
		{"customer column without source", nil, []string{"--k", "3", "--customer-col", "c"}, nil, "--customer-col needs --source"},
		{"bad date", nil, []string{"--k", "3", "--as-of", "2024-02-30"}, nil, "--as-of"},
		{"arguments", nil, []string{"x"}, nil, "unknown command"},
	})
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ckm mine segments on a loaded fixture set: the k-selection report stores
// nothing; a model's sizes add up to the customers with purchases, every
// customer has one segment, and ckm_segment_of over features recomputed in
// plain SQL gives every customer its stored segment; bad data is exit 1.
func TestMineSegmentsCommand(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	exports := filepath.Join(dir, "ex")
	if _, stderr, code := runCkm(t, "", "fixtures", "generate", "--out", exports, "--customers", "150", "--days", "45",
		"--seed", "9", "--start", "2024-11-01", "--quiet"); code != 0 {
		t.Fatalf("fixtures: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCkm(t, "", "load", exports, "--warehouse", wh); code != 0 && code != exitRejected {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	sqlOne := func(q string) string {
		t.Helper()
		out, stderr, code := runCkm(t, "", "sql", "--warehouse", wh, "--format", "csv", "-c", q)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", q, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[len(lines)-1]
	}
	customers := sqlOne(`SELECT count(DISTINCT customer_id) FROM fact_sales_current WHERE customer_id >= 0 AND amount >= 0 AND order_ts < DATE '2024-12-17'`)
	out, stderr, code := runCkm(t, "", "mine", "segments", "--warehouse", wh, "--k-range", "2..4", "--as-of", "2024-12-16", "--format", "json")
	var rep struct {
		Customers int `json:"customers"`
		KReport   []struct {
			K          int     `json:"k"`
			Silhouette float64 `json:"silhouette"`
		} `json:"k_report"`
		BestK int `json:"best_k"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.KReport) != 3 || rep.KReport[0].K != 2 || rep.BestK < 2 {
		t.Fatalf("k range: exit %d: %s%s", code, out, stderr)
	}
	if n := sqlOne(`SELECT count(*) FROM kb_model`); n != "0" {
		t.Errorf("the k-selection report stored %s models", n)
	}
	out, stderr, code = runCkm(t, "", "mine", "segments", "--warehouse", wh, "--k", "3", "--seed", "5", "--as-of", "2024-12-16", "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "segment,label,customers,share_pct,value_share_pct,mean_recency,mean_frequency,mean_monetary\n") {
		t.Fatalf("mine segments: exit %d\n%s%s", code, out, stderr)
	}
	if got := sqlOne(`SELECT sum(size) FROM kb_segment WHERE model_id = 1`); got != customers {
		t.Errorf("segment sizes add up to %s, customers with purchases %s", got, customers)
	}
	if got := sqlOne(`SELECT count(*) || '/' || count(DISTINCT customer_id) FROM kb_customer_segment WHERE model_id = 1`); got != customers+"/"+customers {
		t.Errorf("kb_customer_segment rows, customers: %s; want %s each", got, customers)
	}
	// The features by their definitions (purchase days are days with a sale
	// line; monetary is net of returns), in plain SQL.
	mismatch := sqlOne(`WITH p AS (
            SELECT customer_id, CAST(order_ts AS DATE) AS d, amount FROM fact_sales_current
            WHERE customer_id >= 0 AND order_ts < DATE '2024-12-17'),
        f AS (
            SELECT customer_id, datediff('day', max(d) FILTER (WHERE amount >= 0), DATE '2024-12-16') AS r,
                   count(DISTINCT d) FILTER (WHERE amount >= 0) AS fr, sum(amount) AS m
            FROM p GROUP BY customer_id HAVING count(*) FILTER (WHERE amount >= 0) > 0)
        SELECT count(*) FILTER (WHERE ckm_segment_of(1, [r, fr, m]) IS DISTINCT FROM cs.segment_id) || '/' || count(*)
        FROM f JOIN kb_customer_segment cs ON cs.model_id = 1 AND cs.customer_id = f.customer_id`)
	if mismatch != "0/"+customers {
		t.Errorf("ckm_segment_of over the features differs from the stored segment for %s customers", mismatch)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--k", "1000"}, 1, "k = 1000 is more than the " + customers + " customers"},
		{[]string{"--k-range", "2..99"}, 1, "more than the " + customers + " customers"},
		{[]string{"--k", "2", "--source", "SELECT 1 AS customer_id, 'x' AS f"}, 1, "f"},
		{[]string{"--k", "2", "--source", "SELECT range AS customer_id, 1.0 AS f FROM range(5)"}, 1, `feature "f" is constant`},
		{[]string{"--k", "2", "--source", "SELECT range AS customer_id, CASE WHEN range = 3 THEN 'NaN'::DOUBLE ELSE range END AS f FROM range(5)"}, 1, `feature "f" row 3 is NaN`},
		{[]string{"--k", "2", "--source", "SELECT 1 AS customer_id", "--features", "g"}, 1, `unknown features column "g"`},
		{[]string{"--k", "2", "--features", "age"}, 2, `--features: unknown feature "age"`},
	} {
		_, stderr, code := runCkm(t, "", append([]string{"mine", "segments", "--warehouse", wh, "--as-of", "2024-12-16"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	if n := sqlOne(`SELECT count(*) FROM kb_model`); n != "1" {
		t.Errorf("failed runs stored models: %s in kb_model", n)
	}
}
