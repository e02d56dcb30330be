package mining

import (
	"context"
	"math"
	"testing"
)

// The analytic gradients agree with central finite differences of the
// log-likelihoods on the CDNOW sample.
func TestLikelihoodGradients(t *testing.T) {
	_, conn := cdnowSample(t)
	ctx := context.Background()
	cal, err := readCalibration(ctx, conn, "cal")
	if err != nil {
		t.Fatal(err)
	}
	spend, err := readSpend(ctx, conn, "cal")
	if err != nil {
		t.Fatal(err)
	}
	bgAt := func(th []float64) BGNBD {
		return BGNBD{math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), math.Exp(th[3])}
	}
	ggAt := func(th []float64) GammaGamma { return GammaGamma{math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2])} }
	for _, c := range []struct {
		name  string
		theta []float64
		ll    func(th, grad []float64) float64
	}{
		{"bgnbd", logs(0.3, 5, 0.6, 2), func(th, g []float64) float64 { return bgAt(th).logLikelihood(cal, g) }},
		{"gamma-gamma", logs(5, 3, 12), func(th, g []float64) float64 { return ggAt(th).logLikelihood(spend, g) }},
	} {
		grad := make([]float64, len(c.theta))
		c.ll(c.theta, grad)
		for i := range c.theta {
			h := 1e-5
			up := append([]float64(nil), c.theta...)
			down := append([]float64(nil), c.theta...)
			up[i] += h
			down[i] -= h
			num := (c.ll(up, nil) - c.ll(down, nil)) / (2 * h)
			if math.Abs(num-grad[i]) > 1e-4*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: d/dθ%d analytic %v, numeric %v", c.name, i, grad[i], num)
			}
		}
	}
}
