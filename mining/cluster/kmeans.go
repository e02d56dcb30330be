package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
)

// Algorithm chooses how each k-means iteration assigns rows to centroids.
// All give the same labels, centroids and iteration counts (up to exact
// distance ties); the bounded ones skip most distance computations once
// centroids settle. The default is Hamerly: on the benchmark
// (k = 8, 1M × 8 rows, 37 iterations, two threads) it used the least CPU
// (median 1.75 s against Elkan's 2.9 s, Lloyd's 3.4 s and scikit-learn's
// Lloyd 2.5 s in one run at load average 8–16).
type Algorithm string

const (
	// Lloyd computes every row's distance to every centroid each iteration.
	Lloyd Algorithm = "lloyd"
	// Hamerly keeps an upper bound on each row's distance to its centroid
	// and a lower bound on the second nearest (Hamerly 2010), and computes
	// distances only for rows whose bounds no longer prove their label.
	Hamerly Algorithm = "hamerly"
	// Elkan keeps a lower bound per row and centroid (Elkan 2003): k more
	// floats per row and fewer distance computations, but more bound upkeep.
	Elkan Algorithm = "elkan"
)

// Options configure KMeans. The zero value of each field means its default.
type Options struct {
	K int
	// Init fixes the initial centroids (K rows of the data's width); then
	// Restarts must be 0 or 1. Without it, k-means++ seeds from Seed.
	Init [][]float64
	// Restarts is the number of seeded runs; the one with the lowest inertia
	// wins (default 1 with Init, else 10, as scikit-learn's n_init).
	Restarts int
	// MaxIter caps the iterations of one run (default 300).
	MaxIter int
	// Tol is scikit-learn's tol (default 1e-4): a run stops when the sum of
	// squared centroid moves is at most Tol × the mean feature variance, or
	// when no label changed.
	Tol       float64
	Seed      uint64
	Algorithm Algorithm
	// Threads is the number of goroutines (default GOMAXPROCS).
	Threads int
}

// Result is a fitted k-means: centroids in the space of the data it saw.
type Result struct {
	Centroids  [][]float64 `json:"centroids"`
	Labels     []int       `json:"-"`
	Sizes      []int       `json:"sizes"`
	Inertia    float64     `json:"inertia"`
	Iterations int         `json:"iterations"`
	// Restart is the index of the winning run; Restarts how many ran.
	Restart  int `json:"restart"`
	Restarts int `json:"restarts"`
	// Converged is false when the run stopped at MaxIter.
	Converged bool `json:"converged"`
}

// ErrBadK is wrapped by every error about the number of clusters.
var ErrBadK = errors.New("cluster: bad number of clusters")

func (o Options) withDefaults(d int) (Options, error) {
	if o.K < 1 {
		return o, fmt.Errorf("%w: k = %d, need at least 1", ErrBadK, o.K)
	}
	if o.Init != nil {
		if o.Restarts > 1 {
			return o, fmt.Errorf("cluster: %d restarts with fixed initial centroids would repeat one run", o.Restarts)
		}
		o.Restarts = 1
		if len(o.Init) != o.K {
			return o, fmt.Errorf("cluster: %d initial centroids for k = %d", len(o.Init), o.K)
		}
		for j, c := range o.Init {
			if len(c) != d {
				return o, fmt.Errorf("cluster: initial centroid %d has %d values, the data %d features", j, len(c), d)
			}
			for _, v := range c {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return o, fmt.Errorf("cluster: initial centroid %d holds %v", j, v)
				}
			}
		}
	}
	if o.Restarts < 0 || o.MaxIter < 0 || o.Threads < 0 {
		return o, fmt.Errorf("cluster: negative restarts (%d), iteration cap (%d) or threads (%d)", o.Restarts, o.MaxIter, o.Threads)
	}
	if o.Tol < 0 || math.IsNaN(o.Tol) || math.IsInf(o.Tol, 0) {
		return o, fmt.Errorf("cluster: tolerance %v, need a finite value ≥ 0", o.Tol)
	}
	if o.Restarts == 0 {
		o.Restarts = 10
	}
	if o.MaxIter == 0 {
		o.MaxIter = 300
	}
	if o.Tol == 0 {
		o.Tol = 1e-4
	}
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	switch o.Algorithm {
	case "":
		o.Algorithm = Hamerly
	case Lloyd, Hamerly, Elkan:
	default:
		return o, fmt.Errorf("cluster: unknown algorithm %q (lloyd, hamerly or elkan)", o.Algorithm)
	}
	return o, nil
}

