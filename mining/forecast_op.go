package mining

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining/forecast"
)

// The grains of a forecast series.
const (
	GrainDay   = "day"
	GrainWeek  = "week"
	GrainMonth = "month"
)

// ForecastOptions configure a Holt-Winters forecast of a revenue series.
type ForecastOptions struct {
	// Source holds the (time, value) rows. The zero Source reads the
	// current sale lines (fact_sales_current, time order_ts, value amount:
	// net revenue, returns negative); any other table or query names its
	// time column in Time (default period) and its value in Amount
	// (default value). Rows are summed per Grain period; periods without
	// rows between the first and the last count 0.
	Source Source
	// Grain is day, week (ISO weeks from Monday) or month (default month).
	Grain string
	// Seasonal is "additive" (default) or "multiplicative".
	Seasonal string
	// Period is the season length in periods (default 7 for days, 52 for
	// weeks, 12 for months).
	Period int
	// Horizon is the number of periods to forecast (default Period).
	Horizon int
	// Holdout, when positive, also fits on all but the last Holdout
	// periods and scores that forecast and seasonal naive against them.
	Holdout int
	// Coverage of the prediction intervals, in (0, 1) (default 0.95).
	Coverage float64
	// Series names the series in kb_forecast (default "revenue").
	Series string
	// Name labels the model in kb_model ("forecast").
	Name string
	// DryRun forecasts without writing to the knowledge base.
	DryRun bool
}

// ForecastPoint is one forecast period with its prediction interval.
type ForecastPoint struct {
	Period time.Time `json:"period"`
	Value  float64   `json:"value"`
	Lower  float64   `json:"lower"`
	Upper  float64   `json:"upper"`
}

// ForecastErrors are the holdout errors of one forecaster; MAPE is nil
// when an actual value is 0.
type ForecastErrors struct {
	MAPE  *float64 `json:"mape"`
	SMAPE float64  `json:"smape"`
	MASE  float64  `json:"mase"`
}

// ForecastResult summarises a forecast run.
type ForecastResult struct {
	ModelID  int64           `json:"model_id"`
	Series   string          `json:"series"`
	Grain    string          `json:"grain"`
	Seasonal string          `json:"seasonal"`
	Period   int             `json:"period"`
	Periods  int             `json:"periods"` // length of the series
	First    time.Time       `json:"first"`
	Last     time.Time       `json:"last"`
	Alpha    float64         `json:"alpha"`
	Beta     float64         `json:"beta"`
	Gamma    float64         `json:"gamma"`
	SSE      float64         `json:"sse"`
	Holdout  int             `json:"holdout"`
	HWErrors *ForecastErrors `json:"holt_winters_holdout,omitempty"`
	Naive    *ForecastErrors `json:"seasonal_naive_holdout,omitempty"`
	Forecast []ForecastPoint `json:"forecast"`
}

func (o ForecastOptions) withDefaults() ForecastOptions {
	s := o.Source
	if s.Table == "" {
		s.Table = "fact_sales_current"
		if s.Time == "" {
			s.Time = "order_ts"
		}
		if s.Amount == "" {
			s.Amount = "amount"
		}
	}
	if s.Time == "" {
		s.Time = "period"
	}
	if s.Amount == "" {
		s.Amount = "value"
	}
	o.Source = s
	if o.Grain == "" {
		o.Grain = GrainMonth
	}
	if o.Seasonal == "" {
		o.Seasonal = forecast.Additive.String()
	}
	if o.Period == 0 {
		o.Period = map[string]int{GrainDay: 7, GrainWeek: 52, GrainMonth: 12}[o.Grain]
	}
	if o.Horizon == 0 {
		o.Horizon = o.Period
	}
	if o.Coverage == 0 {
		o.Coverage = 0.95
	}
	if o.Series == "" {
		o.Series = "revenue"
	}
	if o.Name == "" {
		o.Name = "forecast"
	}
	return o
}

