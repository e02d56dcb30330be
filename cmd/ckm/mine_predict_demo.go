package main

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

// The demo's predictive part (#13): a churn tree learnt from the warehouse
// features before a cut-off, as rules; a campaign target list and its lift
// over the random selection of the next campaign; a revenue forecast.
func init() {
	registerDemoSection(demoSection{Order: 70, Title: "Churn tree as rules: who lapses in the last 90 days (ckm mine tree --label-sql --as-of)", Run: demoTolerant(demoChurnTree)})
	registerDemoSection(demoSection{Order: 71, Title: "Campaign target list and its lift over random selection (ckm mine target)", Run: demoTolerant(demoTarget)})
	registerDemoSection(demoSection{Order: 72, Title: "Daily revenue forecast, next 14 days (ckm mine forecast)", Run: demoForecast})
}

// demoTolerant shows why a section learnt nothing (a tiny world may have
// one class, or no campaign with responders) instead of failing the demo.
func demoTolerant(run func(context.Context, *app, *engine.Warehouse) ([]string, [][]any, error)) func(context.Context, *app, *engine.Warehouse) ([]string, [][]any, error) {
	return func(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
		h, rows, err := run(ctx, a, w)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, err
			}
			return []string{"note"}, [][]any{{"nothing learnt: " + err.Error()}}, nil
		}
		return h, rows, nil
	}
}

// demoLastSale is the day after the last sale.
func demoLastSale(ctx context.Context, w *engine.Warehouse) (time.Time, error) {
	var last sql.NullTime
	if err := w.DB.QueryRowContext(ctx, `SELECT max(CAST(order_ts AS DATE)) + 1 FROM fact_sales`).Scan(&last); err != nil {
		return time.Time{}, err
	}
	if !last.Valid {
		return time.Time{}, fmt.Errorf("no sales")
	}
	return last.Time, nil
}

func demoChurnTree(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	end, err := demoLastSale(ctx, w)
	if err != nil {
		return nil, nil, err
	}
	cut := end.AddDate(0, 0, -90)
	label := fmt.Sprintf(`SELECT customer_id, CASE WHEN EXISTS (SELECT 1 FROM fact_sales s WHERE s.customer_id = d.customer_id
        AND s.order_ts >= %s AND s.amount > 0) THEN 'stays' ELSE 'lapses' END AS churn
        FROM (SELECT DISTINCT customer_id FROM fact_sales WHERE customer_id > 0 AND order_ts < %s) d`, demoDate(cut), demoDate(cut))
	res, err := mining.MineTree(ctx, w, mining.TreeOptions{Source: mining.Source{Label: "churn"}, Positive: "lapses", Name: "demo-churn",
		FromWarehouse: mining.FeatureOptions{AsOf: cut, LabelSQL: label}})
	if err != nil {
		return nil, nil, err
	}
	m := res.Metrics
	a.logf("churn tree model %d: features before %s, %d customers; %d nodes; test accuracy %.3f beside the majority class's %.3f",
		res.ModelID, cut.Format(time.DateOnly), m.TrainRows+m.TestRows, res.Size, m.Accuracy, m.MajorityAccuracy)
	rules := res.Tree.Rules()
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Weight > rules[j].Weight })
	var rows [][]any
	for _, r := range rules {
		if r.Class != "lapses" {
			continue
		}
		rows = append(rows, []any{"IF " + strings.Join(r.Conditions, " AND ") + " THEN lapses", round(1-r.Errors/r.Weight, 3), round(r.Weight, 0)})
		if len(rows) == 8 {
			break
		}
	}
	return []string{"rule", "confidence", "customers"}, rows, nil
}

func demoDate(t time.Time) string { return "DATE '" + t.Format(time.DateOnly) + "'" }

