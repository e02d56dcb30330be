package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/mining"
	"github.com/ckm-dev/ckm/mining/forecast"
)

// ckm mine forecast's flags parse into ForecastOptions, from the command
// line or the environment; bad values are usage errors naming the flag.
func TestMineForecastParse(t *testing.T) {
	def := mining.ForecastOptions{Grain: "month", Seasonal: "additive", Coverage: 0.95, Series: "revenue"}
	with := func(f func(o *mining.ForecastOptions)) mineForecastOptions {
		o := def
		f(&o)
		return mineForecastOptions{ForecastOptions: o}
	}
	cases := []parseCase[mineForecastOptions]{
		{name: "defaults", want: with(func(o *mining.ForecastOptions) {})},
		{name: "all", args: []string{"--grain", "day", "--seasonal", "multiplicative", "--period", "7", "--horizon", "14", "--holdout", "28",
			"--coverage", "0.8", "--series", "net", "--source", "SELECT d AS period, v AS value FROM t", "--name", "daily"},
			want: with(func(o *mining.ForecastOptions) {
				o.Grain, o.Seasonal, o.Period, o.Horizon, o.Holdout, o.Coverage, o.Series, o.Name = "day", "multiplicative", 7, 14, 28, 0.8, "net", "daily"
				o.Source.Table = "SELECT d AS period, v AS value FROM t"
			})},
		{name: "env", env: map[string]string{"CKM_MINE_FORECAST_GRAIN": "week", "CKM_MINE_FORECAST_HOLDOUT": "8"},
			want: with(func(o *mining.ForecastOptions) { o.Grain, o.Holdout = "week", 8 })},
		{name: "grain", args: []string{"--grain", "year"}, err: `--grain "year": want day, week or month`},
		{name: "seasonal", args: []string{"--seasonal", "none"}, err: `--seasonal "none": want additive or multiplicative`},
		{name: "period", args: []string{"--period", "1"}, err: "--period 1: want at least 2"},
		{name: "horizon", args: []string{"--horizon", "-3"}, err: "--horizon -3: want at least 1"},
		{name: "holdout", args: []string{"--holdout", "-1"}, err: "--holdout -1: want 0 or more"},
		{name: "coverage", args: []string{"--coverage", "1"}, err: "--coverage 1: want a number > 0 and < 1"},
		{name: "coverage nan", args: []string{"--coverage", "NaN"}, err: "--coverage NaN"},
		{name: "not a number", args: []string{"--period", "seven"}, err: "--period"},
	}
	checkParse(t, []string{"mine"}, newMineForecastCmd, []string{"mine", "forecast"}, func(o *mineForecastOptions) { o.app = nil }, cases)
}

// forecastWarehouse loads a generated fixture set (120 days of sales) into
// a new warehouse.
func forecastWarehouse(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	exp, err := fixtures.Generate(context.Background(), fixtures.Options{Out: data, Customers: 400, Days: 120, Seed: 13})
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "w.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", data, "--as-of", exp.ExportDate); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	return wh
}

