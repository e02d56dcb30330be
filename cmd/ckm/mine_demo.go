package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

// The demo's customer value part: RFM segments, the top customers by
// lifetime value, the profit Pareto share and the churn warning, each
// written to the knowledge base like `ckm mine` does.
func init() {
	registerDemoSection(demoSection{Order: 60, Title: "RFM segments (ckm mine rfm)", Run: demoRFM})
	registerDemoSection(demoSection{Order: 61, Title: "Top 10 customers by lifetime value, next 52 weeks (ckm mine clv)", Run: demoCLV})
	registerDemoSection(demoSection{Order: 62, Title: "Profit by decile and the share of the top 20 % (ckm mine profit)", Run: demoProfit})
	registerDemoSection(demoSection{Order: 63, Title: "Churn warning: valuable customers slipping away since 90 days ago (ckm mine churn)", Run: demoChurn})
}

func demoRFM(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	res, err := mining.RFM(ctx, w, mining.RFMOptions{WindowDays: 365, Name: "demo"})
	if err != nil {
		return nil, nil, err
	}
	rows := make([][]any, len(res.Segments))
	for i, s := range res.Segments {
		rows[i] = []any{s.Segment, s.Customers, round(100*s.Share, 1), round(s.Monetary, 2)}
	}
	return []string{"segment", "customers", "share_pct", "monetary_365d"}, rows, nil
}

func demoCLV(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	res, err := mining.CLV(ctx, w, mining.CLVOptions{AnnualDiscountRate: 0.10, Name: "demo"})
	if err != nil {
		return nil, nil, err
	}
	a.logf("clv model %d as of %s (%s): BG/NBD r=%.3f alpha=%.3f a=%.3f b=%.3f; Gamma-Gamma p=%.3f q=%.3f gamma=%.3f",
		res.ModelID, res.AsOf, res.Status, res.Purchases.Model.R, res.Purchases.Model.Alpha, res.Purchases.Model.A, res.Purchases.Model.B,
		res.Spend.Model.P, res.Spend.Model.Q, res.Spend.Model.Gamma)
	rows := make([][]any, len(res.Top))
	for i, c := range res.Top {
		rows[i] = []any{c.CustomerID, c.Frequency, round(c.PAlive, 3), round(c.ExpectedPurchases, 2), round(c.ExpectedSpend, 2), round(c.CLV, 2)}
	}
	return []string{"customer_id", "repeat_purchases", "p_alive", "expected_purchases", "expected_spend", "clv"}, rows, nil
}

func demoProfit(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	res, err := mining.Profit(ctx, w, mining.ProfitOptions{Name: "demo"})
	if err != nil {
		return nil, nil, err
	}
	rows := [][]any{{"top 20 %", "", round(100*res.Top20Share, 1), ""}}
	for _, d := range res.Deciles {
		rows = append(rows, []any{fmt.Sprint("decile ", d.Decile), d.Customers, round(100*d.Share, 1), round(d.Profit, 2)})
	}
	return []string{"customers", "count", "profit_share_pct", "profit"}, rows, nil
}

func demoChurn(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	last, err := mining.RFM(ctx, w, mining.RFMOptions{DryRun: true})
	if err != nil {
		return nil, nil, err
	}
	asOf, err := time.Parse(time.DateOnly, last.AsOf)
	if err != nil {
		return nil, nil, err
	}
	base, err := mining.CLV(ctx, w, mining.CLVOptions{AsOf: asOf.AddDate(0, 0, -90), AnnualDiscountRate: 0.10, Name: "demo-baseline"})
	if err != nil {
		return nil, nil, err
	}
	res, err := mining.Churn(ctx, w, mining.ChurnOptions{AsOf: asOf, CLVModel: base.ModelID, Name: "demo"})
	if err != nil {
		return nil, nil, err
	}
	a.logf("churn: %d of %d customers in the top 3 CLV deciles of model %d at risk, value at risk %.2f",
		len(res.Warnings), res.Watched, base.ModelID, res.ValueAtRisk)
	var rows [][]any
	for i, c := range res.Warnings {
		if i == 10 {
			break
		}
		rows = append(rows, []any{c.CustomerID, round(c.CLV, 2), round(c.PAliveThen, 3), round(c.PAliveNow, 3), c.SilentDays, round(c.ValueAtRisk, 2), c.Reason})
	}
	return []string{"customer_id", "clv_then", "p_alive_then", "p_alive_now", "silent_days", "value_at_risk", "reason"}, rows, nil
}
