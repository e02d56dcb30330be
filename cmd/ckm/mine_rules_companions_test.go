package main

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
)

// On a loaded fixture set with planted companion products (2,000
// customers, 2024), ckm mine rules finds every planted pair A ⇒ B with the
// confidence the test counts itself in fact_sales (orders holding A and B
// over orders holding A), within 0.03 of the realised confidence in
// expected.json and not below the planted same-basket probability (4
// standard errors); and the cross-sell holdout (rules from January to
// September, hits from October to December) beats the popularity baseline
// on precision@3 by at least half again, with either ranking.
func TestMineRulesFindsPlantedCompanions(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	exp, err := fixtures.Generate(context.Background(), fixtures.Options{Out: data, Customers: 2000, Days: 366, Seed: 12, Companions: true})
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "w.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", data, "--as-of", exp.ExportDate); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "mine", "rules", "--min-support", "0.0005", "--min-confidence", "0.3", "--format", "json"); code != 0 {
		t.Fatalf("mine rules exit %d: %s", code, stderr)
	}
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range exp.Companions {
		var both, withA int64
		err := w.DB.QueryRow(`WITH o AS (SELECT f.order_id, p.product_code FROM fact_sales_current f JOIN dim_product p ON p.product_key = f.product_key
                WHERE NOT f.is_return AND f.quantity > 0)
            SELECT count(DISTINCT a.order_id) FILTER (WHERE b.order_id IS NOT NULL), count(DISTINCT a.order_id)
            FROM o a LEFT JOIN o b ON b.order_id = a.order_id AND b.product_code = ?
            WHERE a.product_code = ?`, c.Consequent, c.Antecedent).Scan(&both, &withA)
		if err != nil {
			t.Fatal(err)
		}
		var conf float64
		err = w.DB.QueryRow(`SELECT confidence FROM kb_rule WHERE model_id = 1 AND antecedent = [?] AND consequent = ?`, c.Antecedent, c.Consequent).Scan(&conf)
		if err != nil {
			t.Errorf("%s ⇒ %s (%s ⇒ %s) not found: %v", c.Antecedent, c.Consequent, c.AntecedentName, c.ConsequentName, err)
			continue
		}
		realised := float64(c.WithConsequent) / float64(c.Orders)
		se := math.Sqrt(c.SameBasket * (1 - c.SameBasket) / float64(withA))
		t.Logf("%s ⇒ %s: confidence %.4f (%d of %d orders); expected.json %.4f (%d of %d), planted same basket %.2f",
			c.AntecedentName, c.ConsequentName, conf, both, withA, realised, c.WithConsequent, c.Orders, c.SameBasket)
		if math.Abs(conf-float64(both)/float64(withA)) > 1e-12 || math.Abs(conf-realised) > 0.03 || conf < c.SameBasket-4*se {
			t.Errorf("%s ⇒ %s: confidence %v, counted %d/%d, realised %v, planted %v", c.Antecedent, c.Consequent, conf, both, withA, realised, c.SameBasket)
		}
	}
	w.Close()
	for _, rank := range []string{"lift-confidence", "confidence"} {
		out, stderr, code := runCkm(t, "", "--warehouse", wh, "mine", "rules", "--min-support", "0.0005", "--min-confidence", "0.3",
			"--to", "2024-10-01", "--holdout-end", "2025-01-01", "--cross-sell", "3", "--rank", rank, "--format", "json")
		if code != 0 {
			t.Fatalf("holdout exit %d: %s", code, stderr)
		}
		var h struct {
			Rank                string  `json:"rank"`
			Customers           int64   `json:"customers"`
			Recommended         int64   `json:"recommended"`
			Hits                int64   `json:"hits"`
			Precision           float64 `json:"precision_at_n"`
			BaselineRecommended int64   `json:"baseline_recommended"`
			BaselineHits        int64   `json:"baseline_hits"`
			BaselinePrecision   float64 `json:"baseline_precision_at_n"`
		}
		if err := json.Unmarshal([]byte(out), &h); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		t.Logf("rank %s: %d customers; cross-sell %d hits of %d (precision@3 %.4f), popularity %d of %d (%.4f)",
			h.Rank, h.Customers, h.Hits, h.Recommended, h.Precision, h.BaselineHits, h.BaselineRecommended, h.BaselinePrecision)
		if h.Rank != rank || h.Customers < 100 || h.Precision < 1.5*h.BaselinePrecision {
			t.Errorf("rank %s: %+v", rank, h)
		}
	}
}
