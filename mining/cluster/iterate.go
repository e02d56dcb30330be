package cluster

import (
	"math"
	"sort"
	"sync"
)

// state is one k-means run's working memory. Rows are split into one
// contiguous chunk per goroutine; each chunk keeps its own centroid sums so
// the update needs no locks.
type state struct {
	x        Matrix
	k, d     int
	chunks   [][2]int
	centers  []float64 // k×d row-major
	labels   []int
	sums     [][]float64 // per chunk, k×d
	counts   [][]int     // per chunk, k
	hamerly  bool
	bounded  bool      // upper and lower hold valid bounds
	upper    []float64 // distance to own centroid, at most
	lower    []float64 // distance to the second nearest centroid, at least
	shift    []float64 // per centroid, how far the last update moved it
	halfNear []float64 // per centroid, half the distance to its nearest other centroid
}

func newState(x Matrix, k, threads int, hamerly bool) *state {
	if threads > x.Rows {
		threads = x.Rows
	}
	st := &state{x: x, k: k, d: x.Cols, hamerly: hamerly,
		centers: make([]float64, k*x.Cols), labels: make([]int, x.Rows),
		shift: make([]float64, k), halfNear: make([]float64, k)}
	for t := 0; t < threads; t++ {
		st.chunks = append(st.chunks, [2]int{t * x.Rows / threads, (t + 1) * x.Rows / threads})
		st.sums = append(st.sums, make([]float64, k*x.Cols))
		st.counts = append(st.counts, make([]int, k))
	}
	for i := range st.labels {
		st.labels[i] = -1
	}
	if hamerly {
		st.upper = make([]float64, x.Rows)
		st.lower = make([]float64, x.Rows)
	}
	return st
}

// parallel runs f on every chunk, one goroutine each.
func (st *state) parallel(f func(t, lo, hi int)) {
	if len(st.chunks) == 1 {
		f(0, st.chunks[0][0], st.chunks[0][1])
		return
	}
	var wg sync.WaitGroup
	for t, c := range st.chunks {
		wg.Add(1)
		go func(t, lo, hi int) {
			defer wg.Done()
			f(t, lo, hi)
		}(t, c[0], c[1])
	}
	wg.Wait()
}

// nearest returns the nearest centroid of row (first on ties) and the
// squared distances to it and to the second nearest.
func (st *state) nearest(row []float64) (best int, d1, d2 float64) {
	d1, d2 = math.Inf(1), math.Inf(1)
	d := st.d
	for j := 0; j < st.k; j++ {
		c := st.centers[j*d : j*d+d]
		var s float64
		for f, v := range row[:d] {
			t := v - c[f]
			s += t * t
		}
		if s < d1 {
			best, d1, d2 = j, s, d1
		} else if s < d2 {
			d2 = s
		}
	}
	return best, d1, d2
}

// assign gives every row its nearest centroid and reports whether any label
// changed (always true on the first call, as scikit-learn's labels_old
// starts at −1).
func (st *state) assign(first bool) bool {
	changed := make([]bool, len(st.chunks))
	if st.hamerly && st.bounded {
		st.computeHalfNear()
	}
	st.parallel(func(t, lo, hi int) {
		x, d := st.x.Data, st.d
		for i := lo; i < hi; i++ {
			row := x[i*d : i*d+d]
			old := st.labels[i]
			if st.hamerly && st.bounded {
				m := math.Max(st.halfNear[old], st.lower[i])
				if st.upper[i] <= m {
					continue
				}
				c := st.centers[old*d : old*d+d]
				st.upper[i] = math.Sqrt(sqDist(row, c))
				if st.upper[i] <= m {
					continue
				}
			}
			best, d1, d2 := st.nearest(row)
			if st.hamerly {
				st.upper[i], st.lower[i] = math.Sqrt(d1), math.Sqrt(d2)
			}
			if best != old {
				st.labels[i] = best
				changed[t] = true
			}
		}
	})
	if st.hamerly {
		st.bounded = true
	}
	if first {
		return true
	}
	for _, c := range changed {
		if c {
			return true
		}
	}
	return false
}

