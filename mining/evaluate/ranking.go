package evaluate

import (
	"fmt"
	"math"
	"sort"
)

func checkScores(positive []bool, scores []float64) (pos, neg int, err error) {
	if len(scores) == 0 {
		return 0, 0, fmt.Errorf("%w: no scored rows", ErrInput)
	}
	if len(positive) != len(scores) {
		return 0, 0, fmt.Errorf("%w: %d labels but %d scores", ErrInput, len(positive), len(scores))
	}
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, 0, fmt.Errorf("%w: score of row %d is NaN", ErrInput, i)
		}
		if positive[i] {
			pos++
		} else {
			neg++
		}
	}
	return pos, neg, nil
}

// AUC is the area under the ROC curve, computed as the Mann–Whitney
// statistic: the probability that a random positive row scores above a
// random negative one, a tie counting one half (average ranks). It needs at
// least one positive and one negative row.
func AUC(positive []bool, scores []float64) (float64, error) {
	pos, neg, err := checkScores(positive, scores)
	if err != nil {
		return 0, err
	}
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("%w: AUC needs both classes; have %d positive and %d negative rows", ErrInput, pos, neg)
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return scores[order[a]] < scores[order[b]] })
	var rankSum float64 // sum of the positives' average ranks (1-based)
	for i := 0; i < len(order); {
		j := i
		for j < len(order) && scores[order[j]] == scores[order[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1 … j
		for k := i; k < j; k++ {
			if positive[order[k]] {
				rankSum += avg
			}
		}
		i = j
	}
	p, n := float64(pos), float64(neg)
	return (rankSum - p*(p+1)/2) / (p * n), nil
}

// Decile is one group of a gains table.
type Decile struct {
	Rank         int     // 1 = highest scores
	Rows         int     // rows in this group
	Positives    int     // positive rows in this group
	CumRows      int     // rows in groups 1 … Rank
	CumPositives int     // positives in groups 1 … Rank
	Gain         float64 // CumPositives / all positives
	Lift         float64 // (Positives/Rows) / overall positive rate
	CumLift      float64 // (CumPositives/CumRows) / overall positive rate
}

// Gains orders rows by score, highest first (ties keep input order), cuts
// them into `groups` groups where group k holds ranks ⌊(k−1)n/g⌋ … ⌊kn/g⌋−1,
// and reports gain and lift per group. groups = 10 gives deciles. It needs
// at least one row per group and at least one positive.
func Gains(positive []bool, scores []float64, groups int) ([]Decile, error) {
	pos, _, err := checkScores(positive, scores)
	if err != nil {
		return nil, err
	}
	n := len(scores)
	if groups < 1 || groups > n {
		return nil, fmt.Errorf("%w: %d groups for %d rows; need 1 ≤ groups ≤ rows", ErrInput, groups, n)
	}
	if pos == 0 {
		return nil, fmt.Errorf("%w: no positive rows, so no gains or lift", ErrInput)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	rate := float64(pos) / float64(n)
	out := make([]Decile, groups)
	cum := 0
	for k := 1; k <= groups; k++ {
		lo, hi := (k-1)*n/groups, k*n/groups
		hits := 0
		for _, r := range order[lo:hi] {
			if positive[r] {
				hits++
			}
		}
		cum += hits
		out[k-1] = Decile{Rank: k, Rows: hi - lo, Positives: hits, CumRows: hi, CumPositives: cum,
			Gain:    float64(cum) / float64(pos),
			Lift:    float64(hits) / float64(hi-lo) / rate,
			CumLift: float64(cum) / float64(hi) / rate}
	}
	return out, nil
}