// ckm mine forecast on a loaded fixture set stores exactly the forecast
// forecast.Fit and Forecast make of the daily net revenue the test reads
// with its own SQL, and the holdout errors forecast.Holdout gives; a series
// too short for the period is an error that writes nothing, as is a bad
// source column.
func TestMineForecastEndToEnd(t *testing.T) {
	wh := forecastWarehouse(t)
	ctx := context.Background()
	read := func(f func(db *sql.DB)) {
		w, err := engine.Open(ctx, wh, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		f(w.DB)
	}
	// The daily series, independently: net revenue per order day.
	var days []time.Time
	var x []float64
	read(func(db *sql.DB) {
		rows, err := db.Query(`SELECT CAST(order_ts AS DATE) AS d, sum(amount)::DOUBLE FROM fact_sales
            WHERE NOT is_reversal AND restated_by_run IS NULL AND order_ts IS NOT NULL AND amount IS NOT NULL GROUP BY d ORDER BY d`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var d time.Time
			var v float64
			if err := rows.Scan(&d, &v); err != nil {
				t.Fatal(err)
			}
			days, x = append(days, d), append(x, v)
		}
	})
	if len(x) < 60 || int(days[len(days)-1].Sub(days[0]).Hours()/24)+1 != len(x) {
		t.Fatalf("fixture series: %d days from %v to %v; want at least 60 with no gaps", len(x), days[0], days[len(days)-1])
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--grain", "month"}, 1, "need at least two seasons (24) for period 12"},
		{[]string{"--grain", "day", "--holdout", "1000"}, 1, "holdout of 1000 periods"},
		{[]string{"--grain", "day", "--value-col", "revenue"}, 1, `unknown amount column "revenue"`},
		{[]string{"--grain", "day", "--seasonal", "multiplicative", "--source", "SELECT DATE '2024-01-01' + CAST(range AS INTEGER) AS period, CAST(range % 7 AS DOUBLE) AS value FROM range(30)"}, 1,
			"multiplicative seasonality needs positive values"},
		{[]string{"--grain", "hour"}, 2, `--grain "hour"`},
	} {
		_, stderr, code := runCkm(t, "", append([]string{"mine", "forecast", "--warehouse", wh}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	read(func(db *sql.DB) {
		var models, rows int
		if err := db.QueryRow(`SELECT (SELECT count(*) FROM kb_model), (SELECT count(*) FROM kb_forecast)`).Scan(&models, &rows); err != nil {
			t.Fatal(err)
		}
		if models != 0 || rows != 0 {
			t.Errorf("failed runs left %d models and %d forecasts", models, rows)
		}
	})

	out, stderr, code := runCkm(t, "", "mine", "forecast", "--warehouse", wh, "--grain", "day", "--period", "7", "--horizon", "14",
		"--holdout", "14", "--format", "json")
	if code != 0 {
		t.Fatalf("mine forecast: exit %d: %s", code, stderr)
	}
	var res mining.ForecastResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	m, err := forecast.Fit(x, 7, forecast.Additive)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Forecast(14, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	h, err := forecast.Holdout(x, 7, forecast.Additive, 14)
	if err != nil {
		t.Fatal(err)
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	if res.ModelID != 1 || res.Periods != len(x) || !close(res.Alpha, m.Alpha) || !close(res.Beta, m.Beta) || !close(res.Gamma, m.Gamma) ||
		res.HWErrors == nil || !close(res.HWErrors.MASE, h.HoltWinters.MASE) || !close(res.Naive.SMAPE, h.Naive.SMAPE) {
		t.Errorf("result %+v\nwant alpha %v beta %v gamma %v, holdout %+v naive %+v", res, m.Alpha, m.Beta, m.Gamma, h.HoltWinters, h.Naive)
	}
	read(func(db *sql.DB) {
		rows, err := db.Query(`SELECT period, value, lower, upper, series FROM kb_forecast WHERE model_id = 1 ORDER BY period`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		i := 0
		for ; rows.Next(); i++ {
			var p time.Time
			var v, lo, hi float64
			var series string
			if err := rows.Scan(&p, &v, &lo, &hi, &series); err != nil {
				t.Fatal(err)
			}
			if i >= len(want) {
				continue
			}
			wantDay := days[len(days)-1].AddDate(0, 0, i+1)
			if !p.Equal(wantDay) || series != "revenue" || !close(v, want[i].Mean) || !close(lo, want[i].Lower) || !close(hi, want[i].Upper) {
				t.Errorf("kb_forecast row %d: %v %v [%v, %v] %s; want %v %+v", i, p, v, lo, hi, series, wantDay, want[i])
			}
		}
		if i != 14 {
			t.Errorf("kb_forecast: %d rows, want 14", i)
		}
		var mase, naiveMase float64
		if err := db.QueryRow(`SELECT CAST(metrics->'$.holdout.holt_winters.mase' AS DOUBLE), CAST(metrics->'$.holdout.seasonal_naive.mase' AS DOUBLE)
            FROM kb_model WHERE model_id = 1 AND kind = 'forecast'`).Scan(&mase, &naiveMase); err != nil {
			t.Fatal(err)
		}
		if !close(mase, h.HoltWinters.MASE) || !close(naiveMase, h.Naive.MASE) {
			t.Errorf("kb_model holdout MASE %v / naive %v, want %v / %v", mase, naiveMase, h.HoltWinters.MASE, h.Naive.MASE)
		}
	})

	// Multiplicative seasonality and 80 % intervals: model 2 equals the package's.
	if _, stderr, code := runCkm(t, "", "mine", "forecast", "--warehouse", wh, "--grain", "day", "--seasonal", "multiplicative",
		"--horizon", "3", "--coverage", "0.8"); code != 0 {
		t.Fatalf("mine forecast multiplicative: exit %d: %s", code, stderr)
	}
	mm, err := forecast.Fit(x, 7, forecast.Multiplicative)
	if err != nil {
		t.Fatal(err)
	}
	mwant, err := mm.Forecast(3, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	read(func(db *sql.DB) {
		rows, err := db.Query(`SELECT value, lower, upper FROM kb_forecast WHERE model_id = 2 ORDER BY period`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		i := 0
		for ; rows.Next(); i++ {
			var v, lo, hi float64
			if err := rows.Scan(&v, &lo, &hi); err != nil {
				t.Fatal(err)
			}
			if i < len(mwant) && (!close(v, mwant[i].Mean) || !close(lo, mwant[i].Lower) || !close(hi, mwant[i].Upper)) {
				t.Errorf("multiplicative row %d: %v [%v, %v], want %+v", i, v, lo, hi, mwant[i])
			}
		}
		if i != 3 {
			t.Errorf("multiplicative: %d rows, want 3", i)
		}
	})
}
