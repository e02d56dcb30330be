package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// seedPlusPlus is greedy k-means++ as scikit-learn runs it: the first
// centroid is a uniformly random row; each next one is the best (lowest
// total squared distance) of 2 + ⌊ln k⌋ candidates drawn with probability
// proportional to the squared distance to the nearest chosen centroid.
// Restart r of a seed draws from its own stream, so runs are reproducible.
func seedPlusPlus(x Matrix, k int, seed, restart uint64) ([]float64, error) {
	rng := rand.New(rand.NewPCG(seed, restart))
	n, d := x.Rows, x.Cols
	centers := make([]float64, 0, k*d)
	first := rng.IntN(n)
	centers = append(centers, x.Row(first)...)
	closest := make([]float64, n)
	var pot float64
	for i := 0; i < n; i++ {
		closest[i] = sqDist(x.Row(i), x.Row(first))
		pot += closest[i]
	}
	trials := 2 + int(math.Log(float64(k)))
	cum := make([]float64, n)
	cand := make([]float64, n)
	best := make([]float64, n)
	for c := 1; c < k; c++ {
		if !(pot > 0) {
			return nil, fmt.Errorf("%w: only %d distinct rows for k = %d", ErrBadK, c, k)
		}
		var run float64
		for i, v := range closest {
			run += v
			cum[i] = run
		}
		bestPot, bestID := math.Inf(1), -1
		for t := 0; t < trials; t++ {
			id := sort.SearchFloat64s(cum, rng.Float64()*run)
			if id >= n {
				id = n - 1
			}
			var p float64
			for i := 0; i < n; i++ {
				cand[i] = math.Min(closest[i], sqDist(x.Row(i), x.Row(id)))
				p += cand[i]
			}
			if p < bestPot {
				bestPot, bestID = p, id
				copy(best, cand)
			}
		}
		centers = append(centers, x.Row(bestID)...)
		copy(closest, best)
		pot = bestPot
	}
	return centers, nil
}
