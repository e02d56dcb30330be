package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// Fit fits α, β and γ by minimising the one-step SSE, as R's HoltWinters
// does, from R's start-up values. R runs L-BFGS-B once from (0.3, 0.1, 0.1);
// the SSE surface has local minima, so Fit starts gonum's Nelder–Mead from
// R's start and from the best points of a coarse grid, each parameter mapped
// to [0, 1] by sin²θ so the search needs no bounds, and keeps the lowest SSE.
// The series must have at least two seasons of values, no NaN or ±Inf,
// and for multiplicative seasonality only positive values.
func Fit(x []float64, period int, seasonal Seasonality) (*Model, error) {
	if err := checkSeries(x, period, seasonal); err != nil {
		return nil, err
	}
	st, err := startValues(x, period, seasonal)
	if err != nil {
		return nil, err
	}
	sse := func(p Params) float64 {
		v := run(x, period, seasonal, p, st, nil)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	best, bestSSE := Params{Alpha: 0.3, Beta: 0.1, Gamma: 0.1}, math.Inf(1)
	starts := append([]Params{best}, gridStarts(sse, 4)...)
	for _, s0 := range starts {
		p, v, err := nelderMead(sse, s0)
		if err != nil {
			return nil, err
		}
		if v < bestSSE {
			best, bestSSE = p, v
		}
	}
	if math.IsInf(bestSSE, 1) {
		return nil, fmt.Errorf("%w: no parameters give a finite SSE", ErrSeries)
	}
	if best.Alpha == 0 {
		// α = 0 keeps the start level forever; R refuses it too. Take the
		// smallest positive α instead, which the SSE cannot tell apart.
		best.Alpha = math.SmallestNonzeroFloat64
	}
	return newModel(x, period, seasonal, best, st), nil
}

// gridStarts evaluates the SSE on a 10×11×11 grid and returns the k best points.
func gridStarts(sse func(Params) float64, k int) []Params {
	type cand struct {
		p Params
		v float64
	}
	var top []cand
	for a := 0.05; a < 1; a += 0.1 {
		for b := 0.0; b <= 1.0001; b += 0.1 {
			for g := 0.0; g <= 1.0001; g += 0.1 {
				c := cand{Params{a, math.Min(b, 1), math.Min(g, 1)}, 0}
				c.v = sse(c.p)
				top = append(top, c)
				for i := len(top) - 1; i > 0 && top[i].v < top[i-1].v; i-- {
					top[i], top[i-1] = top[i-1], top[i]
				}
				if len(top) > k {
					top = top[:k]
				}
			}
		}
	}
	out := make([]Params, len(top))
	for i, c := range top {
		out[i] = c.p
	}
	return out
}

func toTheta(p Params) []float64 {
	return []float64{math.Asin(math.Sqrt(p.Alpha)), math.Asin(math.Sqrt(p.Beta)), math.Asin(math.Sqrt(p.Gamma))}
}

func fromTheta(th []float64) Params {
	s := func(t float64) float64 { v := math.Sin(t); return v * v }
	return Params{Alpha: s(th[0]), Beta: s(th[1]), Gamma: s(th[2])}
}

func nelderMead(sse func(Params) float64, start Params) (Params, float64, error) {
	prob := optimize.Problem{Func: func(th []float64) float64 { return sse(fromTheta(th)) }}
	settings := &optimize.Settings{
		Converger:       &optimize.FunctionConverge{Absolute: 1e-13, Relative: 1e-13, Iterations: 50},
		MajorIterations: 5000,
	}
	res, err := optimize.Minimize(prob, toTheta(start), settings, &optimize.NelderMead{})
	if res == nil {
		return start, math.Inf(1), fmt.Errorf("forecast: fit: %w", err)
	}
	// A run stopped by an iteration limit still holds its best point, which
	// competes with the other starts on SSE; only a missing result is fatal.
	return fromTheta(res.X), res.F, nil
}
