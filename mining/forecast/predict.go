package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Point is one forecast step with its prediction interval.
type Point struct {
	Mean  float64
	Lower float64
	Upper float64
}

// Forecast predicts h steps past the end of the fitted series with a
// two-sided prediction interval of the given coverage (e.g. 0.95). The
// intervals follow R's predict.HoltWinters: variance of the one-step
// residuals (n−1 denominator) times Σ ψ(j)², ψ(j) = α(1+jβ) + [j ≡ 0 mod p]γ(1−α).
// For multiplicative seasonality R scales ψ(j) by s_rel/s_(rel−j); where
// (rel−j) mod p = 0 R's code reads the trend coefficient b in place of the
// seasonal index s_p, which first happens at h = p (j = 0) — there Forecast
// uses s_p, so its multiplicative intervals equal R's for h < p and differ
// from h = p on (additive intervals equal R's at every h).
func (m *Model) Forecast(h int, coverage float64) ([]Point, error) {
	if h < 1 {
		return nil, fmt.Errorf("forecast: horizon %d, need at least 1", h)
	}
	if !(coverage > 0 && coverage < 1) {
		return nil, fmt.Errorf("forecast: interval coverage %v, must be in (0, 1)", coverage)
	}
	sigma2 := m.residualVariance()
	z := distuv.UnitNormal.Quantile((1 + coverage) / 2)
	p := m.Period
	psi := func(j int) float64 {
		v := m.Alpha * (1 + float64(j)*m.Beta)
		if j%p == 0 {
			v += m.Gamma * (1 - m.Alpha)
		}
		return v
	}
	out := make([]Point, h)
	for step := 1; step <= h; step++ {
		base := m.Level + float64(step)*m.Trend
		s := m.Season[(step-1)%p]
		var mean, v float64
		if m.Seasonal == Additive {
			mean = base + s
			v = 1
			for j := 1; j < step; j++ {
				v += psi(j) * psi(j)
			}
		} else {
			mean = base * s
			rel := 1 + (step-1)%p // 1-based season of this step
			for j := 0; j < step; j++ {
				k := ((rel-j)%p + p) % p // 1-based, 0 meaning season p
				if k == 0 {
					k = p
				}
				r := psi(j) * m.Season[rel-1] / m.Season[k-1]
				v += r * r
			}
		}
		half := z * math.Sqrt(sigma2*v)
		out[step-1] = Point{Mean: mean, Lower: mean - half, Upper: mean + half}
	}
	return out, nil
}

// residualVariance is the sample variance (n−1 denominator) of the one-step
// errors, R's var(residuals(hw)).
func (m *Model) residualVariance() float64 {
	r := m.residuals
	if len(r) < 2 {
		return 0
	}
	var mean float64
	for _, v := range r {
		mean += v
	}
	mean /= float64(len(r))
	var ss float64
	for _, v := range r {
		ss += (v - mean) * (v - mean)
	}
	return ss / float64(len(r)-1)
}

// Residuals returns the one-step errors x[t] − Fitted[t] for t = Period … N−1.
func (m *Model) Residuals() []float64 {
	return append([]float64(nil), m.residuals...)
}
