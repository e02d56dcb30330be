package mining

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// BGNBD holds the parameters of the BG/NBD model of repeat buying (Fader,
// Hardie & Lee 2005): purchase rates are gamma(R, Alpha) distributed across
// customers and the probability of dropping out after a purchase is
// beta(A, B) distributed. Time is in the unit of the calibration data
// (weeks in ckm).
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// Calibration is the calibration-period summary BG/NBD is fitted on, as
// columns: per customer (or per group of customers with the same values)
// the number of repeat purchases, the time from first to last purchase,
// the time from first purchase to the end of the calibration period, and
// how many customers the row stands for.
type Calibration struct {
	Frequency []float64 // repeat purchases x
	Recency   []float64 // t_x, time of the last purchase since the first
	Age       []float64 // T, time since the first purchase
	Weight    []float64 // customers with these values; nil means 1 each
}

// Len returns the number of rows.
func (c Calibration) Len() int { return len(c.Frequency) }

// Customers returns the number of customers the rows stand for.
func (c Calibration) Customers() float64 {
	if c.Weight == nil {
		return float64(len(c.Frequency))
	}
	s := 0.0
	for _, w := range c.Weight {
		s += w
	}
	return s
}

func (c Calibration) weight(i int) float64 {
	if c.Weight == nil {
		return 1
	}
	return c.Weight[i]
}

// validate rejects data the likelihood is not defined for.
func (c Calibration) validate() error {
	n := len(c.Frequency)
	if n == 0 {
		return errors.New("calibration data is empty: no customer purchased in the calibration period")
	}
	if len(c.Recency) != n || len(c.Age) != n || (c.Weight != nil && len(c.Weight) != n) {
		return errors.New("calibration columns differ in length")
	}
	for i := 0; i < n; i++ {
		x, tx, T := c.Frequency[i], c.Recency[i], c.Age[i]
		switch {
		case !finite(x) || x < 0 || x != math.Trunc(x):
			return fmt.Errorf("calibration row %d: frequency %v is not a non-negative whole number", i, x)
		case !finite(tx) || tx < 0 || !finite(T) || T < tx:
			return fmt.Errorf("calibration row %d: recency %v and age %v need 0 <= recency <= age", i, tx, T)
		case x > 0 && T <= 0:
			return fmt.Errorf("calibration row %d: %v repeat purchases in zero time", i, x)
		}
	}
	return nil
}

// LogLikelihood returns the BG/NBD log-likelihood of the data.
func (m BGNBD) LogLikelihood(c Calibration) float64 {
	return m.logLikelihood(c, nil)
}

// logLikelihood returns the log-likelihood and, when grad is not nil, adds
// its gradient with respect to (log r, log alpha, log a, log b) to grad.
// The gamma-function terms depend on the whole number x only; they are
// tabulated once per call by the recurrences lnΓ(z+1) = lnΓ(z) + ln z and
// ψ(z+1) = ψ(z) + 1/z, so each row costs a few logarithms.
func (m BGNBD) logLikelihood(c Calibration, grad []float64) float64 {
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	maxX := 0
	for _, x := range c.Frequency {
		maxX = max(maxX, int(x))
	}
	// t[x] = lnΓ(r+x) − lnΓ(r) + lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
	// and its derivatives in r, a and b.
	t := make([]float64, maxX+1)
	var dr, da, db []float64
	if grad != nil {
		dr, da, db = make([]float64, maxX+1), make([]float64, maxX+1), make([]float64, maxX+1)
	}
	var lr, lb, lab, pr, pb, pab float64 // running lnΓ(·+x) − lnΓ(·) and ψ(·+x) − ψ(·)
	for x := 0; x <= maxX; x++ {
		if x > 0 {
			fx := float64(x - 1)
			lr += math.Log(r + fx)
			lb += math.Log(b + fx)
			lab += math.Log(a + b + fx)
			if grad != nil {
				pr += 1 / (r + fx)
				pb += 1 / (b + fx)
				pab += 1 / (a + b + fx)
			}
		}
		t[x] = lr + lb - lab
		if grad != nil {
			dr[x] = pr
			da[x] = -pab
			db[x] = pb - pab
		}
	}
	lalpha, la := math.Log(alpha), math.Log(a)
	var ll, gr, galpha, ga, gb float64
	for i := range c.Frequency {
		x, tx, T, w := c.Frequency[i], c.Recency[i], c.Age[i], c.weight(i)
		xi := int(x)
		lT := math.Log(alpha + T)
		a3 := -(r + x) * lT
		li := t[xi] + r*lalpha
		w3, w4 := 1.0, 0.0
		var ltx float64
		if x > 0 {
			ltx = math.Log(alpha + tx)
			a4 := la - math.Log(b+x-1) - (r+x)*ltx
			hi := math.Max(a3, a4)
			e3, e4 := math.Exp(a3-hi), math.Exp(a4-hi)
			s := e3 + e4
			li += hi + math.Log(s)
			w3, w4 = e3/s, e4/s
		} else {
			li += a3
		}
		ll += w * li
		if grad == nil {
			continue
		}
		gdr := dr[xi] + lalpha - w3*lT
		gdalpha := r/alpha - w3*(r+x)/(alpha+T)
		gda := da[xi]
		gdb := db[xi]
		if x > 0 {
			gdr -= w4 * ltx
			gdalpha -= w4 * (r + x) / (alpha + tx)
			gda += w4 / a
			gdb -= w4 / (b + x - 1)
		}
		gr += w * gdr
		galpha += w * gdalpha
		ga += w * gda
		gb += w * gdb
	}
	if grad != nil {
		grad[0] += gr * r
		grad[1] += galpha * alpha
		grad[2] += ga * a
		grad[3] += gb * b
	}
	return ll
}

