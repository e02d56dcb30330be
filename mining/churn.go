package mining

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// ChurnOptions configure the churn warning.
type ChurnOptions struct {
	Source Source
	// AsOf is the day the warning is judged at (zero: the last purchase day).
	AsOf time.Time
	// CLVModel is the clv model in kb_model whose values and P(alive) are the
	// baseline (0: the latest clv model).
	CLVModel int64
	// TopDeciles limits the warning to the customers in the top CLV deciles
	// of that model (3).
	TopDeciles int
	// MinPAliveDrop warns when P(alive) fell by at least this much since
	// the model (0.2).
	MinPAliveDrop float64
	// SilenceFactor warns when the days since the last purchase exceed this
	// many times the customer's mean days between purchases (2).
	SilenceFactor float64
	Name          string
	DryRun        bool
}

// ChurnWarning is one valuable customer who may be slipping away.
type ChurnWarning struct {
	CustomerID   int64    `json:"customer_id"`
	CLV          float64  `json:"clv"`
	CLVDecile    int      `json:"clv_decile"`
	PAliveThen   float64  `json:"p_alive_then"`
	PAliveNow    float64  `json:"p_alive_now"`
	SilentDays   int64    `json:"silent_days"`
	UsualGapDays *float64 `json:"usual_gap_days"`
	ValueAtRisk  float64  `json:"value_at_risk"` // clv × (1 − P(alive) now)
	Reason       string   `json:"reason"`
}

// ChurnResult lists the warnings, largest value at risk first.
type ChurnResult struct {
	ModelID     int64          `json:"model_id"`
	CLVModel    int64          `json:"clv_model"`
	AsOf        string         `json:"as_of"`
	Watched     int64          `json:"watched"` // customers in the top deciles
	ValueAtRisk float64        `json:"value_at_risk"`
	Warnings    []ChurnWarning `json:"warnings"`
}

// Churn warns about the valuable customers (top CLV deciles of a clv
// model) whose P(alive), recomputed with the model's parameters on the
// history up to AsOf, fell since the model, or whose silence exceeds their
// usual time between purchases; ranked by value at risk.
func Churn(ctx context.Context, w *engine.Warehouse, o ChurnOptions) (*ChurnResult, error) {
	o.Source = o.Source.withDefaults()
	if o.TopDeciles == 0 {
		o.TopDeciles = 3
	}
	if o.MinPAliveDrop == 0 {
		o.MinPAliveDrop = 0.2
	}
	if o.SilenceFactor == 0 {
		o.SilenceFactor = 2
	}
	if o.Name == "" {
		o.Name = "churn"
	}
	if o.TopDeciles < 1 || o.TopDeciles > 10 || o.MinPAliveDrop < 0 || o.SilenceFactor < 0 {
		return nil, fmt.Errorf("churn: top deciles %d must be in 1..10, p_alive drop and silence factor not negative", o.TopDeciles)
	}
	if err := Setup(ctx, w); err != nil {
		return nil, err
	}
	run, err := startRun(ctx, w, "churn", o.Source, purchaseRoles...)
	if err != nil {
		return nil, err
	}
	defer run.close()
	model, _, err := clvModel(ctx, w, o.CLVModel)
	if err != nil {
		return nil, run.fail(err)
	}
	asOf, err := resolveAsOf(ctx, w, o.Source, o.AsOf)
	if err != nil {
		return nil, run.fail(err)
	}
	const table = "ckm_churn_warnings"
	if err := run.temp(ctx, table, churnSQL(o.Source, dateLit(asOf), fmt.Sprint(model),
		fmt.Sprint(o.TopDeciles), fmt.Sprint(o.MinPAliveDrop), fmt.Sprint(o.SilenceFactor))); err != nil {
		return nil, run.fail(err)
	}
	res := &ChurnResult{CLVModel: model, AsOf: asOf.Format(time.DateOnly)}
	if err := run.conn.QueryRowContext(ctx, "SELECT count(*), coalesce(sum(value_at_risk) FILTER (WHERE dropped OR silent), 0) FROM "+table).Scan(&res.Watched, &res.ValueAtRisk); err != nil {
		return nil, run.fail(err)
	}
	if res.Watched == 0 {
		return nil, fmt.Errorf("churn: no customer of clv model %d in its top %d deciles has purchases up to %s", model, o.TopDeciles, res.AsOf)
	}
	if res.Warnings, err = churnWarnings(ctx, run.conn, table); err != nil {
		return nil, run.fail(err)
	}
	if o.DryRun {
		return res, nil
	}
	rec := modelRecord{Name: o.Name, Status: "ok", AsOf: asOf,
		Params: map[string]any{"source": o.Source, "as_of": res.AsOf, "clv_model": model, "top_deciles": o.TopDeciles,
			"min_p_alive_drop": o.MinPAliveDrop, "silence_factor": o.SilenceFactor},
		Metrics: map[string]any{"watched": res.Watched, "warnings": len(res.Warnings), "value_at_risk": res.ValueAtRisk},
	}
	res.ModelID, err = run.save(ctx, rec, scoresWrite(asOf, `SELECT customer_id, 'churn_value_at_risk' AS metric, value_at_risk AS value, reason AS label FROM `+table+` WHERE dropped OR silent
        UNION ALL SELECT customer_id, 'p_alive_now', p_now, NULL FROM `+table+` WHERE dropped OR silent`))
	if err != nil {
		return nil, err
	}
	return res, nil
}

