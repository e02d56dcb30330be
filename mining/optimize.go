package mining

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/optimize"
)

// Fit statuses stored in kb_model.status.
const (
	StatusConverged    = "converged"
	StatusNotConverged = "not_converged"
)

// objective evaluates a negative log-likelihood at theta (log parameters) and,
// when grad is not nil, its gradient.
type objective func(theta, grad []float64) float64

// fitOutcome is the best local minimum found over several starting points.
type fitOutcome struct {
	Theta        []float64
	F            float64 // objective at Theta
	Converged    bool
	Method       string
	Status       string // gonum's termination status of the best start
	Iterations   int
	Evaluations  int
	GradientNorm float64 // infinity norm of the gradient at Theta
	Starts       int
	StartsFailed int
}

// startResult is the outcome of one starting point.
type startResult struct {
	res    *optimize.Result
	method string
	err    error
}

// minimizeMultiStart minimizes f from the starts with BFGS (falling back to
// Nelder-Mead followed by BFGS when a run fails) and keeps the lowest finite
// minimum. Starts run two at a time in parallel; once two starts have
// reached the same minimum (relative difference 1e-9) the remaining ones
// are skipped. It never panics: a panic inside the optimizer becomes a
// failed start. gradTol is the infinity-norm threshold on the gradient for
// the best minimum to count as converged.
func minimizeMultiStart(ctx context.Context, f objective, starts [][]float64, gradTol float64) (fitOutcome, error) {
	best := fitOutcome{F: math.Inf(1)}
	var minima []float64
	for i := 0; i < len(starts); i += 2 {
		if err := ctx.Err(); err != nil {
			return best, err
		}
		batch := starts[i:min(i+2, len(starts))]
		results := make([]startResult, len(batch))
		var wg sync.WaitGroup
		for j, x0 := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[j] = runStart(f, x0)
			}()
		}
		wg.Wait()
		for _, r := range results {
			best.Starts++
			if r.err != nil {
				best.StartsFailed++
				continue
			}
			grad := make([]float64, len(r.res.X))
			f(r.res.X, grad)
			gn := infNorm(grad)
			minima = append(minima, r.res.F)
			if r.res.F < best.F {
				best.Theta = append([]float64(nil), r.res.X...)
				best.F = r.res.F
				best.Method = r.method
				best.Status = r.res.Status.String()
				best.Iterations = r.res.Stats.MajorIterations
				best.Evaluations = r.res.Stats.FuncEvaluations
				best.GradientNorm = gn
			}
		}
		agree := 0
		for _, c := range minima {
			if math.Abs(c-best.F) <= 1e-9*math.Max(1, math.Abs(best.F)) {
				agree++
			}
		}
		if agree >= 2 {
			break
		}
	}
	if best.Theta == nil {
		return best, fmt.Errorf("maximum likelihood: all %d starting points failed", len(starts))
	}
	best.Converged = finite(best.GradientNorm) && best.GradientNorm <= gradTol
	return best, nil
}

// runStart minimizes from one starting point: BFGS, or Nelder-Mead then
// BFGS when BFGS fails.
func runStart(f objective, x0 []float64) startResult {
	res, method, err := minimizeOnce(f, x0, &optimize.BFGS{})
	if err == nil && res != nil && finite(res.F) {
		return startResult{res, method, nil}
	}
	nm, _, err2 := minimizeOnce(f, x0, &optimize.NelderMead{})
	if err2 != nil || nm == nil || !finite(nm.F) {
		if err == nil {
			err = errors.New("no finite minimum")
		}
		return startResult{err: err}
	}
	res, _, err = minimizeOnce(f, nm.X, &optimize.BFGS{})
	if err != nil || res == nil || !finite(res.F) || res.F > nm.F {
		return startResult{nm, "nelder-mead", nil}
	}
	return startResult{res, "nelder-mead+bfgs", nil}
}

func minimizeOnce(f objective, x0 []float64, method optimize.Method) (res *optimize.Result, name string, err error) {
	name = "bfgs"
	if _, ok := method.(*optimize.NelderMead); ok {
		name = "nelder-mead"
	}
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("optimizer panicked: %v", r)
		}
	}()
	p := optimize.Problem{
		Func: func(x []float64) float64 {
			v := f(x, nil)
			if !finite(v) {
				return math.Inf(1)
			}
			return v
		},
		Grad: func(grad, x []float64) {
			v := f(x, grad)
			if !finite(v) {
				for i := range grad {
					grad[i] = math.NaN()
				}
			}
		},
	}
	settings := &optimize.Settings{
		GradientThreshold: 1e-10,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-13, Relative: 1e-13, Iterations: 50},
		MajorIterations:   2000,
		FuncEvaluations:   20000,
	}
	// A line search that cannot improve further reports an error with a
	// usable result; the caller judges convergence by the gradient.
	res, err = optimize.Minimize(p, append([]float64(nil), x0...), settings, method)
	if res != nil && finite(res.F) {
		err = nil
	}
	return res, name, err
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func infNorm(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		if math.IsNaN(x) {
			return math.NaN()
		}
		m = math.Max(m, math.Abs(x))
	}
	return m
}