func (st *state) computeHalfNear() {
	d := st.d
	for j := 0; j < st.k; j++ {
		m := math.Inf(1)
		for o := 0; o < st.k; o++ {
			if o != j {
				m = math.Min(m, sqDist(st.centers[j*d:j*d+d], st.centers[o*d:o*d+d]))
			}
		}
		st.halfNear[j] = 0.5 * math.Sqrt(m)
	}
}

// update moves every centroid to the mean of its rows, relocates empty
// clusters as scikit-learn does, and returns the total squared shift.
func (st *state) update() float64 {
	k, d := st.k, st.d
	st.parallel(func(t, lo, hi int) {
		sums, counts := st.sums[t], st.counts[t]
		clear(sums)
		clear(counts)
		x := st.x.Data
		for i := lo; i < hi; i++ {
			l := st.labels[i]
			counts[l]++
			s := sums[l*d : l*d+d]
			for f, v := range x[i*d : i*d+d] {
				s[f] += v
			}
		}
	})
	sums := make([]float64, k*d)
	weights := make([]float64, k)
	for t := range st.chunks {
		for j, v := range st.sums[t] {
			sums[j] += v
		}
		for j, c := range st.counts[t] {
			weights[j] += float64(c)
		}
	}
	st.relocateEmpty(sums, weights)
	var shiftTot float64
	maxShift, maxAt, second := 0.0, -1, 0.0
	for j := 0; j < k; j++ {
		nc := sums[j*d : j*d+d]
		if weights[j] > 0 {
			for f := range nc {
				nc[f] /= weights[j]
			}
		}
		s2 := sqDist(nc, st.centers[j*d:j*d+d])
		shiftTot += s2
		st.shift[j] = math.Sqrt(s2)
		if st.shift[j] > maxShift {
			maxShift, maxAt, second = st.shift[j], j, maxShift
		} else if st.shift[j] > second {
			second = st.shift[j]
		}
	}
	copy(st.centers, sums)
	if st.hamerly && st.bounded {
		st.parallel(func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				l := st.labels[i]
				st.upper[i] += st.shift[l]
				if l == maxAt {
					st.lower[i] -= second
				} else {
					st.lower[i] -= maxShift
				}
			}
		})
	}
	return shiftTot
}

// relocateEmpty is scikit-learn's _relocate_empty_clusters_dense: each empty
// cluster takes one of the rows farthest from their (old) centroid, which
// leaves its own cluster's sum; labels are not changed.
func (st *state) relocateEmpty(sums, weights []float64) {
	var empty []int
	for j, w := range weights {
		if w == 0 {
			empty = append(empty, j)
		}
	}
	if len(empty) == 0 {
		return
	}
	d := st.d
	order := make([]int, st.x.Rows)
	dist := make([]float64, st.x.Rows)
	for i := range order {
		order[i] = i
		l := st.labels[i]
		dist[i] = sqDist(st.x.Row(i), st.centers[l*d:l*d+d])
	}
	sort.SliceStable(order, func(a, b int) bool { return dist[order[a]] > dist[order[b]] })
	for n, j := range empty {
		far := order[n]
		old := st.labels[far]
		row := st.x.Row(far)
		for f, v := range row {
			sums[old*d+f] -= v
			sums[j*d+f] = v
		}
		weights[j] = 1
		weights[old]--
	}
}

func (st *state) inertia() float64 {
	parts := make([]float64, len(st.chunks))
	d := st.d
	st.parallel(func(t, lo, hi int) {
		var s float64
		for i := lo; i < hi; i++ {
			l := st.labels[i]
			s += sqDist(st.x.Data[i*d:i*d+d], st.centers[l*d:l*d+d])
		}
		parts[t] = s
	})
	var total float64
	for _, p := range parts {
		total += p
	}
	return total
}
