package cluster

import (
	"context"
	"fmt"
)

// KChoice is one line of the k-selection report.
type KChoice struct {
	K          int     `json:"k"`
	Inertia    float64 `json:"inertia"`
	Silhouette float64 `json:"silhouette"`
	Iterations int     `json:"iterations"`
}

// SelectK fits k-means for every k in ks (with opt's other settings; k = 1
// has no silhouette and is refused) and reports inertia and silhouette, the
// silhouette on at most sampleSize rows drawn from opt.Seed. Best is the k
// with the highest silhouette (the smallest such k on a tie).
func SelectK(ctx context.Context, x Matrix, ks []int, opt Options, sampleSize int) (report []KChoice, best int, err error) {
	if len(ks) == 0 {
		return nil, 0, fmt.Errorf("%w: no k to try", ErrBadK)
	}
	bestSil := 0.0
	for _, k := range ks {
		if k < 2 {
			return nil, 0, fmt.Errorf("%w: k = %d in the k-selection report, silhouette needs k ≥ 2", ErrBadK, k)
		}
		o := opt
		o.K = k
		res, err := KMeans(ctx, x, o)
		if err != nil {
			return nil, 0, fmt.Errorf("k = %d: %w", k, err)
		}
		sil, err := SilhouetteSample(x, res.Labels, k, sampleSize, opt.Seed)
		if err != nil {
			return nil, 0, fmt.Errorf("k = %d: %w", k, err)
		}
		report = append(report, KChoice{K: k, Inertia: res.Inertia, Silhouette: sil, Iterations: res.Iterations})
		if best == 0 || sil > bestSil || (sil == bestSil && k < best) {
			best, bestSil = k, sil
		}
	}
	return report, best, nil
}