// churnSQL judges the customers of a clv model's top CLV deciles at asOf
// (SQL expressions throughout, so the ckm_churn macro shares it): P(alive)
// is recomputed with the model's BG/NBD parameters (read from kb_model) on
// the calibration summary up to asOf; a customer is "dropped" when it fell
// by at least the given amount since the model, and "silent" when the days
// since the last purchase exceed the factor times the mean days between
// purchase days; value at risk = clv × (1 − P(alive) now). P(alive) is
// BGNBD.ProbabilityAlive written in SQL, not a call of the Go function
// ckm_bgnbd_p_alive: the engine's migration creates the macro, before any
// Go function is registered.
func churnSQL(src Source, asOf, model, topDeciles, minDrop, silenceFactor string) string {
	return fmt.Sprintf(`WITH bg AS (
    SELECT CAST(params->>'$.bgnbd.r' AS DOUBLE) AS r, CAST(params->>'$.bgnbd.alpha' AS DOUBLE) AS alpha,
           CAST(params->>'$.bgnbd.a' AS DOUBLE) AS a, CAST(params->>'$.bgnbd.b' AS DOUBLE) AS b
    FROM kb_model km WHERE km.model_id = %[3]s AND km.kind = 'clv'
),
scores AS (
    SELECT ks.customer_id,
           max(ks.value) FILTER (WHERE ks.metric = 'clv') AS clv,
           max(ks.value) FILTER (WHERE ks.metric = 'clv_decile') AS decile,
           max(ks.value) FILTER (WHERE ks.metric = 'p_alive') AS p_then
    FROM kb_customer_score ks WHERE ks.model_id = %[3]s AND ks.metric IN ('clv', 'clv_decile', 'p_alive')
    GROUP BY ks.customer_id
),
base AS (SELECT * FROM scores WHERE decile <= %[4]s),
summary AS (%[2]s),
now AS (
    SELECT customer_id, CASE WHEN frequency = 0 THEN 1.0 ELSE 1 / (1 + bg.a / (bg.b + frequency - 1) * exp((bg.r + frequency) * (ln(bg.alpha + age) - ln(bg.alpha + recency)))) END AS p_now,
           datediff('day', last_day, %[1]s) AS silent_days,
           CASE WHEN frequency > 0 THEN datediff('day', first_day, last_day) / frequency END AS usual_gap
    FROM summary, bg
),
judged AS (
    SELECT b.customer_id, b.clv, CAST(b.decile AS INTEGER) AS decile, b.p_then, n.p_now, n.silent_days, n.usual_gap,
           b.p_then - n.p_now >= %[5]s AS dropped,
           n.usual_gap IS NOT NULL AND n.silent_days > %[6]s * n.usual_gap AS silent
    FROM base b JOIN now n USING (customer_id)
)
SELECT *, clv * (1 - p_now) AS value_at_risk,
       concat_ws('; ',
           CASE WHEN dropped THEN printf('P(alive) fell from %%.2f to %%.2f', p_then, p_now) END,
           CASE WHEN silent THEN printf('silent %%d days, usually buys every %%.0f days', silent_days, usual_gap) END) AS reason
FROM judged`, asOf, summarySQLExpr(src, "", asOf, ""), model, topDeciles, minDrop, silenceFactor)
}

func churnWarnings(ctx context.Context, q querier, table string) ([]ChurnWarning, error) {
	rows, err := q.QueryContext(ctx, `SELECT customer_id, clv, decile, p_then, p_now, silent_days, usual_gap, value_at_risk, reason
        FROM `+table+` WHERE dropped OR silent ORDER BY value_at_risk DESC, customer_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ChurnWarning
	for rows.Next() {
		var c ChurnWarning
		if err := rows.Scan(&c.CustomerID, &c.CLV, &c.CLVDecile, &c.PAliveThen, &c.PAliveNow, &c.SilentDays, &c.UsualGapDays, &c.ValueAtRisk, &c.Reason); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// clvModel finds the clv model (the latest when id is 0) and its BG/NBD
// parameters.
func clvModel(ctx context.Context, w *engine.Warehouse, id int64) (int64, BGNBD, error) {
	q := `SELECT model_id, params->>'$.bgnbd' FROM kb_model WHERE kind = 'clv' AND model_id = ?`
	args := []any{id}
	if id == 0 {
		q, args = `SELECT model_id, params->>'$.bgnbd' FROM kb_model WHERE kind = 'clv' ORDER BY model_id DESC LIMIT 1`, nil
	}
	var params string
	err := w.DB.QueryRowContext(ctx, q, args...).Scan(&id, &params)
	if errors.Is(err, sql.ErrNoRows) {
		if len(args) == 0 {
			return 0, BGNBD{}, errors.New("no clv model in kb_model: run `ckm mine clv` first")
		}
		return 0, BGNBD{}, fmt.Errorf("model %d is not a clv model in kb_model", args[0])
	}
	if err != nil {
		return 0, BGNBD{}, err
	}
	var m BGNBD
	if err := json.Unmarshal([]byte(params), &m); err != nil || !(m.R > 0 && m.Alpha > 0 && m.A > 0 && m.B > 0) {
		return 0, BGNBD{}, fmt.Errorf("clv model %d: bad bgnbd parameters %s", id, params)
	}
	return id, m, nil
}
