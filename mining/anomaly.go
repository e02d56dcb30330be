package mining

import (
	"context"
	"fmt"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// AnomalyOptions configure deviation detection.
type AnomalyOptions struct {
	Source Source
	// AsOf ends the period examined (zero: the last purchase day).
	AsOf time.Time
	// PeriodDays is the length of the periods compared (30): period 0 is
	// (AsOf − PeriodDays, AsOf], period 1 the one before, and so on.
	PeriodDays int
	// HistoryPeriods is how many periods before period 0 form a customer's
	// own history (12); periods before the first purchase are left out and
	// silent periods after it count as 0.
	HistoryPeriods int
	// MinHistory is the fewest history periods a customer needs (4).
	MinHistory int
	// ZThreshold flags |robust z| ≥ it (3.5).
	ZThreshold float64
	// JumpFactor flags a period-over-period change by this factor or more,
	// up or down, from a positive previous period (3).
	JumpFactor float64
	// MinChange ignores changes smaller than this amount (0).
	MinChange float64
	// MinRelativeChange ignores a z-score deviation smaller than this share
	// of the median (0.25): a customer whose history hardly varies would
	// otherwise be flagged for an ordinary 10 % wobble.
	MinRelativeChange float64
	Name              string
	DryRun            bool
}

func (o AnomalyOptions) withDefaults() AnomalyOptions {
	o.Source = o.Source.withDefaults()
	if o.PeriodDays == 0 {
		o.PeriodDays = 30
	}
	if o.HistoryPeriods == 0 {
		o.HistoryPeriods = 12
	}
	if o.MinHistory == 0 {
		o.MinHistory = 4
	}
	if o.ZThreshold == 0 {
		o.ZThreshold = 3.5
	}
	if o.JumpFactor == 0 {
		o.JumpFactor = 3
	}
	if o.MinRelativeChange == 0 {
		o.MinRelativeChange = 0.25
	}
	if o.Name == "" {
		o.Name = "anomaly"
	}
	return o
}

// Deviation is one flagged customer.
type Deviation struct {
	CustomerID int64    `json:"customer_id"`
	Current    float64  `json:"current"`  // net amount in period 0
	Previous   float64  `json:"previous"` // net amount in period 1
	Median     float64  `json:"median"`   // of the history periods
	RobustZ    *float64 `json:"robust_z"` // nil when the history has no spread or a median of 0
	Change     float64  `json:"change"`   // current − previous
	Reason     string   `json:"reason"`
}

// AnomalyResult lists the flagged customers, largest deviation first.
type AnomalyResult struct {
	ModelID  int64       `json:"model_id"`
	AsOf     string      `json:"as_of"`
	Examined int64       `json:"examined"`
	Flagged  []Deviation `json:"flagged"`
}

// anomalyParams are the SQL expressions anomalySQL is built from, so the
// Go operator passes literals and the ckm_anomaly macro its parameters.
type anomalyParams struct {
	AsOf, PeriodDays, HistoryPeriods, MinHistory, ZThreshold, JumpFactor, MinChange, MinRelativeChange string
}

func (o AnomalyOptions) params(asOf string) anomalyParams {
	return anomalyParams{asOf, fmt.Sprint(o.PeriodDays), fmt.Sprint(o.HistoryPeriods), fmt.Sprint(o.MinHistory),
		fmt.Sprint(o.ZThreshold), fmt.Sprint(o.JumpFactor), fmt.Sprint(o.MinChange), fmt.Sprint(o.MinRelativeChange)}
}

// anomalySQL computes, per customer, the net amount of each period, the
// median and MAD of the history periods, the robust z-score of period 0,
// 0.6745·(x − median)/MAD (with 1.2533·mean absolute deviation in place of
// a zero MAD, and no z when both are 0 or when the median period is empty:
// for a customer who buys in fewer than half the periods any purchase would
// look sudden, so only the jump rule judges them) and the change from
// period 1, and keeps the customers flagged by either rule, with the reason.
func anomalySQL(src Source, p anomalyParams) string {
	return fmt.Sprintf(`WITH purchases AS (%[1]s),
params AS (
    SELECT %[2]s AS ref_day, CAST(%[3]s AS INTEGER) AS pd,
           CAST(%[4]s AS INTEGER) AS hp, CAST(%[5]s AS INTEGER) AS min_hist, CAST(%[6]s AS DOUBLE) AS zt,
           CAST(%[7]s AS DOUBLE) AS jf, CAST(%[8]s AS DOUBLE) AS min_chg, CAST(%[9]s AS DOUBLE) AS min_rel
),
per AS (
    SELECT customer_id, CAST(datediff('day', day, ref_day) // pd AS INTEGER) AS k, sum(amount) AS amount
    FROM purchases, params WHERE day <= ref_day AND day > ref_day - pd * (hp + 1)
    GROUP BY ALL
),
span AS (SELECT customer_id, max(k) AS oldest FROM per GROUP BY customer_id),
series AS (
    SELECT s.customer_id, g.k, CAST(coalesce(p.amount, 0) AS DOUBLE) AS amount
    FROM span s JOIN range(0, (SELECT hp FROM params) + 1) g(k) ON g.k <= s.oldest
    LEFT JOIN per p ON p.customer_id = s.customer_id AND p.k = g.k
),
hist AS (SELECT customer_id, median(amount) AS med, count(*) AS n FROM series WHERE k >= 1 GROUP BY customer_id),
spread AS (
    SELECT s.customer_id, median(abs(s.amount - h.med)) AS mad, avg(abs(s.amount - h.med)) AS meanad
    FROM series s JOIN hist h USING (customer_id) WHERE s.k >= 1 GROUP BY s.customer_id
),
periods AS (
    SELECT h.customer_id, h.n, h.med, d.mad, d.meanad,
           max(s.amount) FILTER (WHERE s.k = 0) AS cur,
           max(s.amount) FILTER (WHERE s.k = 1) AS prev
    FROM hist h JOIN spread d USING (customer_id) JOIN series s USING (customer_id)
    WHERE h.n >= (SELECT min_hist FROM params) GROUP BY h.customer_id, h.n, h.med, d.mad, d.meanad
),
scored AS (
    SELECT *, CASE WHEN med <= 0 THEN NULL
                   WHEN mad > 0 THEN 0.6745 * (cur - med) / mad
                   WHEN meanad > 0 THEN (cur - med) / (1.2533 * meanad) END AS z
    FROM periods
),
flags AS (
    SELECT scored.*, cur - prev AS change,
           abs(z) >= zt AND abs(cur - med) >= min_chg AND abs(cur - med) >= min_rel * abs(med) AS z_flag,
           prev > 0 AND abs(cur - prev) >= min_chg AND (cur >= prev * jf OR cur <= prev / jf) AS jump_flag
    FROM scored, params
)
SELECT customer_id, cur, prev, med, z, change,
       concat_ws('; ',
           CASE WHEN z_flag THEN printf('amount %%.2f in the last %%d days vs median %%.2f (robust z %%.1f)', cur, (SELECT pd FROM params), med, z) END,
           CASE WHEN jump_flag THEN printf('amount %%s from %%.2f to %%.2f (%%+.0f%%%%)', CASE WHEN cur > prev THEN 'jumped' ELSE 'fell' END, prev, cur, 100 * (cur - prev) / prev) END
       ) AS reason
FROM flags WHERE z_flag OR jump_flag`, src.purchasesSQL(false), p.AsOf, p.PeriodDays, p.HistoryPeriods, p.MinHistory, p.ZThreshold, p.JumpFactor, p.MinChange, p.MinRelativeChange)
}

// Anomaly flags customers whose purchases in the last period deviate
// sharply from their own history, by robust z-score or by a jump from the
// previous period, computed in one DuckDB query; it writes the flagged list
// to the knowledge base.
func Anomaly(ctx context.Context, w *engine.Warehouse, o AnomalyOptions) (*AnomalyResult, error) {
	o = o.withDefaults()
	if o.PeriodDays < 1 || o.HistoryPeriods < 1 || o.MinHistory < 1 || o.MinHistory > o.HistoryPeriods || !(o.ZThreshold > 0) || !(o.JumpFactor > 1) || o.MinChange < 0 || o.MinRelativeChange < 0 {
		return nil, fmt.Errorf("anomaly: need period ≥ 1 day, 1 ≤ min history (%d) ≤ history periods (%d), z threshold > 0, jump factor > 1 and min change ≥ 0",
			o.MinHistory, o.HistoryPeriods)
	}
	run, err := startRun(ctx, w, "anomaly", o.Source, purchaseRoles...)
	if err != nil {
		return nil, err
	}
	defer run.close()
	asOf, err := resolveAsOf(ctx, w, o.Source, o.AsOf)
	if err != nil {
		return nil, run.fail(err)
	}
	const table = "ckm_anomaly_flags"
	if err := run.temp(ctx, table, anomalySQL(o.Source, o.params(dateLit(asOf)))); err != nil {
		return nil, run.fail(err)
	}
	res := &AnomalyResult{AsOf: asOf.Format(time.DateOnly)}
	if err := run.conn.QueryRowContext(ctx, anomalyExaminedSQL(o.Source, dateLit(asOf), o)).Scan(&res.Examined); err != nil {
		return nil, run.fail(err)
	}
	if res.Flagged, err = anomalyFlags(ctx, run.conn, table); err != nil {
		return nil, run.fail(err)
	}
	if res.Examined == 0 {
		return nil, fmt.Errorf("anomaly: %s: %w with %d periods of history up to %s", o.Source.name(), ErrEmpty, o.MinHistory, res.AsOf)
	}
	if o.DryRun {
		return res, nil
	}
	rec := modelRecord{Name: o.Name, Status: "ok", AsOf: asOf,
		Params: map[string]any{"source": o.Source, "as_of": res.AsOf, "period_days": o.PeriodDays, "history_periods": o.HistoryPeriods,
			"min_history": o.MinHistory, "z_threshold": o.ZThreshold, "jump_factor": o.JumpFactor, "min_change": o.MinChange, "min_relative_change": o.MinRelativeChange},
		Metrics: map[string]any{"examined": res.Examined, "flagged": len(res.Flagged)},
	}
	res.ModelID, err = run.save(ctx, rec, scoresWrite(asOf, `SELECT customer_id, 'anomaly_z' AS metric, z AS value, reason AS label FROM `+table+`
        UNION ALL SELECT customer_id, 'anomaly_change', change, reason FROM `+table))
	if err != nil {
		return nil, err
	}
	return res, nil
}

// anomalyFlags reads the flagged customers, the largest deviation first.
func anomalyFlags(ctx context.Context, q querier, table string) ([]Deviation, error) {
	rows, err := q.QueryContext(ctx, `SELECT customer_id, cur, prev, med, z, change, reason FROM `+table+
		` ORDER BY greatest(abs(coalesce(z, 0)), CASE WHEN prev > 0 THEN abs(change) / prev ELSE 0 END) DESC, customer_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Deviation
	for rows.Next() {
		var d Deviation
		if err := rows.Scan(&d.CustomerID, &d.Current, &d.Previous, &d.Median, &d.RobustZ, &d.Change, &d.Reason); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// anomalyExaminedSQL counts the customers with enough history.
func anomalyExaminedSQL(src Source, asOf string, o AnomalyOptions) string {
	return fmt.Sprintf(`SELECT count(*) FROM (
        SELECT customer_id, max(CAST(datediff('day', day, %[2]s) // %[3]d AS INTEGER)) AS oldest
        FROM (%[1]s) WHERE day <= %[2]s AND day > %[2]s - %[3]d * (%[4]d + 1) GROUP BY customer_id)
        WHERE oldest >= %[5]d`, src.purchasesSQL(false), asOf, o.PeriodDays, o.HistoryPeriods, o.MinHistory)
}
