package mining

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// CLVOptions configure the lifetime value operator.
type CLVOptions struct {
	Source Source
	// AsOf ends the calibration period: purchases up to this day fit the
	// models and value is predicted from it (zero: the last purchase day).
	AsOf time.Time
	// CohortStart, when set, keeps only customers whose first purchase is on
	// or after it.
	CohortStart time.Time
	// HoldoutEnd, when after AsOf, adds a holdout report comparing predicted
	// and actual repeat purchases in (AsOf, HoldoutEnd].
	HoldoutEnd time.Time
	// HorizonWeeks is how far ahead purchases and value are predicted (52).
	HorizonWeeks float64
	// PeriodWeeks is the discounting period (a month, 365.25/12/7 weeks).
	PeriodWeeks float64
	// AnnualDiscountRate discounts future value, e.g. 0.10 (0: none).
	AnnualDiscountRate float64
	// Margin is the share of spend counted as value (1).
	Margin float64
	// FitSample caps how many customers the models are fitted on (100,000;
	// negative: all). Larger populations are fitted on the customers with
	// the smallest hash(customer_id), a fixed pseudo-random sample, and
	// every customer is scored; the estimates barely move beyond that size
	// while the fit time grows with it.
	FitSample int
	// Name labels the model in kb_model ("clv").
	Name string
	// DryRun computes without writing to the knowledge base.
	DryRun bool
}

func (o CLVOptions) withDefaults() CLVOptions {
	o.Source = o.Source.withDefaults()
	if o.HorizonWeeks == 0 {
		o.HorizonWeeks = 52
	}
	if o.PeriodWeeks == 0 {
		o.PeriodWeeks = 365.25 / 12 / 7
	}
	if o.Margin == 0 {
		o.Margin = 1
	}
	if o.Name == "" {
		o.Name = "clv"
	}
	if o.FitSample == 0 {
		o.FitSample = 100000
	}
	return o
}

func (o CLVOptions) validate() error {
	switch {
	case !o.HoldoutEnd.IsZero() && o.AsOf.IsZero():
		return errors.New("clv: a holdout end needs an as-of date (the end of the calibration period)")
	case !o.HoldoutEnd.IsZero() && !o.HoldoutEnd.After(o.AsOf):
		return fmt.Errorf("clv: holdout end %s must be after the as-of date %s", o.HoldoutEnd.Format(time.DateOnly), o.AsOf.Format(time.DateOnly))
	case !o.CohortStart.IsZero() && o.CohortStart.After(o.AsOf):
		return fmt.Errorf("clv: cohort start %s is after the as-of date %s", o.CohortStart.Format(time.DateOnly), o.AsOf.Format(time.DateOnly))
	case !(o.HorizonWeeks > 0) || !(o.PeriodWeeks > 0):
		return fmt.Errorf("clv: horizon (%v weeks) and period (%v weeks) must be positive", o.HorizonWeeks, o.PeriodWeeks)
	case !(o.AnnualDiscountRate > -1):
		return fmt.Errorf("clv: annual discount rate %v must be above -1", o.AnnualDiscountRate)
	case !(o.Margin > 0) || o.Margin > 1:
		return fmt.Errorf("clv: margin %v must be in (0, 1]", o.Margin)
	}
	return nil
}

// CLVResult is what the lifetime value operator found.
type CLVResult struct {
	ModelID   int64          `json:"model_id"`
	AsOf      string         `json:"as_of"`
	Purchases BGNBDFit       `json:"bgnbd"`
	Spend     GammaGammaFit  `json:"gamma_gamma"`
	Value     ValueModel     `json:"value_model"`
	Customers int64          `json:"customers"`
	TotalCLV  float64        `json:"total_clv"`
	Holdout   *HoldoutReport `json:"holdout,omitempty"`
	Top       []CustomerCLV  `json:"top"`
	Status    string         `json:"status"`
	// Timings of the steps: the calibration summary in SQL, both fits (with
	// reading their input), scoring every customer in SQL, and the
	// knowledge-base write.
	SummarySeconds float64 `json:"summary_seconds"`
	FitSeconds     float64 `json:"fit_seconds"`
	ScoreSeconds   float64 `json:"score_seconds"`
	PersistSeconds float64 `json:"persist_seconds"`
}

// CustomerCLV is one scored customer.
type CustomerCLV struct {
	CustomerID        int64   `json:"customer_id"`
	Frequency         float64 `json:"frequency"`
	RecencyWeeks      float64 `json:"recency_weeks"`
	AgeWeeks          float64 `json:"age_weeks"`
	PAlive            float64 `json:"p_alive"`
	ExpectedPurchases float64 `json:"expected_purchases"`
	ExpectedSpend     float64 `json:"expected_spend"`
	CLV               float64 `json:"clv"`
}

