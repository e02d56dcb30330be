package cluster

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func nan() float64 { return math.NaN() }

// blobs is n rows around the given centres with standard deviation sd.
func blobs(n int, centres [][]float64, sd float64, seed uint64) (Matrix, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := len(centres[0])
	x := Matrix{Rows: n, Cols: d, Data: make([]float64, n*d)}
	truth := make([]int, n)
	for i := 0; i < n; i++ {
		c := i % len(centres)
		truth[i] = c
		for j := 0; j < d; j++ {
			x.Data[i*d+j] = centres[c][j] + sd*rng.NormFloat64()
		}
	}
	return x, truth
}

// TestEmptyClusterRelocation is scikit-learn's relocation worked by hand
// (and checked with KMeans(3, init=[[0],[1],[100]], n_init=1) on
// [0, 1, 2, 10]: centres [0, 1.5, 10], inertia 0.5, 2 iterations): the
// centroid at 100 attracts no row, so it takes the row farthest from its
// centroid (10), which leaves its cluster.
func TestEmptyClusterRelocation(t *testing.T) {
	for _, alg := range []Algorithm{Lloyd, Hamerly, Elkan} {
		x, _ := NewMatrix(4, 1, []float64{0, 1, 2, 10})
		res, err := KMeans(context.Background(), x, Options{K: 3, Init: [][]float64{{0}, {1}, {100}}, Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		want := []float64{0, 1.5, 10}
		for c, w := range want {
			if res.Centroids[c][0] != w {
				t.Errorf("%s: centroid %d = %v, want %v", alg, c, res.Centroids[c][0], w)
			}
		}
		if res.Inertia != 0.5 || res.Iterations != 2 || res.Labels[3] != 2 {
			t.Errorf("%s: inertia %v, %d iterations, labels %v; want 0.5, 2, [0 1 1 2]", alg, res.Inertia, res.Iterations, res.Labels)
		}
	}
}

// TestHamerlyEqualsLloyd: on overlapping blobs that need many iterations,
// Hamerly's and Elkan's bounds change nothing — same labels, iterations and
// inertia as Lloyd's; with three features (the general loops) and with
// eight (the unrolled ones the benchmark runs).
func TestHamerlyEqualsLloyd(t *testing.T) {
	x3, _ := blobs(6000, [][]float64{{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}, {0.5, 0.5, 0.5}}, 0.6, 7)
	var c8 [][]float64
	for j := 0; j < 6; j++ {
		c := make([]float64, 8)
		for f := range c {
			c[f] = float64((j*5+f*3)%7) / 4
		}
		c8 = append(c8, c)
	}
	x8, _ := blobs(6000, c8, 0.8, 9)
	for _, x := range []Matrix{x3, x8} {
		hamerlyEqualsLloyd(t, x)
	}
}

func hamerlyEqualsLloyd(t *testing.T, x Matrix) {
	ctx := context.Background()
	for _, threads := range []int{1, 2, 3} {
		l, err := KMeans(ctx, x, Options{K: 6, Seed: 3, Restarts: 1, Algorithm: Lloyd, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		if l.Iterations < 10 {
			t.Fatalf("%d features: only %d iterations: the test needs a long run", x.Cols, l.Iterations)
		}
		for _, alg := range []Algorithm{Hamerly, Elkan} {
			h, err := KMeans(ctx, x, Options{K: 6, Seed: 3, Restarts: 1, Algorithm: alg, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			if l.Iterations != h.Iterations || relDiff(l.Inertia, h.Inertia) > 1e-12 {
				t.Errorf("%d features, threads %d: Lloyd %d iterations inertia %v, %s %d %v", x.Cols, threads, l.Iterations, l.Inertia, alg, h.Iterations, h.Inertia)
			}
			for i := range l.Labels {
				if l.Labels[i] != h.Labels[i] {
					t.Fatalf("%d features, threads %d: row %d Lloyd %d %s %d", x.Cols, threads, i, l.Labels[i], alg, h.Labels[i])
				}
			}
		}
	}
}

// TestSeedingAndRestarts: k-means++ from a seed finds well-separated blobs
// (every blob one cluster), the same seed gives the same result, and more
// restarts never give a higher inertia than the first run alone.
func TestSeedingAndRestarts(t *testing.T) {
	centres := [][]float64{{0, 0}, {10, 0}, {0, 10}, {10, 10}}
	x, truth := blobs(2000, centres, 0.5, 11)
	ctx := context.Background()
	a, err := KMeans(ctx, x, Options{K: 4, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	b, err := KMeans(ctx, x, Options{K: 4, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if a.Inertia != b.Inertia || a.Restart != b.Restart || a.Restarts != 10 {
		t.Errorf("same seed: inertia %v/%v restart %d/%d of %d", a.Inertia, b.Inertia, a.Restart, b.Restart, a.Restarts)
	}
	blobOf := map[int]int{}
	for i, l := range a.Labels {
		if c, ok := blobOf[truth[i]]; ok && c != l {
			t.Fatalf("blob %d split over clusters %d and %d", truth[i], c, l)
		}
		blobOf[truth[i]] = l
	}
	if len(blobOf) != 4 {
		t.Errorf("%d clusters for 4 blobs", len(blobOf))
	}
	one, err := KMeans(ctx, x, Options{K: 4, Seed: 42, Restarts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Inertia > one.Inertia {
		t.Errorf("10 restarts inertia %v above the first run's %v", a.Inertia, one.Inertia)
	}
}

// TestSelectKFindsBlobs: the k-selection report's inertia falls with k and
// the silhouette peaks at the true number of blobs, sampled or exact.
func TestSelectKFindsBlobs(t *testing.T) {
	x, _ := blobs(1500, [][]float64{{0, 0}, {8, 0}, {4, 7}}, 0.7, 5)
	for _, sample := range []int{1500, 400} {
		report, best, err := SelectK(context.Background(), x, []int{2, 3, 4, 5}, Options{Seed: 9, Restarts: 3}, sample)
		if err != nil {
			t.Fatal(err)
		}
		if best != 3 {
			t.Errorf("sample %d: best k %d, want 3 (%+v)", sample, best, report)
		}
		for i := 1; i < len(report); i++ {
			if report[i].Inertia >= report[i-1].Inertia {
				t.Errorf("sample %d: inertia rises from k=%d to k=%d", sample, report[i-1].K, report[i].K)
			}
		}
		if report[1].Silhouette < 0.7 {
			t.Errorf("sample %d: silhouette at k=3 is %v, want > 0.7 for separated blobs", sample, report[1].Silhouette)
		}
	}
}

// TestSilhouetteByHand: two clusters on a line, {0, 1} and {5}: rows 0 and
// 1 have a = 1 and b = 5 and 4, so s = 0.8 and 0.75; row 2 is alone (s = 0).
func TestSilhouetteByHand(t *testing.T) {
	x, _ := NewMatrix(3, 1, []float64{0, 1, 5})
	s, err := Silhouette(x, []int{0, 0, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := (0.8 + 0.75 + 0) / 3; math.Abs(s-want) > 1e-15 {
		t.Errorf("silhouette %v, want %v", s, want)
	}
	if _, err := Silhouette(x, []int{0, 0, 0}, 1); err == nil {
		t.Error("one cluster: no error")
	}
	if _, err := Silhouette(x, []int{0, 3, 1}, 2); err == nil {
		t.Error("label outside 0..k-1: no error")
	}
	if _, err := SilhouetteSample(x, []int{0, 0, 1}, 2, 1, 0); err == nil {
		t.Error("sample of one row: no error")
	}
}

// TestDegenerateData: every bad input is an error saying what, never a panic.
func TestDegenerateData(t *testing.T) {
	ctx := context.Background()
	x, _ := NewMatrix(3, 2, []float64{0, 0, 1, 1, 2, 2})
	cases := map[string]struct {
		err  func() error
		want string
	}{
		"k > rows":   {func() error { _, err := KMeans(ctx, x, Options{K: 4}); return err }, "more than the 3 rows"},
		"k = 0":      {func() error { _, err := KMeans(ctx, x, Options{K: 0}); return err }, "at least 1"},
		"k < 0":      {func() error { _, err := KMeans(ctx, x, Options{K: -2}); return err }, "at least 1"},
		"empty":      {func() error { _, err := KMeans(ctx, Matrix{}, Options{K: 1}); return err }, "no rows"},
		"no columns": {func() error { _, err := FromColumns(nil, nil); return err }, "no rows"},
		"NaN":        {func() error { _, err := FromColumns([]string{"recency"}, [][]float64{{1, nan()}}); return err }, `"recency" row 1 is NaN`},
		"Inf":        {func() error { _, err := NewMatrix(1, 2, []float64{0, math.Inf(1)}); return err }, "row 0 feature 1 is +Inf"},
		"ragged":     {func() error { _, err := FromColumns([]string{"a", "b"}, [][]float64{{1, 2}, {1}}); return err }, `"b" has 1 rows`},
		"wrong size": {func() error { _, err := NewMatrix(2, 2, []float64{1}); return err }, "1 values for 2 rows"},
		"constant": {func() error {
			_, _, err := Standardize(Matrix{Rows: 2, Cols: 2, Data: []float64{1, 5, 2, 5}}, []string{"r", "m"})
			return err
		}, `"m" is constant`},
		"duplicate rows": {func() error {
			_, err := KMeans(ctx, Matrix{Rows: 3, Cols: 1, Data: []float64{1, 1, 1}}, Options{K: 2})
			return err
		}, "only 1 distinct rows"},
		"init count": {func() error { _, err := KMeans(ctx, x, Options{K: 2, Init: [][]float64{{0, 0}}}); return err }, "1 initial centroids"},
		"init width": {func() error { _, err := KMeans(ctx, x, Options{K: 1, Init: [][]float64{{0}}}); return err }, "has 1 values"},
		"init NaN":   {func() error { _, err := KMeans(ctx, x, Options{K: 1, Init: [][]float64{{0, nan()}}}); return err }, "holds NaN"},
		"init restarts": {func() error {
			_, err := KMeans(ctx, x, Options{K: 1, Init: [][]float64{{0, 0}}, Restarts: 3})
			return err
		}, "3 restarts"},
		"tol":       {func() error { _, err := KMeans(ctx, x, Options{K: 1, Tol: -1}); return err }, "tolerance -1"},
		"algorithm": {func() error { _, err := KMeans(ctx, x, Options{K: 1, Algorithm: "yinyang"}); return err }, `"yinyang"`},
		"assign width": {func() error {
			_, err := (Model{Scaling: Scaling{Mean: []float64{0}, Scale: []float64{1}}, Centroids: [][]float64{{0}}}).Assign([]float64{1, 2})
			return err
		}, "2 values for 1"},
		"assign NaN": {func() error {
			_, err := (Model{Scaling: Scaling{Mean: []float64{0}, Scale: []float64{1}}, Centroids: [][]float64{{0}}}).Assign([]float64{nan()})
			return err
		}, "no finite distance"},
		"select k=1":  {func() error { _, _, err := SelectK(ctx, x, []int{1, 2}, Options{}, 10); return err }, "k ≥ 2"},
		"select none": {func() error { _, _, err := SelectK(ctx, x, nil, Options{}, 10); return err }, "no k"},
	}
	for name, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
	if _, err := KMeans(ctx, x, Options{K: 5}); !errors.Is(err, ErrBadK) {
		t.Errorf("k > rows is not ErrBadK: %v", err)
	}
	if res, err := KMeans(ctx, x, Options{K: 3, Seed: 1}); err != nil || res.Inertia != 0 {
		t.Errorf("k = rows: inertia %v, error %v; want 0, nil", res.Inertia, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := KMeans(cancelled, x, Options{K: 2, Seed: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// TestProfiles: three hand-made segments of (recency, monetary) with a
// value column; sizes, shares, means, value shares and labels by hand.
func TestProfiles(t *testing.T) {
	// Segment 0: recent big spenders; 1: lapsed small spenders; 2: middle.
	raw, _ := FromColumns([]string{"recency", "monetary"}, [][]float64{
		{1, 3, 90, 110, 50, 50},
		{900, 1100, 10, 30, 500, 500},
	})
	_, s, err := Standardize(raw, []string{"recency", "monetary"})
	if err != nil {
		t.Fatal(err)
	}
	labels := []int{0, 0, 1, 1, 2, 2}
	value := []float64{900, 1100, 10, 30, 480, 480}
	ps, err := Profiles(raw, s, labels, 3, value)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		means      [2]float64
		valueShare float64
		label      string
	}{
		{[2]float64{2, 1000}, 2000.0 / 3000, "high monetary, low recency"},
		{[2]float64{100, 20}, 40.0 / 3000, "high recency, low monetary"},
		{[2]float64{50, 500}, 960.0 / 3000, "average"},
	}
	for c, w := range want {
		p := ps[c]
		if p.Size != 2 || math.Abs(p.Share-1.0/3) > 1e-15 || p.Means[0] != w.means[0] || p.Means[1] != w.means[1] ||
			math.Abs(p.ValueShare-w.valueShare) > 1e-15 || p.Label != w.label {
			t.Errorf("segment %d: %+v, want means %v value share %v label %q", c, p, w.means, w.valueShare, w.label)
		}
	}
	if _, err := Profiles(raw, s, []int{0, 0, 1, 1, 2, 7}, 3, nil); err == nil {
		t.Error("segment 7 of 3: no error")
	}
	if _, err := Profiles(raw, s, labels, 3, []float64{1}); err == nil {
		t.Error("one value for six rows: no error")
	}
}

// TestChunksTakenInTurn: with more chunks than threads (40,000 rows: nine
// chunks for two or three threads), the goroutines take chunks in any
// order, yet runs repeat bit for bit and give the single thread's labels
// and iterations.
func TestChunksTakenInTurn(t *testing.T) {
	var c8 [][]float64
	for j := 0; j < 5; j++ {
		c := make([]float64, 8)
		for f := range c {
			c[f] = float64((j*3+f*5)%6) / 3
		}
		c8 = append(c8, c)
	}
	x, _ := blobs(40000, c8, 0.9, 21)
	ctx := context.Background()
	one, err := KMeans(ctx, x, Options{K: 5, Seed: 2, Restarts: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, threads := range []int{2, 3} {
		if n := len(newState(x, 5, threads, Hamerly).chunks); n != 9 {
			t.Fatalf("%d threads: %d chunks, want 9", threads, n)
		}
		var first Result
		for run := 0; run < 3; run++ {
			r, err := KMeans(ctx, x, Options{K: 5, Seed: 2, Restarts: 1, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			if run == 0 {
				first = r
				if r.Iterations != one.Iterations || relDiff(r.Inertia, one.Inertia) > 1e-12 {
					t.Errorf("%d threads: %d iterations, inertia %v; one thread %d, %v", threads, r.Iterations, r.Inertia, one.Iterations, one.Inertia)
				}
				for i := range r.Labels {
					if r.Labels[i] != one.Labels[i] {
						t.Fatalf("%d threads: row %d in %d, one thread %d", threads, i, r.Labels[i], one.Labels[i])
					}
				}
				continue
			}
			for j := range r.Centroids {
				for f, v := range r.Centroids[j] {
					if v != first.Centroids[j][f] {
						t.Fatalf("%d threads, run %d: centroid %d feature %d %v, first run %v", threads, run, j, f, v, first.Centroids[j][f])
					}
				}
			}
		}
	}
}
