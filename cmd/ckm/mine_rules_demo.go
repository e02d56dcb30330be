package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/mining"
)

// demoFixtures are the generator options of ckm demo: planted responders
// (the campaign section) and planted companion products (this section),
// each drawn from a random stream of its own.
func demoFixtures(out string, customers int, seed int64) fixtures.Options {
	return fixtures.Options{Out: out, Customers: customers, Seed: seed, Responders: true, Companions: true}
}

// The demo's rules part: products bought together, what to offer whom
// (written to the knowledge base like `ckm mine rules --cross-sell` does),
// and how well those offers did on a time split beside the most popular
// products.
func init() {
	registerDemoSection(demoSection{Order: 64, Title: "Bought together: top rules between products, and cross-sell (ckm mine rules)", Run: demoRules})
}

// demoRulesOptions are the demo's rules: products in orders, support
// 0.0005 and confidence 0.3 (the planted companions' scale), three offers
// per customer.
func demoRulesOptions() mining.RulesOptions {
	return mining.RulesOptions{MinSupport: 0.0005, MinConfidence: 0.3, CrossSell: 3, Top: 10, Name: "demo"}
}

func demoRules(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	res, err := mining.MineRules(ctx, w, demoRulesOptions())
	if err != nil {
		return nil, nil, err
	}
	a.logf("rules model %d: %d rules between products in %d orders; %d cross-sell offers in kb_recommendation (SELECT * FROM ckm_cross_sell(customer_id, 3))",
		res.ModelID, res.RuleCount, res.Baskets, res.Recommendations)
	if h, err := demoCrossSellHoldout(ctx, w); err != nil {
		a.logf("cross-sell holdout: %v", err)
	} else {
		a.logf("cross-sell holdout (rules from %s to %s, hits to %s): precision@%d %.3f (%d of %d offers; %.3f filled up to %d per customer from the popular products) against %.3f for the most popular products (%d of %d)",
			h.TrainFrom, h.Split, h.HoldoutEnd, h.N, h.Precision, h.Hits, h.Recommended, h.FilledPrecision, h.N, h.BaselinePrecision, h.BaselineHits, h.BaselineRecommended)
	}
	names := demoProductNames(ctx, w)
	rows := make([][]any, len(res.Top))
	for i, r := range res.Top {
		ante := make([]string, len(r.Antecedent))
		for j, c := range r.Antecedent {
			ante[j] = names(c)
		}
		rows[i] = []any{strings.Join(ante, " + "), names(r.Consequent), round(r.Support, 4), round(r.Confidence, 3), round(r.Lift, 2), r.Count}
	}
	return []string{"bought", "then_also", "support", "confidence", "lift", "orders"}, rows, nil
}

// demoCrossSellHoldout evaluates the demo's cross-sell on a time split of
// the sales year: rules from its first nine months, hits in the last three.
func demoCrossSellHoldout(ctx context.Context, w *engine.Warehouse) (*mining.CrossSellHoldout, error) {
	var first time.Time
	if err := w.DB.QueryRowContext(ctx, `SELECT CAST(date_trunc('month', min(order_ts)) AS DATE) FROM fact_sales_current`).Scan(&first); err != nil {
		return nil, fmt.Errorf("the sales period: %w", err)
	}
	o := demoRulesOptions()
	o.From, o.To, o.Name = first, first.AddDate(0, 9, 0), ""
	return mining.EvaluateCrossSell(ctx, w, o, first.AddDate(0, 12, 0))
}

// demoProductNames labels a product code with its name ("name (code)"),
// or leaves the code as it is when dim_product does not name it.
func demoProductNames(ctx context.Context, w *engine.Warehouse) func(string) string {
	names := map[string]string{}
	rows, err := w.DB.QueryContext(ctx, `SELECT product_code, any_value(product_name) FROM dim_product WHERE product_name IS NOT NULL GROUP BY 1`)
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var code, name string
			if rows.Scan(&code, &name) == nil {
				names[code] = name
			}
		}
	}
	return func(code string) string {
		if n, ok := names[code]; ok {
			return n + " (" + code + ")"
		}
		return code
	}
}
