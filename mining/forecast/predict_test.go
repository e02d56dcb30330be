package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestForecastMatchesR: with R's parameters, the 24 point forecasts equal
// R's predict(); the 95 % intervals equal R's for every step of the additive
// co2 model and for h < 12 of the multiplicative AirPassengers model (from
// h = 12 on R reads coefficient b in place of s12; see Forecast).
func TestForecastMatchesR(t *testing.T) {
	for _, c := range rCases {
		t.Run(c.name, func(t *testing.T) {
			x := readSeries(t, c.name)
			r := readKV(t, "r_"+c.name+"_fit.csv")
			m, err := FitParams(x, c.period, c.seasonal, Params{kvF(t, r, "alpha"), kvF(t, r, "beta"), kvF(t, r, "gamma")})
			if err != nil {
				t.Fatal(err)
			}
			pts, err := m.Forecast(24, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range readCSV(t, "r_"+c.name+"_predict.csv") {
				fit, upr, lwr := parseF(t, row[1]), parseF(t, row[2]), parseF(t, row[3])
				if !relClose(pts[i].Mean, fit, 1e-10) {
					t.Errorf("h=%d mean %.12g, R %.12g", i+1, pts[i].Mean, fit)
				}
				if c.seasonal == Multiplicative && i >= c.period-1 {
					if !(pts[i].Lower < pts[i].Mean && pts[i].Mean < pts[i].Upper) {
						t.Errorf("h=%d interval [%g, %g] does not hold the mean %g", i+1, pts[i].Lower, pts[i].Upper, pts[i].Mean)
					}
					continue
				}
				if !relClose(pts[i].Upper, upr, 1e-9) || !relClose(pts[i].Lower, lwr, 1e-9) {
					t.Errorf("h=%d interval [%.10g, %.10g], R [%.10g, %.10g]", i+1, pts[i].Lower, pts[i].Upper, lwr, upr)
				}
			}
		})
	}
}

// TestHoldoutMatchesR: on the last 24 values, the error measures of the
// forecast from R's holdout parameters and of seasonal naive equal R's;
// ckm's own holdout fit has an SSE no higher than R's.
func TestHoldoutMatchesR(t *testing.T) {
	for _, c := range rCases[:2] {
		t.Run(c.name, func(t *testing.T) {
			x := readSeries(t, c.name)
			r := readKV(t, "r_"+c.name+"_holdout.csv")
			h := int(kvF(t, r, "h"))
			train, test := x[:len(x)-h], x[len(x)-h:]
			m, err := FitParams(train, 12, c.seasonal, Params{kvF(t, r, "alpha"), kvF(t, r, "beta"), kvF(t, r, "gamma")})
			if err != nil {
				t.Fatal(err)
			}
			res, err := holdoutWith(m, train, test)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range []struct {
				key string
				got float64
			}{
				{"hw_mape", res.HoltWinters.MAPE}, {"hw_smape", res.HoltWinters.SMAPE}, {"hw_mase", res.HoltWinters.MASE},
				{"naive_mape", res.Naive.MAPE}, {"naive_smape", res.Naive.SMAPE}, {"naive_mase", res.Naive.MASE},
			} {
				if want := kvF(t, r, e.key); !relClose(e.got, want, 1e-9) {
					t.Errorf("%s = %.12g, R %.12g", e.key, e.got, want)
				}
			}
			own, err := Holdout(x, 12, c.seasonal, h)
			if err != nil {
				t.Fatal(err)
			}
			if rSSE := kvF(t, r, "SSE"); own.Model.SSE > rSSE*(1+1e-6) {
				t.Errorf("holdout fit SSE %.9g above R's %.9g", own.Model.SSE, rSSE)
			}
			t.Logf("%s holdout h=%d: ckm MAPE %.3f sMAPE %.3f MASE %.3f; seasonal naive MAPE %.3f sMAPE %.3f MASE %.3f",
				c.name, h, own.HoltWinters.MAPE, own.HoltWinters.SMAPE, own.HoltWinters.MASE, own.Naive.MAPE, own.Naive.SMAPE, own.Naive.MASE)
			if own.HoltWinters.MASE >= own.Naive.MASE {
				t.Errorf("Holt-Winters MASE %.3f does not beat seasonal naive %.3f", own.HoltWinters.MASE, own.Naive.MASE)
			}
		})
	}
}

// TestErrorMeasuresByHand checks MAPE, sMAPE, MASE and seasonal naive on
// numbers small enough to work out on paper.
func TestErrorMeasuresByHand(t *testing.T) {
	train := []float64{10, 20, 12, 24, 14, 28} // period 2: |12−10|,|24−20|,|14−12|,|28−24| → scale 3
	naive, err := SeasonalNaive(train, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{14, 28, 14}; !equalF(naive, want) {
		t.Fatalf("seasonal naive %v, want %v", naive, want)
	}
	actual := []float64{16, 32, 20}
	// errors 2, 4, 6: MAPE = (2/16+4/32+6/20)/3·100 = 18.3333…
	// sMAPE = (4/30 + 8/60 + 12/34)/3·100 = 20.6536…; MASE = 4/3.
	mape, _ := MAPE(actual, naive)
	smape, _ := SMAPE(actual, naive)
	mase, err := MASE(actual, naive, train, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !relClose(mape, 100*(2.0/16+4.0/32+6.0/20)/3, 1e-14) ||
		!relClose(smape, 100*(4.0/30+8.0/60+12.0/34)/3, 1e-14) || !relClose(mase, 4.0/3, 1e-14) {
		t.Errorf("MAPE %v sMAPE %v MASE %v", mape, smape, mase)
	}
	if _, err := MAPE([]float64{0, 1}, []float64{1, 1}); err == nil || !strings.Contains(err.Error(), "actual value 0 is 0") {
		t.Errorf("MAPE with a zero actual: %v", err)
	}
	if _, err := MASE(actual, naive, []float64{5, 5, 5, 5}, 2); err == nil {
		t.Error("MASE on a flat training series: no error")
	}
	if s, _ := SMAPE([]float64{0}, []float64{0}); s != 0 {
		t.Errorf("sMAPE of 0 against 0 = %v, documented 0", s)
	}
}

func equalF(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDegenerateSeries: short, NaN, non-positive (multiplicative), constant,
// bad parameters and horizons give errors or documented results, no panic.
func TestDegenerateSeries(t *testing.T) {
	good := make([]float64, 30)
	for i := range good {
		good[i] = 10 + float64(i%4)
	}
	cases := []struct {
		name     string
		x        []float64
		period   int
		seasonal Seasonality
		want     string
	}{
		{"empty", nil, 4, Additive, "0 values"},
		{"shorter than two seasons", good[:7], 4, Additive, "7 values, need at least two seasons (8)"},
		{"period 1", good, 1, Additive, "period 1"},
		{"NaN", append(append([]float64{}, good[:10]...), math.NaN()), 4, Additive, "value 10 is NaN"},
		{"Inf", append(append([]float64{}, good[:10]...), math.Inf(1)), 4, Additive, "value 10 is +Inf"},
		{"zero multiplicative", append([]float64{0}, good...), 4, Multiplicative, "value 0 is 0"},
		{"bad seasonality", good, 4, Seasonality(7), "unknown seasonality"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Fit(c.x, c.period, c.seasonal)
			if !errors.Is(err, ErrSeries) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want ErrSeries naming %q", err, c.want)
			}
		})
	}
	t.Run("constant series", func(t *testing.T) {
		flat := make([]float64, 30)
		for i := range flat {
			flat[i] = 7
		}
		for _, s := range []Seasonality{Additive, Multiplicative} {
			m, err := Fit(flat, 4, s)
			if err != nil {
				t.Fatal(err)
			}
			pts, err := m.Forecast(3, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pts {
				if !relClose(p.Mean, 7, 1e-9) || !relClose(p.Lower, 7, 1e-9) || !relClose(p.Upper, 7, 1e-9) {
					t.Errorf("%v: constant series forecast %+v, want 7 with zero width", s, p)
				}
			}
		}
	})
	t.Run("bad parameters and horizon", func(t *testing.T) {
		for _, p := range []Params{{0, 0.1, 0.1}, {0.5, -0.1, 0.1}, {0.5, 0.1, 1.5}, {math.NaN(), 0.1, 0.1}} {
			if _, err := FitParams(good, 4, Additive, p); err == nil {
				t.Errorf("FitParams(%+v): no error", p)
			}
		}
		m, err := FitParams(good, 4, Additive, Params{0.5, 0.1, 0.1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Forecast(0, 0.95); err == nil {
			t.Error("horizon 0: no error")
		}
		if _, err := m.Forecast(3, 1); err == nil {
			t.Error("coverage 1: no error")
		}
		if _, err := Holdout(good, 4, Additive, 30); err == nil {
			t.Error("holdout of the whole series: no error")
		}
		if _, err := SeasonalNaive(good[:3], 4, 2); err == nil {
			t.Error("seasonal naive on less than a season: no error")
		}
	})
}

// TestRandomSeriesNeverPanic: noisy, spiky and tiny random series fit and
// forecast with finite SSE and intervals around the mean, or fail with an
// error — never a panic or NaN.
func TestRandomSeriesNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 30; trial++ {
		period := 2 + rng.IntN(6)
		n := 2*period + rng.IntN(30)
		x := make([]float64, n)
		for i := range x {
			x[i] = 0.01 + rng.ExpFloat64()*math.Pow(10, float64(rng.IntN(4)))
		}
		for _, s := range []Seasonality{Additive, Multiplicative} {
			m, err := Fit(x, period, s)
			if err != nil {
				t.Fatalf("trial %d %v: %v", trial, s, err)
			}
			if math.IsNaN(m.SSE) || math.IsInf(m.SSE, 0) {
				t.Fatalf("trial %d %v: SSE %v", trial, s, m.SSE)
			}
			pts, err := m.Forecast(2*period, 0.8)
			if err != nil {
				t.Fatal(err)
			}
			for h, p := range pts {
				if !(p.Lower <= p.Mean && p.Mean <= p.Upper) {
					t.Fatalf("trial %d %v h=%d: %+v", trial, s, h+1, p)
				}
			}
		}
	}
}
