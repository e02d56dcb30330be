package mining

import (
	"context"
	"fmt"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// ProfitOptions configure the profitability operator.
type ProfitOptions struct {
	// Source must have a cost column (fact_sales.cost_amount by default).
	Source Source
	// AsOf ends the period (zero: the last purchase day).
	AsOf time.Time
	// WindowDays keeps purchases in (AsOf − WindowDays, AsOf]; 0 keeps all.
	WindowDays int
	// ServiceCostPerInteraction, when positive, charges each customer this
	// much per fact_interaction row in the same period.
	ServiceCostPerInteraction float64
	Name                      string
	DryRun                    bool
}

// ProfitResult summarises per-customer profitability.
type ProfitResult struct {
	ModelID     int64          `json:"model_id"`
	AsOf        string         `json:"as_of"`
	Customers   int64          `json:"customers"`
	Revenue     float64        `json:"revenue"`
	Returns     float64        `json:"returns"`
	Cost        float64        `json:"cost"`
	ServiceCost float64        `json:"service_cost"`
	Profit      float64        `json:"profit"`
	Top20Share  float64        `json:"top20_share"` // share of total profit earned from the top 20 % of customers
	Deciles     []ProfitDecile `json:"deciles"`
}

// ProfitDecile is one tenth of the customers ranked by profit (1 = most
// profitable) and the Pareto curve point after it.
type ProfitDecile struct {
	Decile          int     `json:"decile"`
	Customers       int64   `json:"customers"`
	Profit          float64 `json:"profit"`
	Share           float64 `json:"share"`
	CumulativeShare float64 `json:"cumulative_share"`
}

// profitSQL returns per-customer profit: revenue = sales lines (amount ≥ 0),
// returns = the returned amount (positive), cost = net cost of goods (the
// cost of returned goods comes back), service_cost = interactions × rate,
// profit = revenue − returns − cost − service_cost, and profit_decile
// (ntile 10 by profit descending, customer id breaking ties). asOf (a DATE,
// NULL for the last purchase day), window and rate are SQL expressions.
func profitSQL(src Source, asOf, window, rate string) string {
	return fmt.Sprintf(`WITH purchases AS (%[1]s),
params AS (SELECT %[2]s AS ref_day, coalesce(%[3]s, 0) AS window_len, coalesce(%[4]s, 0) AS svc_rate),
sales AS (
    SELECT customer_id,
           sum(amount) FILTER (WHERE amount >= 0) AS revenue,
           -sum(amount) FILTER (WHERE amount < 0) AS returns,
           sum(cost) AS cost
    FROM purchases, params WHERE day <= ref_day AND (window_len <= 0 OR day > ref_day - CAST(window_len AS INTEGER))
    GROUP BY customer_id
),
service AS (
    SELECT customer_id, count(*) AS interactions FROM fact_interaction, params
    WHERE svc_rate > 0 AND customer_id >= 0 AND CAST(contact_ts AS DATE) <= ref_day
      AND (window_len <= 0 OR CAST(contact_ts AS DATE) > ref_day - CAST(window_len AS INTEGER))
    GROUP BY customer_id
),
customers AS (
    SELECT customer_id,
           CAST(coalesce(s.revenue, 0) AS DOUBLE) AS revenue,
           CAST(coalesce(s.returns, 0) AS DOUBLE) AS returns,
           CAST(coalesce(s.cost, 0) AS DOUBLE) AS cost,
           coalesce(v.interactions, 0) * (SELECT svc_rate FROM params) AS service_cost
    FROM sales s FULL JOIN service v USING (customer_id)
)
SELECT *, revenue - returns - cost - service_cost AS profit,
       ntile(10) OVER (ORDER BY revenue - returns - cost - service_cost DESC, customer_id) AS profit_decile
FROM customers`, src.purchasesSQL(true), asOf, window, rate)
}

// Profit computes per-customer profitability, its deciles and the Pareto
// share of the top 20 %, and writes the model and scores to the knowledge
// base.
func Profit(ctx context.Context, w *engine.Warehouse, o ProfitOptions) (*ProfitResult, error) {
	o.Source = o.Source.withDefaults()
	if o.Name == "" {
		o.Name = "profit"
	}
	if o.WindowDays < 0 || o.ServiceCostPerInteraction < 0 {
		return nil, fmt.Errorf("profit: window (%d days) and service cost (%v) must not be negative", o.WindowDays, o.ServiceCostPerInteraction)
	}
	run, err := startRun(ctx, w, "profit", o.Source, append(purchaseRoles, RoleCost)...)
	if err != nil {
		return nil, err
	}
	defer run.close()
	asOf := o.AsOf
	if asOf.IsZero() {
		if asOf, err = resolveAsOf(ctx, w, o.Source, o.AsOf); err != nil {
			return nil, run.fail(err)
		}
	}
	const table = "ckm_profit_scores"
	if err := run.temp(ctx, table, profitSQL(o.Source, dateLit(asOf), fmt.Sprint(o.WindowDays), fmt.Sprint(o.ServiceCostPerInteraction))); err != nil {
		return nil, run.fail(err)
	}
	res := &ProfitResult{AsOf: asOf.Format(time.DateOnly)}
	err = run.conn.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(revenue), 0), coalesce(sum(returns), 0), coalesce(sum(cost), 0),
            coalesce(sum(service_cost), 0), coalesce(sum(profit), 0),
            coalesce(sum(profit) FILTER (WHERE rn <= ceil(0.2 * n)) / nullif(sum(profit), 0), 0)
        FROM (SELECT *, row_number() OVER (ORDER BY profit DESC, customer_id) AS rn, count(*) OVER () AS n FROM `+table+`)`).
		Scan(&res.Customers, &res.Revenue, &res.Returns, &res.Cost, &res.ServiceCost, &res.Profit, &res.Top20Share)
	if err != nil {
		return nil, run.fail(err)
	}
	if res.Customers == 0 {
		if _, err := resolveAsOf(ctx, w, o.Source, asOf); err != nil {
			return nil, run.fail(err)
		}
		return nil, fmt.Errorf("profit: %s: %w in the %d days up to %s", o.Source.name(), ErrEmpty, o.WindowDays, res.AsOf)
	}
	if res.Deciles, err = profitDeciles(ctx, run.conn, table); err != nil {
		return nil, run.fail(err)
	}
	if o.DryRun {
		return res, nil
	}
	rec := modelRecord{Name: o.Name, Status: "ok", AsOf: asOf,
		Params: map[string]any{"source": o.Source, "as_of": res.AsOf, "window_days": o.WindowDays,
			"service_cost_per_interaction": o.ServiceCostPerInteraction},
		Metrics: res,
	}
	res.ModelID, err = run.save(ctx, rec, scoresWrite(asOf, unpivotSQL(table, []metricCol{
		{"revenue", "revenue", "NULL"},
		{"returns", "returns", "NULL"},
		{"cost", "cost", "NULL"},
		{"service_cost", "service_cost", "NULL"},
		{"profit", "profit", "NULL"},
		{"profit_decile", "profit_decile", "NULL"},
	})))
	if err != nil {
		return nil, err
	}
	return res, nil
}

func profitDeciles(ctx context.Context, q querier, table string) ([]ProfitDecile, error) {
	rows, err := q.QueryContext(ctx, `SELECT profit_decile, count(*), sum(profit),
            sum(profit) / nullif(sum(sum(profit)) OVER (), 0),
            sum(sum(profit)) OVER (ORDER BY profit_decile) / nullif(sum(sum(profit)) OVER (), 0)
        FROM `+table+` GROUP BY profit_decile ORDER BY profit_decile`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ProfitDecile
	for rows.Next() {
		var d ProfitDecile
		var share, cum *float64
		if err := rows.Scan(&d.Decile, &d.Customers, &d.Profit, &share, &cum); err != nil {
			return nil, err
		}
		if share != nil {
			d.Share, d.CumulativeShare = *share, *cum
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
