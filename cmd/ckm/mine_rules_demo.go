package main

import (
	"context"
	"strings"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

// The demo's rules part: product lines bought together, and what to offer
// whom, written to the knowledge base like `ckm mine rules --cross-sell` does.
func init() {
	registerDemoSection(demoSection{Order: 64, Title: "Bought together: top rules between product lines, and cross-sell (ckm mine rules)", Run: demoRules})
}

func demoRules(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	res, err := mining.MineRules(ctx, w, mining.RulesOptions{Source: mining.Source{Category: "product_line"}, Level: mining.LevelCategory,
		MinSupport: 0.001, MinConfidence: 0.2, CrossSell: 3, Top: 10, Name: "demo"})
	if err != nil {
		return nil, nil, err
	}
	a.logf("rules model %d: %d rules between product lines in %d orders; %d cross-sell offers in kb_recommendation (SELECT * FROM ckm_cross_sell(customer_id, 3))",
		res.ModelID, res.RuleCount, res.Baskets, res.Recommendations)
	rows := make([][]any, len(res.Top))
	for i, r := range res.Top {
		rows[i] = []any{strings.Join(r.Antecedent, " + "), r.Consequent, round(r.Support, 4), round(r.Confidence, 3), round(r.Lift, 2), r.Count}
	}
	return []string{"bought", "then_also", "support", "confidence", "lift", "orders"}, rows, nil
}