// BGNBDFit is the outcome of a maximum-likelihood fit.
type BGNBDFit struct {
	Model         BGNBD   `json:"model"`
	LogLikelihood float64 `json:"log_likelihood"`
	Converged     bool    `json:"converged"`
	Status        string  `json:"status"` // StatusConverged or StatusNotConverged
	Method        string  `json:"method"`
	Iterations    int     `json:"iterations"`
	GradientNorm  float64 `json:"gradient_norm"` // of the log-likelihood in log parameters
	Starts        int     `json:"starts"`
	StartsFailed  int     `json:"starts_failed"`
	Customers     float64 `json:"customers"`
}

// FitBGNBD fits BG/NBD to the calibration data by maximum likelihood over
// the logarithms of the parameters (so they stay positive) from several
// starting points, keeping the best. It returns an error only when the data
// is invalid or every start failed; a fit that stopped short of the optimum
// is returned with Converged false.
func FitBGNBD(ctx context.Context, c Calibration) (BGNBDFit, error) {
	if err := c.validate(); err != nil {
		return BGNBDFit{}, fmt.Errorf("fit bg/nbd: %w", err)
	}
	n := c.Customers()
	meanT := 0.0
	for i := range c.Age {
		meanT += c.weight(i) * c.Age[i]
	}
	meanT = math.Max(meanT/n, 1e-3)
	f := func(theta, grad []float64) float64 {
		m := BGNBD{R: math.Exp(theta[0]), Alpha: math.Exp(theta[1]), A: math.Exp(theta[2]), B: math.Exp(theta[3])}
		for i := range grad {
			grad[i] = 0
		}
		ll := m.logLikelihood(c, grad)
		for i := range grad {
			grad[i] = -grad[i] / n
		}
		return -ll / n
	}
	starts := [][]float64{
		logs(1, 1, 1, 1),
		logs(0.5, meanT/4, 0.5, 2),
		logs(0.2, meanT/10, 1, 3),
		logs(2, meanT, 0.3, 1),
		logs(0.1, meanT/2, 2, 10),
	}
	out, err := minimizeMultiStart(ctx, f, starts, 1e-7)
	if err != nil {
		return BGNBDFit{}, fmt.Errorf("fit bg/nbd: %w", err)
	}
	fit := BGNBDFit{
		Model:         BGNBD{R: math.Exp(out.Theta[0]), Alpha: math.Exp(out.Theta[1]), A: math.Exp(out.Theta[2]), B: math.Exp(out.Theta[3])},
		LogLikelihood: -out.F * n,
		Converged:     out.Converged,
		Method:        out.Method,
		Iterations:    out.Iterations,
		GradientNorm:  out.GradientNorm * n,
		Starts:        out.Starts,
		StartsFailed:  out.StartsFailed,
		Customers:     n,
	}
	fit.Status = StatusNotConverged
	if fit.Converged {
		fit.Status = StatusConverged
	}
	return fit, nil
}

func logs(v ...float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Log(x)
	}
	return out
}

// ProbabilityAlive returns the probability that a customer with x repeat
// purchases, the last at tx, observed for T is still active at T.
func (m BGNBD) ProbabilityAlive(x, tx, T float64) float64 {
	if x == 0 {
		return 1
	}
	return 1 / (1 + m.A/(m.B+x-1)*math.Exp((m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))))
}

// ExpectedPurchases returns the expected number of purchases of a customer
// with history (x, tx, T) in the next t time units (the conditional
// expectation, equation 10 of Fader, Hardie & Lee 2005). It is
// ExpectedIfAlive(x, T, t) × ProbabilityAlive(x, tx, T).
func (m BGNBD) ExpectedPurchases(x, tx, T, t float64) float64 {
	if t <= 0 {
		return 0
	}
	return m.ExpectedIfAlive(x, T, t) * m.ProbabilityAlive(x, tx, T)
}

// ExpectedIfAlive returns the expected purchases in the next t time units
// of a customer with x repeat purchases observed for T who is still active
// at T. It does not depend on the recency, so scoring computes it once per
// distinct (x, T).
func (m BGNBD) ExpectedIfAlive(x, T, t float64) float64 {
	if t <= 0 {
		return 0
	}
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	z := t / (alpha + T + t)
	hyp := mathext.Hypergeo(r+x, b+x, a+b+x-1, z)
	return (a + b + x - 1) / (a - 1) * (1 - math.Exp((r+x)*math.Log((alpha+T)/(alpha+T+t)))*hyp)
}
