// Package forecast owns trend analysis on a regular series: Holt-Winters
// exponential smoothing (additive and multiplicative seasonality) fitted the
// way R's stats::HoltWinters fits it, prediction intervals, a seasonal-naive
// baseline and holdout error measures (MAPE, sMAPE, MASE).
//
// Everything here works on a []float64 already in time order with no gaps;
// building that series from a cube slice or query is the caller's job.
package forecast

import (
	"errors"
	"fmt"
	"math"
)

// Seasonality says how the seasonal component combines with level and trend.
type Seasonality int

const (
	// Additive: x̂ = level + trend + season.
	Additive Seasonality = iota
	// Multiplicative: x̂ = (level + trend) · season.
	Multiplicative
)

func (s Seasonality) String() string {
	switch s {
	case Additive:
		return "additive"
	case Multiplicative:
		return "multiplicative"
	}
	return fmt.Sprintf("Seasonality(%d)", int(s))
}

// Params are the three smoothing parameters, each in [0, 1].
type Params struct {
	Alpha float64 // level
	Beta  float64 // trend
	Gamma float64 // season
}

// Start holds the start-up values of the recursion: R's HoltWinters takes
// them from a classical decomposition of the first two seasons (see startValues).
type Start struct {
	Level  float64
	Trend  float64
	Season []float64 // one per position in the season, first position first
}

// Model is a fitted Holt-Winters model.
type Model struct {
	Seasonal Seasonality
	Period   int
	Params
	Start Start
	// SSE is the sum of squared one-step errors over t = Period … n−1 (0-based),
	// the quantity R minimises.
	SSE float64
	// Level, Trend and Season are the final coefficients (R's a, b, s1…sp):
	// forecasting h steps ahead uses Season[(h−1) mod Period].
	Level  float64
	Trend  float64
	Season []float64
	// Fitted[t] is the one-step forecast of x[t]; NaN for t < Period.
	Fitted []float64
	// N is the length of the series the model was fitted on.
	N int

	residuals []float64
}

// ErrSeries is wrapped by every error about the input series.
var ErrSeries = errors.New("forecast: bad series")

// checkSeries validates a series for Holt-Winters with the given period.
func checkSeries(x []float64, period int, seasonal Seasonality) error {
	if period < 2 {
		return fmt.Errorf("%w: period %d, need at least 2", ErrSeries, period)
	}
	if seasonal != Additive && seasonal != Multiplicative {
		return fmt.Errorf("%w: unknown seasonality %d", ErrSeries, int(seasonal))
	}
	if len(x) < 2*period {
		return fmt.Errorf("%w: %d values, need at least two seasons (%d) for period %d",
			ErrSeries, len(x), 2*period, period)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: value %d is %v (fill or drop gaps before forecasting)", ErrSeries, i, v)
		}
		if seasonal == Multiplicative && v <= 0 {
			return fmt.Errorf("%w: value %d is %v, multiplicative seasonality needs positive values", ErrSeries, i, v)
		}
	}
	return nil
}

// startValues reproduces R's start-up: decompose(x[1:2p]) with a centred
// moving average (weights ½,1,…,1,½ over p+1 values for even p, p equal weights
// for odd p), seasonal figure = mean of the detrended values at each position,
// centred (additive: minus its mean; multiplicative: divided by its mean);
// level and trend = intercept and slope of the least-squares line through the
// moving average against 1, 2, ….
func startValues(x []float64, period int, seasonal Seasonality) (Start, error) {
	w := x[:2*period]
	var filter []float64
	if period%2 == 0 {
		filter = make([]float64, period+1)
		for i := range filter {
			filter[i] = 1 / float64(period)
		}
		filter[0], filter[period] = 0.5/float64(period), 0.5/float64(period)
	} else {
		filter = make([]float64, period)
		for i := range filter {
			filter[i] = 1 / float64(period)
		}
	}
	half := len(filter) / 2
	trend := make([]float64, len(w))
	for i := range w {
		if i < half || i+half >= len(w) {
			trend[i] = math.NaN()
			continue
		}
		var s float64
		for j, f := range filter {
			s += f * w[i+half-j]
		}
		trend[i] = s
	}
	figure := make([]float64, period)
	for pos := 0; pos < period; pos++ {
		var sum float64
		var n int
		for i := pos; i < len(w); i += period {
			if math.IsNaN(trend[i]) {
				continue
			}
			if seasonal == Additive {
				sum += w[i] - trend[i]
			} else {
				sum += w[i] / trend[i]
			}
			n++
		}
		if n == 0 {
			return Start{}, fmt.Errorf("%w: no detrended value at season position %d", ErrSeries, pos+1)
		}
		figure[pos] = sum / float64(n)
	}
	var mean float64
	for _, f := range figure {
		mean += f
	}
	mean /= float64(period)
	for i := range figure {
		if seasonal == Additive {
			figure[i] -= mean
		} else {
			figure[i] /= mean
		}
	}
	// Least squares of the moving average on 1, 2, …, m.
	var ys []float64
	for _, t := range trend {
		if !math.IsNaN(t) {
			ys = append(ys, t)
		}
	}
	m := float64(len(ys))
	var sx, sy, sxx, sxy float64
	for i, y := range ys {
		t := float64(i + 1)
		sx += t
		sy += y
		sxx += t * t
		sxy += t * y
	}
	den := m*sxx - sx*sx
	if den == 0 {
		return Start{}, fmt.Errorf("%w: too few values to fit the start-up trend", ErrSeries)
	}
	slope := (m*sxy - sx*sy) / den
	return Start{Level: (sy - slope*sx) / m, Trend: slope, Season: figure}, nil
}

