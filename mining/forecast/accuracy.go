package forecast

import (
	"errors"
	"fmt"
	"math"
)

// SeasonalNaive forecasts h steps by repeating the last full season of train:
// step k (1-based) gets train[n − period + (k−1) mod period].
func SeasonalNaive(train []float64, period, h int) ([]float64, error) {
	if period < 1 {
		return nil, fmt.Errorf("forecast: seasonal naive: period %d, need at least 1", period)
	}
	if len(train) < period {
		return nil, fmt.Errorf("forecast: seasonal naive: %d values, need at least one season (%d)", len(train), period)
	}
	if h < 1 {
		return nil, fmt.Errorf("forecast: seasonal naive: horizon %d, need at least 1", h)
	}
	out := make([]float64, h)
	n := len(train)
	for k := range out {
		out[k] = train[n-period+k%period]
	}
	return out, nil
}

func checkPair(actual, forecast []float64) error {
	if len(actual) == 0 {
		return errors.New("forecast: no holdout values to score")
	}
	if len(actual) != len(forecast) {
		return fmt.Errorf("forecast: %d actual values but %d forecasts", len(actual), len(forecast))
	}
	for i := range actual {
		if math.IsNaN(actual[i]) || math.IsNaN(forecast[i]) {
			return fmt.Errorf("forecast: holdout value %d is NaN", i)
		}
	}
	return nil
}

// MAPE is the mean absolute percentage error, 100·mean(|a−f|/|a|). An actual
// value of zero makes it undefined and is an error.
func MAPE(actual, forecast []float64) (float64, error) {
	if err := checkPair(actual, forecast); err != nil {
		return 0, err
	}
	var s float64
	for i, a := range actual {
		if a == 0 {
			return 0, fmt.Errorf("forecast: MAPE undefined: actual value %d is 0 (use sMAPE or MASE)", i)
		}
		s += math.Abs((a - forecast[i]) / a)
	}
	return 100 * s / float64(len(actual)), nil
}

// SMAPE is the symmetric MAPE, 100·mean(2|a−f|/(|a|+|f|)); a step where
// actual and forecast are both 0 counts as 0 error.
func SMAPE(actual, forecast []float64) (float64, error) {
	if err := checkPair(actual, forecast); err != nil {
		return 0, err
	}
	var s float64
	for i, a := range actual {
		d := math.Abs(a) + math.Abs(forecast[i])
		if d > 0 {
			s += 2 * math.Abs(a-forecast[i]) / d
		}
	}
	return 100 * s / float64(len(actual)), nil
}

// MASE is the mean absolute error scaled by the in-sample mean absolute error
// of the seasonal-naive one-step forecast on train, mean|y_t − y_{t−period}|
// (Hyndman & Koehler 2006). A training series with no seasonal change makes it
// undefined and is an error.
func MASE(actual, forecast, train []float64, period int) (float64, error) {
	if err := checkPair(actual, forecast); err != nil {
		return 0, err
	}
	if period < 1 || len(train) <= period {
		return 0, fmt.Errorf("forecast: MASE needs more than one season of training values (have %d, period %d)", len(train), period)
	}
	var scale float64
	for t := period; t < len(train); t++ {
		scale += math.Abs(train[t] - train[t-period])
	}
	scale /= float64(len(train) - period)
	if scale == 0 || math.IsNaN(scale) {
		return 0, errors.New("forecast: MASE undefined: the training series never changes from one season to the next")
	}
	var mae float64
	for i, a := range actual {
		mae += math.Abs(a - forecast[i])
	}
	mae /= float64(len(actual))
	return mae / scale, nil
}

// Errors are the holdout error measures of one forecast.
type Errors struct {
	MAPE  float64
	SMAPE float64
	MASE  float64
}

// Score computes all three measures; MAPE is NaN when an actual value is 0.
func Score(actual, forecast, train []float64, period int) (Errors, error) {
	var e Errors
	var err error
	if e.SMAPE, err = SMAPE(actual, forecast); err != nil {
		return e, err
	}
	if e.MASE, err = MASE(actual, forecast, train, period); err != nil {
		return e, err
	}
	if e.MAPE, err = MAPE(actual, forecast); err != nil {
		e.MAPE = math.NaN()
	}
	return e, nil
}

// HoldoutResult compares Holt-Winters with seasonal naive on the last h values.
type HoldoutResult struct {
	Model       *Model // fitted on all but the last h values
	Forecast    []Point
	HoltWinters Errors
	Naive       Errors
}

// Holdout fits on x[:n−h], forecasts h steps with 95 % intervals, and scores
// that forecast and seasonal naive against x[n−h:].
func Holdout(x []float64, period int, seasonal Seasonality, h int) (*HoldoutResult, error) {
	if h < 1 || h >= len(x) {
		return nil, fmt.Errorf("forecast: holdout of %d values from a series of %d", h, len(x))
	}
	train, test := x[:len(x)-h], x[len(x)-h:]
	m, err := Fit(train, period, seasonal)
	if err != nil {
		return nil, fmt.Errorf("holdout fit: %w", err)
	}
	return holdoutWith(m, train, test)
}

func holdoutWith(m *Model, train, test []float64) (*HoldoutResult, error) {
	fc, err := m.Forecast(len(test), 0.95)
	if err != nil {
		return nil, err
	}
	means := make([]float64, len(fc))
	for i, p := range fc {
		means[i] = p.Mean
	}
	r := &HoldoutResult{Model: m, Forecast: fc}
	if r.HoltWinters, err = Score(test, means, train, m.Period); err != nil {
		return nil, err
	}
	naive, err := SeasonalNaive(train, m.Period, len(test))
	if err != nil {
		return nil, err
	}
	if r.Naive, err = Score(test, naive, train, m.Period); err != nil {
		return nil, err
	}
	return r, nil
}