func (o ForecastOptions) seasonality() (forecast.Seasonality, bool) {
	switch o.Seasonal {
	case forecast.Additive.String():
		return forecast.Additive, true
	case forecast.Multiplicative.String():
		return forecast.Multiplicative, true
	}
	return 0, false
}

// validate names the first bad option.
func (o ForecastOptions) validate() error {
	_, okSeason := o.seasonality()
	switch {
	case o.Grain != GrainDay && o.Grain != GrainWeek && o.Grain != GrainMonth:
		return fmt.Errorf("forecast: grain %q: want day, week or month", o.Grain)
	case !okSeason:
		return fmt.Errorf("forecast: seasonal %q: want additive or multiplicative", o.Seasonal)
	case o.Period < 2:
		return fmt.Errorf("forecast: period %d: want at least 2", o.Period)
	case o.Horizon < 1:
		return fmt.Errorf("forecast: horizon %d: want at least 1", o.Horizon)
	case o.Holdout < 0:
		return fmt.Errorf("forecast: holdout %d: must not be negative", o.Holdout)
	case !(o.Coverage > 0 && o.Coverage < 1):
		return fmt.Errorf("forecast: coverage %v: want a number in (0, 1)", o.Coverage)
	}
	return nil
}

// step returns the start of the period k periods after t.
func (o ForecastOptions) step(t time.Time, k int) time.Time {
	switch o.Grain {
	case GrainDay:
		return t.AddDate(0, 0, k)
	case GrainWeek:
		return t.AddDate(0, 0, 7*k)
	}
	return t.AddDate(0, k, 0)
}

// SeriesSQL selects the series of the (defaulted) options: (period DATE,
// value DOUBLE), one row per Grain period from the first to the last
// period with rows, 0 where a period has none, in period order.
func (o ForecastOptions) SeriesSQL() string {
	o = o.withDefaults()
	q := engine.QuoteIdent
	s := o.Source
	interval := map[string]string{GrainDay: "1 day", GrainWeek: "7 days", GrainMonth: "1 month"}[o.Grain]
	return fmt.Sprintf(`WITH b AS (
    SELECT CAST(date_trunc('%[1]s', CAST(%[2]s AS TIMESTAMP)) AS DATE) AS period, CAST(sum(%[3]s) AS DOUBLE) AS value
    FROM %[4]s AS src WHERE %[2]s IS NOT NULL AND %[3]s IS NOT NULL GROUP BY 1),
g AS (SELECT CAST(range AS DATE) AS period FROM range((SELECT CAST(min(period) AS TIMESTAMP) FROM b),
    (SELECT CAST(max(period) AS TIMESTAMP) FROM b) + INTERVAL '%[5]s', INTERVAL '%[5]s'))
SELECT g.period, coalesce(b.value, 0) AS value FROM g LEFT JOIN b USING (period) ORDER BY g.period`,
		o.Grain, q(s.Time), q(s.Amount), s.relation(), interval)
}