// KMeans clusters the rows of x (usually standardised) into opt.K groups.
// It checks ctx between iterations.
func KMeans(ctx context.Context, x Matrix, opt Options) (Result, error) {
	if x.Rows == 0 || x.Cols == 0 {
		return Result{}, ErrEmpty
	}
	opt, err := opt.withDefaults(x.Cols)
	if err != nil {
		return Result{}, err
	}
	if opt.K > x.Rows {
		return Result{}, fmt.Errorf("%w: k = %d is more than the %d rows", ErrBadK, opt.K, x.Rows)
	}
	tolAbs := opt.Tol * meanVariance(x)
	var best Result
	for r := 0; r < opt.Restarts; r++ {
		var init []float64
		if opt.Init != nil {
			init = flatten(opt.Init)
		} else if init, err = seedPlusPlus(x, opt.K, opt.Seed, uint64(r)); err != nil {
			return Result{}, err
		}
		res, err := runOnce(ctx, x, init, opt, tolAbs)
		if err != nil {
			return Result{}, err
		}
		res.Restart = r
		if r == 0 || res.Inertia < best.Inertia {
			best = res
		}
	}
	best.Restarts = opt.Restarts
	return best, nil
}

func flatten(rows [][]float64) []float64 {
	var out []float64
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// meanVariance is scikit-learn's _tolerance scale: the mean over features of
// the population variance.
func meanVariance(x Matrix) float64 {
	// Row by row with one running sum per feature: each feature's sums take
	// its values in row order, as a column-by-column loop would, in two
	// passes over the data instead of two per feature.
	d := x.Cols
	mean := make([]float64, d)
	for i := 0; i < x.Rows; i++ {
		for j, v := range x.Data[i*d : i*d+d] {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(x.Rows)
	}
	v := make([]float64, d)
	for i := 0; i < x.Rows; i++ {
		for j, a := range x.Data[i*d : i*d+d] {
			t := a - mean[j]
			v[j] += t * t
		}
	}
	var total float64
	for j := range v {
		total += v[j] / float64(x.Rows)
	}
	return total / float64(x.Cols)
}

// runOnce is one k-means run from init (k×d, row-major) with scikit-learn's
// loop: assign and update, stop on unchanged labels ("strict convergence")
// or a total squared centroid shift ≤ tolAbs, then reassign once more if the
// stop was not strict so that labels match the centroids.
func runOnce(ctx context.Context, x Matrix, init []float64, opt Options, tolAbs float64) (Result, error) {
	k, d := opt.K, x.Cols
	st := newState(x, k, opt.Threads, opt.Algorithm)
	copy(st.centers, init)
	strict, converged := false, false
	it := 0
	for ; it < opt.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		changed := st.assign(it == 0)
		shiftTot := st.update()
		if !changed {
			strict, converged = true, true
			it++
			break
		}
		if shiftTot <= tolAbs {
			converged = true
			it++
			break
		}
	}
	if !strict {
		st.assign(false)
	}
	res := Result{Labels: st.labels, Iterations: it, Converged: converged, Inertia: st.inertia()}
	res.Centroids = make([][]float64, k)
	res.Sizes = make([]int, k)
	for j := 0; j < k; j++ {
		res.Centroids[j] = append([]float64(nil), st.centers[j*d:(j+1)*d]...)
	}
	for _, l := range st.labels {
		res.Sizes[l]++
	}
	return res, nil
}