// demoTarget trains on the second-to-last campaign that targeted members,
// scores customers on the eve of the last one, and measures the list
// against the members the last campaign targeted at random.
func demoTarget(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	var train, next string
	var nextStart time.Time
	err := w.DB.QueryRowContext(ctx, `WITH c AS (SELECT campaign_code, start_date FROM dim_campaign c
            WHERE EXISTS (SELECT 1 FROM fact_campaign f WHERE f.campaign_key = c.campaign_key AND f.responded) ORDER BY start_date DESC LIMIT 2)
        SELECT max(campaign_code) FILTER (WHERE start_date = (SELECT min(start_date) FROM c)),
            max(campaign_code) FILTER (WHERE start_date = (SELECT max(start_date) FROM c)), max(start_date) FROM c`).Scan(&train, &next, &nextStart)
	if err != nil {
		return nil, nil, fmt.Errorf("campaigns: %w", err)
	}
	res, err := mining.MineTarget(ctx, w, mining.TargetOptions{Campaign: train, Top: 500, ContactCost: 5, AsOf: nextStart, Name: "demo"})
	if err != nil {
		return nil, nil, err
	}
	var overlap, overlapResp, targeted, responded int
	if err := w.DB.QueryRowContext(ctx, `WITH b AS (SELECT customer_id, bool_or(responded) AS r FROM fact_campaign WHERE targeted AND customer_id > 0
            AND campaign_key = (SELECT campaign_key FROM dim_campaign WHERE campaign_code = ?) GROUP BY 1),
            l AS (SELECT customer_id FROM kb_target WHERE model_id = ?)
        SELECT (SELECT count(*) FROM b JOIN l USING (customer_id)), (SELECT count(*) FILTER (WHERE r) FROM b JOIN l USING (customer_id)),
            (SELECT count(*) FROM b), (SELECT count(*) FILTER (WHERE r) FROM b)`, next, res.ModelID).Scan(&overlap, &overlapResp, &targeted, &responded); err != nil {
		return nil, nil, err
	}
	rate := func(k, n int) float64 {
		if n == 0 {
			return 0
		}
		return float64(k) / float64(n)
	}
	lift := 0.0
	if rate(responded, targeted) > 0 {
		lift = rate(overlapResp, overlap) / rate(responded, targeted)
	}
	rows := [][]any{
		{"trained on", train, fmt.Sprintf("%d targeted, %.1f %% responded", res.Targeted, 100*res.ResponseRate)},
		{"list", fmt.Sprintf("%d customers", res.Listed), fmt.Sprintf("%d without consent, %d on the do-not-contact list left out", res.NoConsent, res.DoNotContact)},
		{"expected", fmt.Sprintf("%.0f responses", res.ExpectedResp), fmt.Sprintf("profit %.2f at contact cost 5", res.ExpectedProfit)},
		{"random selection (" + next + ")", fmt.Sprintf("%.1f %% responded", 100*rate(responded, targeted)), fmt.Sprintf("%d targeted at random", targeted)},
		{"listed among them", fmt.Sprintf("%.1f %% responded", 100*rate(overlapResp, overlap)), fmt.Sprintf("%d customers: lift %.2f", overlap, lift)},
	}
	for i, r := range res.ResponderRules {
		if i == 3 {
			break
		}
		rows = append(rows, []any{"responders", "IF " + strings.Join(r.Conditions, " AND "), fmt.Sprintf("confidence %.2f, %.0f members", r.Confidence, r.Members)})
	}
	return []string{"target", "value", "detail"}, rows, nil
}

func demoForecast(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	res, err := mining.Forecast(ctx, w, mining.ForecastOptions{Grain: mining.GrainDay, Horizon: 14, Holdout: 14, Name: "demo"})
	if err != nil {
		return nil, nil, err
	}
	if res.HWErrors != nil && res.Naive != nil {
		a.logf("forecast model %d: Holt-Winters alpha %.3f beta %.3f gamma %.3f; 14-day holdout MASE %.3f (seasonal naive %.3f)",
			res.ModelID, res.Alpha, res.Beta, res.Gamma, res.HWErrors.MASE, res.Naive.MASE)
	}
	var rows [][]any
	for _, p := range res.Forecast {
		rows = append(rows, []any{p.Period.Format(time.DateOnly), round(p.Value, 2), round(p.Lower, 2), round(p.Upper, 2)})
	}
	return []string{"day", "revenue", "lower_95", "upper_95"}, rows, nil
}
