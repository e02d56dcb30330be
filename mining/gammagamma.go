package mining

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// GammaGamma holds the parameters of the Gamma-Gamma model of spend per
// transaction (Fader & Hardie 2013): a customer's transaction values are
// gamma(P, ν) with ν gamma(Q, Gamma) distributed across customers.
type GammaGamma struct {
	P     float64 `json:"p"`
	Q     float64 `json:"q"`
	Gamma float64 `json:"gamma"`
}

// Spend is what Gamma-Gamma is fitted on: per repeat buyer the number of
// repeat transactions and their average value.
type Spend struct {
	Frequency []float64 // repeat transactions x > 0
	Average   []float64 // mean value of those transactions, > 0
}

func (s Spend) validate() error {
	if len(s.Frequency) == 0 {
		return errors.New("no repeat buyers with a positive average spend")
	}
	if len(s.Average) != len(s.Frequency) {
		return errors.New("spend columns differ in length")
	}
	for i := range s.Frequency {
		if !(s.Frequency[i] > 0) || !finite(s.Frequency[i]) {
			return fmt.Errorf("spend row %d: frequency %v must be positive", i, s.Frequency[i])
		}
		if !(s.Average[i] > 0) || !finite(s.Average[i]) {
			return fmt.Errorf("spend row %d: average spend %v must be positive", i, s.Average[i])
		}
	}
	return nil
}

// LogLikelihood returns the Gamma-Gamma log-likelihood of the averages.
func (m GammaGamma) LogLikelihood(s Spend) float64 { return m.logLikelihood(s, nil) }

// logLikelihood returns the log-likelihood and, when grad is not nil, adds
// its gradient with respect to (log p, log q, log γ). The gamma-function
// terms depend on the whole number x only and are computed once per x.
func (m GammaGamma) logLikelihood(s Spend, grad []float64) float64 {
	p, q, g := m.P, m.Q, m.Gamma
	maxX := 0
	for _, x := range s.Frequency {
		maxX = max(maxX, int(x))
	}
	lgq, _ := math.Lgamma(q)
	dgq := 0.0
	if grad != nil {
		dgq = mathext.Digamma(q)
	}
	// Per x: lnΓ(px+q) − lnΓ(px) − lnΓ(q), ψ(px+q), ψ(px); computed lazily.
	type terms struct {
		done          bool
		lg, dpxq, dpx float64
	}
	tab := make([]terms, maxX+1)
	lg := math.Log(g)
	var ll, gp, gq, gg float64
	for i := range s.Frequency {
		x, mean := s.Frequency[i], s.Average[i]
		xi := int(x)
		px := p * x
		tt := &tab[xi]
		if !tt.done || x != float64(xi) {
			lgpxq, _ := math.Lgamma(px + q)
			lgpx, _ := math.Lgamma(px)
			tt.lg = lgpxq - lgpx - lgq
			if grad != nil {
				tt.dpxq, tt.dpx = mathext.Digamma(px+q), mathext.Digamma(px)
			}
			tt.done = x == float64(xi)
		}
		lm, lx, lgmx := math.Log(mean), math.Log(x), math.Log(g+mean*x)
		ll += tt.lg + q*lg + (px-1)*lm + px*lx - (px+q)*lgmx
		if grad == nil {
			continue
		}
		gp += x * (tt.dpxq - tt.dpx + lm + lx - lgmx)
		gq += tt.dpxq - dgq + lg - lgmx
		gg += q/g - (px+q)/(g+mean*x)
	}
	if grad != nil {
		grad[0] += gp * p
		grad[1] += gq * q
		grad[2] += gg * g
	}
	return ll
}

// GammaGammaFit is the outcome of a maximum-likelihood fit.
type GammaGammaFit struct {
	Model         GammaGamma `json:"model"`
	LogLikelihood float64    `json:"log_likelihood"`
	Converged     bool       `json:"converged"`
	Status        string     `json:"status"`
	Method        string     `json:"method"`
	Iterations    int        `json:"iterations"`
	GradientNorm  float64    `json:"gradient_norm"`
	Starts        int        `json:"starts"`
	StartsFailed  int        `json:"starts_failed"`
	Customers     int        `json:"customers"`
}

// FitGammaGamma fits Gamma-Gamma by maximum likelihood over the logarithms
// of the parameters from several starting points.
func FitGammaGamma(ctx context.Context, s Spend) (GammaGammaFit, error) {
	if err := s.validate(); err != nil {
		return GammaGammaFit{}, fmt.Errorf("fit gamma-gamma: %w", err)
	}
	n := float64(len(s.Frequency))
	mean := 0.0
	for _, v := range s.Average {
		mean += v
	}
	mean /= n
	f := func(theta, grad []float64) float64 {
		m := GammaGamma{P: math.Exp(theta[0]), Q: math.Exp(theta[1]), Gamma: math.Exp(theta[2])}
		for i := range grad {
			grad[i] = 0
		}
		ll := m.logLikelihood(s, grad)
		for i := range grad {
			grad[i] = -grad[i] / n
		}
		return -ll / n
	}
	starts := [][]float64{
		logs(1, 1, 1),
		logs(2, 3, mean),
		logs(5, 4, mean/2),
		logs(0.5, 2, mean*2),
	}
	out, err := minimizeMultiStart(ctx, f, starts, 1e-7)
	if err != nil {
		return GammaGammaFit{}, fmt.Errorf("fit gamma-gamma: %w", err)
	}
	fit := GammaGammaFit{
		Model:         GammaGamma{P: math.Exp(out.Theta[0]), Q: math.Exp(out.Theta[1]), Gamma: math.Exp(out.Theta[2])},
		LogLikelihood: -out.F * n,
		Converged:     out.Converged,
		Method:        out.Method,
		Iterations:    out.Iterations,
		GradientNorm:  out.GradientNorm * n,
		Starts:        out.Starts,
		StartsFailed:  out.StartsFailed,
		Customers:     len(s.Frequency),
	}
	fit.Status = StatusNotConverged
	if fit.Converged {
		fit.Status = StatusConverged
	}
	return fit, nil
}

// ExpectedSpend returns the expected value of a transaction of a customer
// with x repeat transactions of average value mean; with x = 0 it is the
// population mean p·γ/(q−1) (infinite when q ≤ 1).
func (m GammaGamma) ExpectedSpend(x, mean float64) float64 {
	if x <= 0 || !(mean > 0) {
		if m.Q <= 1 {
			return math.Inf(1)
		}
		return m.P * m.Gamma / (m.Q - 1)
	}
	return m.P * (m.Gamma + mean*x) / (m.P*x + m.Q - 1)
}
