package mining

import (
	"context"
	"fmt"
	"math"

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

// minimizeMultiStart minimizes f from each start with BFGS (falling back to
// Nelder-Mead followed by BFGS when a run fails) and keeps the lowest finite
// minimum. It never panics: a panic inside the optimizer becomes a failed
// start. gradTol is the infinity-norm threshold on the gradient for the best
// minimum to count as converged.
func minimizeMultiStart(ctx context.Context, f objective, starts [][]float64, gradTol float64) (fitOutcome, error) {
	best := fitOutcome{F: math.Inf(1), Starts: len(starts)}
	for _, x0 := range starts {
		if err := ctx.Err(); err != nil {
			return best, err
		}
		res, method, err := minimizeOnce(f, x0, &optimize.BFGS{})
		if err != nil || res == nil || !finite(res.F) {
			nm, _, err2 := minimizeOnce(f, x0, &optimize.NelderMead{})
			if err2 == nil && nm != nil && finite(nm.F) {
				res, method, err = minimizeOnce(f, nm.X, &optimize.BFGS{})
				if err != nil || res == nil || !finite(res.F) {
					res, method, err = nm, "nelder-mead", nil
				} else {
					method = "nelder-mead+bfgs"
				}
			}
		}
		if err != nil || res == nil || !finite(res.F) {
			best.StartsFailed++
			continue
		}
		if res.F < best.F {
			grad := make([]float64, len(res.X))
			f(res.X, grad)
			best.Theta = append([]float64(nil), res.X...)
			best.F = res.F
			best.Method = method
			best.Status = res.Status.String()
			best.Iterations = res.Stats.MajorIterations
			best.Evaluations = res.Stats.FuncEvaluations
			best.GradientNorm = infNorm(grad)
		}
	}
	if best.Theta == nil {
		return best, fmt.Errorf("maximum likelihood: all %d starting points failed", len(starts))
	}
	best.Converged = finite(best.GradientNorm) && best.GradientNorm <= gradTol
	return best, nil
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