// CLV fits BG/NBD and Gamma-Gamma on the purchases up to o.AsOf, scores every
// customer (P(alive), expected purchases over the horizon, expected spend,
// discounted CLV) inside DuckDB with the ckm_* scalar functions, and writes
// the model and the scores to the knowledge base in one transaction.
func CLV(ctx context.Context, w *engine.Warehouse, o CLVOptions) (*CLVResult, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := Setup(ctx, w); err != nil {
		return nil, err
	}
	run, err := startRun(ctx, w, "clv", o.Source, purchaseRoles...)
	if err != nil {
		return nil, err
	}
	defer run.close()
	conn := run.conn
	asOf, err := resolveAsOf(ctx, w, o.Source, o.AsOf)
	if err != nil {
		return nil, run.fail(err)
	}
	o.AsOf = asOf
	const summary = "ckm_clv_summary"
	run.temps = append(run.temps, summary)
	start := time.Now()
	n, err := createSummary(ctx, conn, summary, o.Source, o.CohortStart, o.AsOf, o.HoldoutEnd)
	if err != nil {
		return nil, fmt.Errorf("clv: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("clv: %s: %w from the cohort start %s to %s", o.Source.name(), ErrEmpty, o.CohortStart.Format(time.DateOnly), o.AsOf.Format(time.DateOnly))
	}
	summarySeconds := time.Since(start).Seconds()
	start = time.Now()
	fitOn := summary
	if o.FitSample > 0 && n > int64(o.FitSample) {
		fitOn = "(SELECT * FROM " + summary + fmt.Sprintf(" ORDER BY hash(customer_id), customer_id LIMIT %d)", o.FitSample)
	}
	cal, err := readCalibration(ctx, conn, fitOn)
	if err != nil {
		return nil, fmt.Errorf("clv: %w", err)
	}
	res := &CLVResult{Customers: n, AsOf: o.AsOf.Format(time.DateOnly), SummarySeconds: summarySeconds}
	if res.Purchases, err = FitBGNBD(ctx, cal); err != nil {
		return nil, fmt.Errorf("clv: %w", err)
	}
	spend, err := readSpend(ctx, conn, fitOn)
	if err != nil {
		return nil, fmt.Errorf("clv: %w", err)
	}
	if res.Spend, err = FitGammaGamma(ctx, spend); err != nil {
		return nil, fmt.Errorf("clv: %w", err)
	}
	res.FitSeconds = time.Since(start).Seconds()
	res.Value = ValueModel{Purchases: res.Purchases.Model, Spend: res.Spend.Model, HorizonWeeks: o.HorizonWeeks,
		PeriodWeeks: o.PeriodWeeks, AnnualDiscountRate: o.AnnualDiscountRate, Margin: o.Margin}
	res.Status = StatusNotConverged
	if res.Purchases.Converged && res.Spend.Converged {
		res.Status = StatusConverged
	}

	const scores = "ckm_clv_scores"
	start = time.Now()
	if err := run.temp(ctx, scores, scoreSQL(summary, res.Value)); err != nil {
		return nil, fmt.Errorf("clv: score customers: %w", err)
	}
	res.ScoreSeconds = time.Since(start).Seconds()
	if !o.HoldoutEnd.IsZero() {
		weeks := float64(o.HoldoutEnd.Sub(o.AsOf).Hours()) / 24 / daysPerWeek
		if res.Holdout, err = holdoutReport(ctx, conn, summary, res.Purchases.Model, weeks); err != nil {
			return nil, fmt.Errorf("clv: %w", err)
		}
	}
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(sum(clv), 0) FROM "+scores).Scan(&res.TotalCLV); err != nil {
		return nil, fmt.Errorf("clv: %w", err)
	}
	if res.Top, err = topCLV(ctx, conn, scores, 10); err != nil {
		return nil, fmt.Errorf("clv: %w", err)
	}
	if o.DryRun {
		return res, nil
	}
	rec := modelRecord{Name: o.Name, Status: res.Status, AsOf: o.AsOf,
		Params: map[string]any{
			"source": o.Source, "as_of": o.AsOf.Format(time.DateOnly), "cohort_start": dateOrNil(o.CohortStart),
			"holdout_end": dateOrNil(o.HoldoutEnd), "time_unit": "week",
			"horizon_weeks": o.HorizonWeeks, "period_weeks": o.PeriodWeeks,
			"annual_discount_rate": o.AnnualDiscountRate, "margin": o.Margin,
			"bgnbd": res.Purchases.Model, "gamma_gamma": res.Spend.Model, "fit_sample": o.FitSample,
		},
		Metrics: map[string]any{"bgnbd": res.Purchases, "gamma_gamma": res.Spend, "customers": n,
			"total_clv": res.TotalCLV, "holdout": res.Holdout},
	}
	start = time.Now()
	res.ModelID, err = run.save(ctx, rec, scoresWrite(o.AsOf, unpivotSQL(scores, []metricCol{
		{"frequency", "frequency", "NULL"},
		{"recency", "recency", "NULL"},
		{"age", "age", "NULL"},
		{"monetary", "monetary", "NULL"},
		{"p_alive", "p_alive", "NULL"},
		{"expected_purchases", "expected_purchases", "NULL"},
		{"expected_spend", "expected_spend", "NULL"},
		{"clv", "clv", "NULL"},
		{"clv_decile", "clv_decile", "NULL"},
	})))
	if err != nil {
		return nil, err
	}
	res.PersistSeconds = time.Since(start).Seconds()
	return res, nil
}

func dateOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.DateOnly)
}

// scoreSQL scores every customer of the summary table with the model. The
// hypergeometric terms depend on (frequency, age) only, so they are computed
// once per distinct pair (in parallel by DuckDB) and joined back; P(alive),
// the Gamma-Gamma spend and their products are plain SQL arithmetic.
func scoreSQL(summary string, v ValueModel) string {
	bg := v.Purchases
	// Customers without repeat purchases get the population mean spend,
	// which is infinite for q ≤ 1.
	populationSpend := "NULL"
	if v.Spend.Q > 1 {
		populationSpend = fmt.Sprint(v.Spend.P * v.Spend.Gamma / (v.Spend.Q - 1))
	}
	return fmt.Sprintf(`WITH xt AS (
    SELECT frequency, age,
           ckm_bgnbd_expected_if_alive(%[1]v, %[2]v, %[3]v, %[4]v, frequency, age, %[8]v) AS expected_if_alive,
           ckm_bgnbd_discounted_if_alive(%[1]v, %[2]v, %[3]v, %[4]v, frequency, age, %[8]v, %[9]v, %[10]v) AS discounted_if_alive
    FROM (SELECT DISTINCT frequency, age FROM %[12]s)
),
scored AS (
    SELECT s.customer_id, s.frequency, s.recency, s.age, s.monetary, s.holdout, s.last_day,
           1 / CASE WHEN s.frequency > 0
                    THEN 1 + %[3]v / (%[4]v + s.frequency - 1) * exp((%[1]v + s.frequency) * (ln(%[2]v + s.age) - ln(%[2]v + s.recency)))
                    ELSE 1 END AS p_alive,
           CASE WHEN s.frequency > 0 AND s.monetary > 0
                THEN %[5]v * (%[7]v + s.monetary * s.frequency) / (%[5]v * s.frequency + %[6]v - 1)
                ELSE %[13]s END AS expected_spend,
           xt.expected_if_alive, xt.discounted_if_alive
    FROM %[12]s s JOIN xt ON xt.frequency = s.frequency AND xt.age = s.age
)
SELECT customer_id, frequency, recency, age, monetary, holdout, last_day, p_alive,
       expected_if_alive * p_alive AS expected_purchases, expected_spend,
       discounted_if_alive * p_alive * expected_spend * %[11]v AS clv,
       ntile(10) OVER (ORDER BY discounted_if_alive * p_alive * expected_spend * %[11]v DESC, customer_id) AS clv_decile
FROM scored`, bg.R, bg.Alpha, bg.A, bg.B, v.Spend.P, v.Spend.Q, v.Spend.Gamma,
		v.HorizonWeeks, v.PeriodWeeks, v.AnnualDiscountRate, v.Margin, summary, populationSpend)
}

func topCLV(ctx context.Context, q querier, scores string, n int) ([]CustomerCLV, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT customer_id, frequency, recency, age, p_alive, expected_purchases, expected_spend, clv
        FROM %s ORDER BY clv DESC NULLS LAST, customer_id LIMIT %d`, scores, n))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CustomerCLV
	for rows.Next() {
		var c CustomerCLV
		if err := rows.Scan(&c.CustomerID, &c.Frequency, &c.RecencyWeeks, &c.AgeWeeks, &c.PAlive, &c.ExpectedPurchases, &c.ExpectedSpend, &c.CLV); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
