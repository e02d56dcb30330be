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

// On the data ckm demo generates (2,000 customers, seed 1: planted
// responders and companion products), the demo's cross-sell — product
// rules at support 0.0005 / confidence 0.3 from the first nine months,
// three offers per customer, ranked by lift × confidence — beats the
// popularity baseline (the three products most baskets held that the
// customer has not bought) on the last three months by at least half again
// in precision@3, and, with the rules' offers filled up to three with the
// baseline's items so that both offer every customer three, still makes
// more hits. Measured when written: 0.400 (165 of 413), filled 0.222 (254
// of 1,143), popularity 0.196 (224 of 1,143).
func TestDemoCrossSellBeatsPopularity(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	exp, err := fixtures.Generate(context.Background(), demoFixtures(data, 2000, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Companions) == 0 {
		t.Fatal("the demo's data plants no companion products")
	}
	wh := filepath.Join(dir, "w.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", data, "--as-of", exp.ExportDate); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	h, err := demoCrossSellHoldout(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rules %s..%s, hits to %s: %d customers; cross-sell %d hits of %d (precision@3 %.4f), filled with popularity %d of %d (%.4f), popularity %d of %d (%.4f)",
		h.TrainFrom, h.Split, h.HoldoutEnd, h.Customers, h.Hits, h.Recommended, h.Precision, h.FilledHits, h.FilledRecommended, h.FilledPrecision,
		h.BaselineHits, h.BaselineRecommended, h.BaselinePrecision)
	if h.Split != "2024-10-01" || h.HoldoutEnd != "2025-01-01" || h.N != 3 {
		t.Errorf("split %s, holdout end %s, N %d: want 2024-10-01, 2025-01-01, 3", h.Split, h.HoldoutEnd, h.N)
	}
	if h.Customers < 100 || h.BaselineRecommended < h.Recommended || h.Precision < 1.5*h.BaselinePrecision {
		t.Errorf("cross-sell precision@3 %.4f (%d customers) against popularity %.4f: want at least 1.5×", h.Precision, h.Customers, h.BaselinePrecision)
	}
	// With every customer offered three items, the rules' offers must beat
	// the popular ones they replace.
	if h.FilledRecommended != h.BaselineRecommended || h.FilledPrecision <= h.BaselinePrecision {
		t.Errorf("filled cross-sell %d hits of %d (%.4f) against popularity %d of %d (%.4f): want more hits on as many offers",
			h.FilledHits, h.FilledRecommended, h.FilledPrecision, h.BaselineHits, h.BaselineRecommended, h.BaselinePrecision)
	}
}
