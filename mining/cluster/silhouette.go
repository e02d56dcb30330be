package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// Silhouette is the mean silhouette coefficient of all rows (Rousseeuw
// 1987, as scikit-learn's silhouette_score): for each row, a is the mean
// Euclidean distance to the other rows of its cluster, b the smallest mean
// distance to the rows of another cluster, s = (b − a) / max(a, b), and 0
// for a row alone in its cluster. It costs n² distances; see
// SilhouetteSample for large n.
func Silhouette(x Matrix, labels []int, k int) (float64, error) {
	if x.Rows == 0 {
		return 0, ErrEmpty
	}
	if len(labels) != x.Rows {
		return 0, fmt.Errorf("cluster: %d labels for %d rows", len(labels), x.Rows)
	}
	sizes := make([]int, k)
	for i, l := range labels {
		if l < 0 || l >= k {
			return 0, fmt.Errorf("cluster: row %d has label %d outside 0..%d", i, l, k-1)
		}
		sizes[l]++
	}
	used := 0
	for _, s := range sizes {
		if s > 0 {
			used++
		}
	}
	if used < 2 || used > x.Rows-1 {
		return 0, fmt.Errorf("cluster: silhouette needs 2 to n−1 clusters, have %d non-empty of %d rows", used, x.Rows)
	}
	threads := runtime.GOMAXPROCS(0)
	parts := make([]float64, threads)
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			sum := make([]float64, k)
			for i := t; i < x.Rows; i += threads {
				clear(sum)
				ri := x.Row(i)
				for o := 0; o < x.Rows; o++ {
					sum[labels[o]] += math.Sqrt(sqDist(ri, x.Row(o)))
				}
				own := labels[i]
				if sizes[own] == 1 {
					continue
				}
				a := sum[own] / float64(sizes[own]-1)
				b := math.Inf(1)
				for c := 0; c < k; c++ {
					if c != own && sizes[c] > 0 {
						b = math.Min(b, sum[c]/float64(sizes[c]))
					}
				}
				if m := math.Max(a, b); m > 0 {
					parts[t] += (b - a) / m
				}
			}
		}(t)
	}
	wg.Wait()
	var total float64
	for _, p := range parts {
		total += p
	}
	return total / float64(x.Rows), nil
}

// SilhouetteSample is Silhouette on sampleSize rows drawn without
// replacement from seed (scikit-learn's sample_size), or on all rows when
// there are no more than sampleSize.
func SilhouetteSample(x Matrix, labels []int, k, sampleSize int, seed uint64) (float64, error) {
	if sampleSize < 2 {
		return 0, fmt.Errorf("cluster: silhouette sample of %d rows, need at least 2", sampleSize)
	}
	if x.Rows <= sampleSize {
		return Silhouette(x, labels, k)
	}
	if len(labels) != x.Rows {
		return 0, fmt.Errorf("cluster: %d labels for %d rows", len(labels), x.Rows)
	}
	idx := rand.New(rand.NewPCG(seed, 0x5111)).Perm(x.Rows)[:sampleSize]
	sub := Matrix{Rows: sampleSize, Cols: x.Cols, Data: make([]float64, 0, sampleSize*x.Cols)}
	subLabels := make([]int, sampleSize)
	for n, i := range idx {
		sub.Data = append(sub.Data, x.Row(i)...)
		subLabels[n] = labels[i]
	}
	return Silhouette(sub, subLabels, k)
}
