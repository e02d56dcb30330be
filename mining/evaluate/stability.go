package evaluate

import (
	"fmt"
	"math"
	"sort"
)

// psiFloor replaces an empty bin's share, so that a bin that is empty on one
// side gives a large but finite term instead of ln 0.
const psiFloor = 1e-4

// PSI is the population stability index of the scores a model gives now
// (after) against those it gave when it was built (before) — drift that can
// be seen before new labels arrive. The bins are before's quantiles: cut
// points at the values of rank ⌊k·n/bins⌋ (0-based, k = 1 … bins−1) of the
// sorted before scores, equal cut points merged; a score goes to the number
// of cut points ≤ it. PSI = Σ (a − b)·ln(a / b) over bins of the shares a
// (after) and b (before), an empty bin's share taken as 1e-4. A common
// reading: < 0.1 stable, 0.1–0.25 some shift, > 0.25 a shifted population.
func PSI(before, after []float64, bins int) (float64, error) {
	if len(before) == 0 || len(after) == 0 {
		return 0, fmt.Errorf("%w: PSI needs scores on both sides (have %d before, %d after)", ErrInput, len(before), len(after))
	}
	if bins < 2 || bins > len(before) {
		return 0, fmt.Errorf("%w: %d bins for %d scores; need 2 ≤ bins ≤ scores", ErrInput, bins, len(before))
	}
	for _, side := range [][]float64{before, after} {
		for i, v := range side {
			if math.IsNaN(v) {
				return 0, fmt.Errorf("%w: score of row %d is NaN", ErrInput, i)
			}
		}
	}
	sorted := append([]float64(nil), before...)
	sort.Float64s(sorted)
	var cuts []float64
	for k := 1; k < bins; k++ {
		c := sorted[k*len(sorted)/bins]
		if len(cuts) == 0 || c > cuts[len(cuts)-1] {
			cuts = append(cuts, c)
		}
	}
	share := func(xs []float64) []float64 {
		n := make([]float64, len(cuts)+1)
		for _, x := range xs {
			n[sort.Search(len(cuts), func(i int) bool { return cuts[i] > x })]++
		}
		for i := range n {
			n[i] /= float64(len(xs))
			if n[i] == 0 {
				n[i] = psiFloor
			}
		}
		return n
	}
	b, a := share(before), share(after)
	var psi float64
	for i := range b {
		psi += (a[i] - b[i]) * math.Log(a[i]/b[i])
	}
	return psi, nil
}