// run is R's C_HoltWinters recursion. It returns the SSE and, when m is
// not nil, fills m's final coefficients, fitted values and residuals.
func run(x []float64, period int, seasonal Seasonality, p Params, st Start, m *Model) float64 {
	alpha, beta, gamma := clamp01(p.Alpha), clamp01(p.Beta), clamp01(p.Gamma)
	level, trend := st.Level, st.Trend
	// season is a ring of the last `period` seasonal states; season[k] is the
	// state used to forecast the value at steps ≡ k (mod period) since start.
	season := make([]float64, period)
	copy(season, st.Season)
	var sse float64
	if m != nil {
		m.Fitted = make([]float64, len(x))
		for t := 0; t < period; t++ {
			m.Fitted[t] = math.NaN()
		}
	}
	for t := period; t < len(x); t++ {
		k := (t - period) % period
		s := season[k]
		var xhat float64
		if seasonal == Additive {
			xhat = level + trend + s
		} else {
			xhat = (level + trend) * s
		}
		if m != nil {
			m.Fitted[t] = xhat
		}
		res := x[t] - xhat
		sse += res * res
		if m != nil {
			m.residuals = append(m.residuals, res)
		}
		prev := level
		if seasonal == Additive {
			level = alpha*(x[t]-s) + (1-alpha)*(level+trend)
		} else {
			level = alpha*(x[t]/s) + (1-alpha)*(level+trend)
		}
		trend = beta*(level-prev) + (1-beta)*trend
		if seasonal == Additive {
			season[k] = gamma*(x[t]-level) + (1-gamma)*s
		} else {
			season[k] = gamma*(x[t]/level) + (1-gamma)*s
		}
	}
	if m != nil {
		m.SSE = sse
		m.Level, m.Trend = level, trend
		// The next forecast (t = n) uses ring slot (n − period) mod period.
		m.Season = make([]float64, period)
		first := (len(x) - period) % period
		for h := 0; h < period; h++ {
			m.Season[h] = season[(first+h)%period]
		}
	}
	return sse
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// FitParams fits the model with fixed smoothing parameters (each in [0, 1],
// alpha > 0), R's HoltWinters(x, alpha, beta, gamma).
func FitParams(x []float64, period int, seasonal Seasonality, p Params) (*Model, error) {
	if err := checkSeries(x, period, seasonal); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	st, err := startValues(x, period, seasonal)
	if err != nil {
		return nil, err
	}
	return newModel(x, period, seasonal, p, st), nil
}

func newModel(x []float64, period int, seasonal Seasonality, p Params, st Start) *Model {
	m := &Model{Seasonal: seasonal, Period: period, Params: p, Start: st, N: len(x)}
	run(x, period, seasonal, p, st, m)
	return m
}

func (p Params) check() error {
	for _, v := range []struct {
		name string
		v    float64
	}{{"alpha", p.Alpha}, {"beta", p.Beta}, {"gamma", p.Gamma}} {
		if math.IsNaN(v.v) || v.v < 0 || v.v > 1 {
			return fmt.Errorf("forecast: %s = %v, must be in [0, 1]", v.name, v.v)
		}
	}
	if p.Alpha == 0 {
		return errors.New("forecast: alpha = 0 fits no level; use alpha > 0")
	}
	return nil
}