// Forecast fits Holt-Winters to the source's series (formed in DuckDB) and
// forecasts Horizon periods with prediction intervals; with a holdout it
// scores Holt-Winters and seasonal naive on the last Holdout periods
// (MAPE, sMAPE, MASE in kb_model's metrics). The forecasts go to
// kb_forecast with the model in one transaction.
func Forecast(ctx context.Context, w *engine.Warehouse, o ForecastOptions) (*ForecastResult, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	run, err := startRun(ctx, w, "forecast", o.Source, RoleTime, RoleAmount)
	if err != nil {
		return nil, err
	}
	defer run.close()
	periods, x, err := readSeries(ctx, run.conn, o.SeriesSQL())
	if err != nil {
		return nil, run.fail(fmt.Errorf("%s: %w", o.Source.name(), err))
	}
	seasonal, _ := o.seasonality()
	res := &ForecastResult{Series: o.Series, Grain: o.Grain, Seasonal: o.Seasonal, Period: o.Period, Periods: len(x), Holdout: o.Holdout}
	if len(x) == 0 {
		return nil, fmt.Errorf("forecast: %s has no rows with a %s and a %s", o.Source.name(), o.Source.Time, o.Source.Amount)
	}
	res.First, res.Last = periods[0], periods[len(periods)-1]
	if o.Holdout > 0 {
		if o.Holdout >= len(x) {
			return nil, fmt.Errorf("forecast: %s: holdout of %d periods from a series of %d %ss", o.Source.name(), o.Holdout, len(x), o.Grain)
		}
		h, err := forecast.Holdout(x, o.Period, seasonal, o.Holdout)
		if err != nil {
			return nil, fmt.Errorf("forecast: %s (%d %ss, the last %d held out): %w", o.Source.name(), len(x), o.Grain, o.Holdout, err)
		}
		res.HWErrors, res.Naive = forecastErrors(h.HoltWinters), forecastErrors(h.Naive)
	}
	m, err := forecast.Fit(x, o.Period, seasonal)
	if err != nil {
		return nil, fmt.Errorf("forecast: %s (%d %ss from %s): %w", o.Source.name(), len(x), o.Grain, res.First.Format(time.DateOnly), err)
	}
	pts, err := m.Forecast(o.Horizon, o.Coverage)
	if err != nil {
		return nil, run.fail(err)
	}
	res.Alpha, res.Beta, res.Gamma, res.SSE = m.Alpha, m.Beta, m.Gamma, m.SSE
	for i, p := range pts {
		res.Forecast = append(res.Forecast, ForecastPoint{Period: o.step(res.Last, i+1), Value: p.Mean, Lower: p.Lower, Upper: p.Upper})
	}
	if o.DryRun {
		return res, nil
	}
	metrics := map[string]any{"periods": res.Periods, "first": res.First.Format(time.DateOnly), "last": res.Last.Format(time.DateOnly),
		"alpha": res.Alpha, "beta": res.Beta, "gamma": res.Gamma, "sse": res.SSE, "level": m.Level, "trend": m.Trend, "season": m.Season}
	if res.HWErrors != nil {
		metrics["holdout"] = map[string]any{"periods": o.Holdout, "holt_winters": res.HWErrors, "seasonal_naive": res.Naive}
	}
	rec := modelRecord{Name: o.Name, Status: "ok", Metrics: metrics, Params: map[string]any{"source": o.Source, "grain": o.Grain,
		"seasonal": o.Seasonal, "period": o.Period, "horizon": o.Horizon, "holdout": o.Holdout, "coverage": o.Coverage, "series": o.Series}}
	write := func(ctx context.Context, tx *sql.Tx, id int64) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO kb_forecast (model_id, series, period, value, lower, upper) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("forecasts: %w", err)
		}
		defer stmt.Close()
		for _, p := range res.Forecast {
			if _, err := stmt.ExecContext(ctx, id, o.Series, p.Period, p.Value, p.Lower, p.Upper); err != nil {
				return fmt.Errorf("forecasts: %w", err)
			}
		}
		return nil
	}
	if res.ModelID, err = run.save(ctx, rec, write); err != nil {
		return nil, err
	}
	return res, nil
}

// forecastErrors turns the package's errors into JSON-safe ones (MAPE is
// NaN when an actual is 0).
func forecastErrors(e forecast.Errors) *ForecastErrors {
	out := &ForecastErrors{SMAPE: e.SMAPE, MASE: e.MASE}
	if !math.IsNaN(e.MAPE) {
		v := e.MAPE
		out.MAPE = &v
	}
	return out
}

// readSeries reads the (period, value) rows of a series query.
func readSeries(ctx context.Context, q querier, query string) ([]time.Time, []float64, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ts []time.Time
	var x []float64
	for rows.Next() {
		var t time.Time
		var v float64
		if err := rows.Scan(&t, &v); err != nil {
			return nil, nil, err
		}
		ts, x = append(ts, t), append(x, v)
	}
	return ts, x, rows.Err()
}
