package cluster

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// BenchProblem is the k-means benchmark of issue #12 (k = 8 on 1 million ×
// 8 standardised rows): data and initial centroids both sides start from,
// so ckm and scikit-learn fit the same problem.
type BenchProblem struct {
	X       Matrix
	Init    [][]float64
	Tol     float64
	MaxIter int
}

// NewBenchProblem draws n rows of d features from k Gaussian blobs (unit
// spread, centres uniform in [−3, 3]^d, so the blobs overlap), standardises
// them, and takes k distinct random rows as the initial centroids, all from
// seed.
func NewBenchProblem(n, d, k int, seed uint64) (BenchProblem, error) {
	if n < 1 || d < 1 || k < 1 || k > n {
		return BenchProblem{}, fmt.Errorf("cluster: bench problem with %d rows, %d features, k = %d", n, d, k)
	}
	rng := rand.New(rand.NewPCG(seed, 0xbe7c))
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = -3 + 6*rng.Float64()
	}
	raw := Matrix{Rows: n, Cols: d, Data: make([]float64, n*d)}
	for i := 0; i < n; i++ {
		c := rng.IntN(k)
		for j := 0; j < d; j++ {
			raw.Data[i*d+j] = centres[c*d+j] + rng.NormFloat64()
		}
	}
	x, _, err := Standardize(raw, nil)
	if err != nil {
		return BenchProblem{}, err
	}
	p := BenchProblem{X: x, Tol: 1e-4, MaxIter: 300}
	for _, i := range rng.Perm(n)[:k] {
		p.Init = append(p.Init, append([]float64(nil), x.Row(i)...))
	}
	return p, nil
}

// Fit runs ckm's k-means on the problem with the given algorithm and
// threads and returns the result and the fit time alone.
func (p BenchProblem) Fit(ctx context.Context, alg Algorithm, threads int) (Result, time.Duration, error) {
	start := time.Now()
	res, err := KMeans(ctx, p.X, Options{K: len(p.Init), Init: p.Init, Tol: p.Tol, MaxIter: p.MaxIter, Algorithm: alg, Threads: threads})
	return res, time.Since(start), err
}

// WriteFiles writes the problem for the scikit-learn side
// (testdata/bench_sklearn.py): x.f64 and init.f64 as little-endian float64
// row-major, and problem.json with their shapes, tol and max_iter.
func (p BenchProblem) WriteFiles(dir string) error {
	if err := writeFloats(filepath.Join(dir, "x.f64"), p.X.Data); err != nil {
		return err
	}
	if err := writeFloats(filepath.Join(dir, "init.f64"), flatten(p.Init)); err != nil {
		return err
	}
	meta, err := json.Marshal(map[string]any{"rows": p.X.Rows, "cols": p.X.Cols, "k": len(p.Init), "tol": p.Tol, "max_iter": p.MaxIter})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "problem.json"), meta, 0o644)
}

func writeFloats(path string, v []float64) error {
	buf := make([]byte, 8*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(f))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("write bench data: %w", err)
	}
	return nil
}
