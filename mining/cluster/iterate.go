package cluster

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
)

// state is one k-means run's working memory. Rows are split into
// contiguous chunks, several per goroutine, which the goroutines take in
// turn: on a busy machine a goroutine that gets less CPU takes fewer chunks
// instead of holding the others up. Each chunk keeps its own deltas, folded
// in chunk order, so the result does not depend on which goroutine ran
// which chunk. The centroid sums are kept up to date incrementally: a chunk
// records only the rows whose label changed, so an iteration whose labels
// barely move reads little of the data.
type state struct {
	x       Matrix
	k, d    int
	threads int
	chunks  [][2]int
	centers []float64 // k×d row-major
	labels  []int
	sums    []float64   // k×d, by current label
	weights []float64   // k, rows per current label
	deltaS  [][]float64 // per chunk, k×d change of sums
	deltaW  [][]float64 // per chunk, k change of weights
	hamerly bool
	bounded bool      // upper and lower hold valid bounds
	moved   bool      // centroids moved since the bounds were last adjusted
	upper   []float64 // distance to own centroid, at most
	lower   []float64 // distance to the second nearest centroid, at least
	shift   []float64 // per centroid, how far the last update moved it
	// maxShift is the largest shift, maxAt its centroid and second the
	// largest among the others.
	maxShift, second float64
	maxAt            int
	halfNear         []float64 // per centroid, half the distance to its nearest other centroid
	halfBetween      []float64 // k×k, half the distance between two centroids
	elkan            bool
	lowerK           []float64 // n×k, per row and centroid a lower bound on their distance
}

func newState(x Matrix, k, threads int, alg Algorithm) *state {
	hamerly := alg == Hamerly || alg == Elkan
	if threads > x.Rows {
		threads = x.Rows
	}
	st := &state{x: x, k: k, d: x.Cols, hamerly: hamerly, threads: threads,
		centers: make([]float64, k*x.Cols), labels: make([]int, x.Rows),
		sums: make([]float64, k*x.Cols), weights: make([]float64, k),
		shift: make([]float64, k), halfNear: make([]float64, k), halfBetween: make([]float64, k*k)}
	chunks := threads
	if threads > 1 {
		chunks = max(threads, min(chunksPerThread*threads, x.Rows/minChunkRows))
	}
	for t := 0; t < chunks; t++ {
		st.chunks = append(st.chunks, [2]int{t * x.Rows / chunks, (t + 1) * x.Rows / chunks})
		st.deltaS = append(st.deltaS, make([]float64, k*x.Cols))
		st.deltaW = append(st.deltaW, make([]float64, k))
	}
	for i := range st.labels {
		st.labels[i] = -1
	}
	if hamerly {
		st.upper = make([]float64, x.Rows)
		st.lower = make([]float64, x.Rows)
	}
	if alg == Elkan {
		st.elkan = true
		st.lowerK = make([]float64, x.Rows*k)
	}
	return st
}

// Chunking of the rows with more than one thread: up to chunksPerThread
// chunks per thread, of at least minChunkRows rows.
const (
	chunksPerThread = 8
	minChunkRows    = 4096
)

// parallel runs f on every chunk (t its index), on st.threads goroutines
// that each take the next chunk not yet taken.
func (st *state) parallel(f func(t, lo, hi int)) {
	if st.threads <= 1 || len(st.chunks) == 1 {
		for t, c := range st.chunks {
			f(t, c[0], c[1])
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(st.threads, len(st.chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t := int(next.Add(1)) - 1
				if t >= len(st.chunks) {
					return
				}
				f(t, st.chunks[t][0], st.chunks[t][1])
			}
		}()
	}
	wg.Wait()
}

// nearest returns the nearest centroid of row (first on ties) and the
// squared distances to it and to the second nearest.
func (st *state) nearest(row []float64) (best int, d1, d2 float64) {
	if st.d == 8 {
		return st.nearest8(row)
	}
	d1, d2 = math.Inf(1), math.Inf(1)
	d := st.d
	for j := 0; j < st.k; j++ {
		var s float64
		if d == 8 {
			s = sqDist8(row, st.centers[j*8:j*8+8])
		} else {
			s = sqDist(row, st.centers[j*d:j*d+d])
		}
		if s < d1 {
			best, d1, d2 = j, s, d1
		} else if s < d2 {
			d2 = s
		}
	}
	return best, d1, d2
}

// nearest8 is nearest for eight features with the row held in registers;
// each distance is summed exactly as sqDist8 sums it.
func (st *state) nearest8(row []float64) (best int, d1, d2 float64) {
	d1, d2 = math.Inf(1), math.Inf(1)
	row = row[:8:8]
	x0, x1, x2, x3, x4, x5, x6, x7 := row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
	cs := st.centers[: st.k*8 : st.k*8]
	for j := 0; j < st.k; j++ {
		c := cs[j*8 : j*8+8 : j*8+8]
		t0, t1, t2, t3 := x0-c[0], x1-c[1], x2-c[2], x3-c[3]
		t4, t5, t6, t7 := x4-c[4], x5-c[5], x6-c[6], x7-c[7]
		s := ((t0*t0 + t1*t1) + (t2*t2 + t3*t3)) + ((t4*t4 + t5*t5) + (t6*t6 + t7*t7))
		if s < d1 {
			best, d1, d2 = j, s, d1
		} else if s < d2 {
			d2 = s
		}
	}
	return best, d1, d2
}

// sqDist8 is sqDist for eight features, summed pairwise for speed.
func sqDist8(a, b []float64) float64 {
	a, b = a[:8:8], b[:8:8]
	t0, t1, t2, t3 := a[0]-b[0], a[1]-b[1], a[2]-b[2], a[3]-b[3]
	t4, t5, t6, t7 := a[4]-b[4], a[5]-b[5], a[6]-b[6], a[7]-b[7]
	return ((t0*t0 + t1*t1) + (t2*t2 + t3*t3)) + ((t4*t4 + t5*t5) + (t6*t6 + t7*t7))
}

// assign gives every row its nearest centroid, records the label changes in
// the chunk's deltas, and reports whether any label changed (always true on
// the first call, as scikit-learn's labels_old starts at −1).
func (st *state) assign(first bool) bool {
	changed := make([]bool, len(st.chunks))
	useBounds := st.hamerly && st.bounded
	if useBounds {
		st.computeHalfNear()
	}
	moved := st.moved
	if st.elkan {
		st.parallel(func(t, lo, hi int) {
			if useBounds {
				st.assignElkan(t, lo, hi, moved, changed)
			} else {
				st.assignFull(t, lo, hi, changed)
			}
		})
		return st.finishAssign(first, changed)
	}
	st.parallel(func(t, lo, hi int) {
		x, d := st.x.Data, st.d
		dS, dW := st.deltaS[t], st.deltaW[t]
		for i := lo; i < hi; i++ {
			row := x[i*d : i*d+d]
			old := st.labels[i]
			if useBounds {
				u, l := st.upper[i], st.lower[i]
				if moved { // the bounds follow the last centroid moves
					u += st.shift[old]
					if old == st.maxAt {
						l -= st.second
					} else {
						l -= st.maxShift
					}
					st.upper[i], st.lower[i] = u, l
				}
				m := st.halfNear[old]
				if l > m {
					m = l
				}
				if u <= m {
					continue
				}
				var own float64
				if d == 8 {
					own = sqDist8(row, st.centers[old*8:old*8+8])
				} else {
					own = sqDist(row, st.centers[old*d:old*d+d])
				}
				u = math.Sqrt(own)
				st.upper[i] = u
				if u <= m {
					continue
				}
				best, d1, lower := st.nearestFrom(row, old, own, u)
				st.upper[i], st.lower[i] = math.Sqrt(d1), lower
				if best != old {
					st.labels[i] = best
					changed[t] = true
					move(dS, dW, row, old, best)
				}
				continue
			}
			best, d1, d2 := st.nearest(row)
			if st.hamerly {
				st.upper[i], st.lower[i] = math.Sqrt(d1), math.Sqrt(d2)
			}
			if best != old {
				st.labels[i] = best
				changed[t] = true
				move(dS, dW, row, old, best)
			}
		}
	})
	return st.finishAssign(first, changed)
}

// finishAssign folds the chunks' deltas into the sums and reports whether
// a label changed.
func (st *state) finishAssign(first bool, changed []bool) bool {
	st.moved = false
	if st.hamerly {
		st.bounded = true
	}
	for t := range st.chunks {
		for j, v := range st.deltaS[t] {
			st.sums[j] += v
		}
		for j, v := range st.deltaW[t] {
			st.weights[j] += v
		}
		clear(st.deltaS[t])
		clear(st.deltaW[t])
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

// assignFull is Elkan's first pass: every distance, kept as lower bounds.
func (st *state) assignFull(t, lo, hi int, changed []bool) {
	x, d, k := st.x.Data, st.d, st.k
	dS, dW := st.deltaS[t], st.deltaW[t]
	for i := lo; i < hi; i++ {
		row := x[i*d : i*d+d]
		lb := st.lowerK[i*k : i*k+k]
		best, bestD := 0, math.Inf(1)
		for j := 0; j < k; j++ {
			var s float64
			if d == 8 {
				s = sqDist8(row, st.centers[j*8:j*8+8])
			} else {
				s = sqDist(row, st.centers[j*d:j*d+d])
			}
			lb[j] = math.Sqrt(s)
			if s < bestD {
				best, bestD = j, s
			}
		}
		st.upper[i] = math.Sqrt(bestD)
		if old := st.labels[i]; best != old {
			st.labels[i] = best
			changed[t] = true
			move(dS, dW, row, old, best)
		}
	}
}

// assignElkan is one Elkan pass: the bounds follow the last centroid moves,
// and a centroid's distance is computed only when neither its lower bound
// nor half its distance to the row's centroid rules it out.
func (st *state) assignElkan(t, lo, hi int, moved bool, changed []bool) {
	x, d, k := st.x.Data, st.d, st.k
	dS, dW := st.deltaS[t], st.deltaW[t]
	for i := lo; i < hi; i++ {
		old := st.labels[i]
		a := old
		u := st.upper[i]
		lb := st.lowerK[i*k : i*k+k]
		if moved {
			u += st.shift[a]
			for j, s := range st.shift[:k] {
				if v := lb[j] - s; v > 0 {
					lb[j] = v
				} else {
					lb[j] = 0
				}
			}
		}
		if u <= st.halfNear[a] {
			st.upper[i] = u
			continue
		}
		row := x[i*d : i*d+d]
		tight := false
		var u2 float64
		for j := 0; j < k; j++ {
			if j == a || u <= lb[j] || u <= st.halfBetween[a*k+j] {
				continue
			}
			if !tight {
				if d == 8 {
					u2 = sqDist8(row, st.centers[a*8:a*8+8])
				} else {
					u2 = sqDist(row, st.centers[a*d:a*d+d])
				}
				u = math.Sqrt(u2)
				lb[a] = u
				tight = true
				if u <= lb[j] || u <= st.halfBetween[a*k+j] {
					continue
				}
			}
			var s float64
			if d == 8 {
				s = sqDist8(row, st.centers[j*8:j*8+8])
			} else {
				s = sqDist(row, st.centers[j*d:j*d+d])
			}
			dj := math.Sqrt(s)
			lb[j] = dj
			if s < u2 || (s == u2 && j < a) {
				a, u, u2 = j, dj, s
			}
		}
		st.upper[i] = u
		if a != old {
			st.labels[i] = a
			changed[t] = true
			move(dS, dW, row, old, a)
		}
	}
}

// move records in a chunk's deltas that row left cluster from (−1: none)
// for cluster to.
func move(dS, dW, row []float64, from, to int) {
	d := len(row)
	if from >= 0 {
		dW[from]--
		s := dS[from*d : from*d+d]
		for f, v := range row {
			s[f] -= v
		}
	}
	dW[to]++
	s := dS[to*d : to*d+d]
	for f, v := range row {
		s[f] += v
	}
}

// nearestFrom is nearest for a row of cluster old at exact squared
// distance own (distance u): a centroid j with ½·|c_old − c_j| ≥ u cannot be
// nearer (Elkan's test) and is skipped, with |c_old − c_j| − u as the lower
// bound on its distance. It returns the nearest centroid (first on ties),
// its squared distance, and a lower bound on the distance to every other.
func (st *state) nearestFrom(row []float64, old int, own, u float64) (best int, d1, lower float64) {
	if st.d == 8 {
		return st.nearestFrom8(row, old, own)
	}
	d, k := st.d, st.k
	best, d1 = old, own
	d2, skipped := math.Inf(1), math.Inf(1)
	half := st.halfBetween[old*k : old*k+k]
	for j := 0; j < k; j++ {
		if j == old {
			continue
		}
		if half[j] >= u {
			if lb := 2*half[j] - u; lb < skipped {
				skipped = lb
			}
			continue
		}
		var s float64
		if d == 8 {
			s = sqDist8(row, st.centers[j*8:j*8+8])
		} else {
			s = sqDist(row, st.centers[j*d:j*d+d])
		}
		if s < d1 || (s == d1 && j < best) {
			best, d1, d2 = j, s, d1
		} else if s < d2 {
			d2 = s
		}
	}
	lower = math.Sqrt(d2)
	if skipped < lower {
		lower = skipped
	}
	return best, d1, lower
}

// nearestFrom8 is nearestFrom for eight features with the row held in
// registers; each distance is summed exactly as sqDist8 sums it. It skips
// no centroid: with eight features a distance costs less than the
// mispredicted branch of Elkan's test (measured on the benchmark,
// 1.55 s CPU against 2.15 s), and the bound it returns is then exact.
func (st *state) nearestFrom8(row []float64, old int, own float64) (best int, d1, lower float64) {
	k := st.k
	row = row[:8:8]
	x0, x1, x2, x3, x4, x5, x6, x7 := row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
	cs := st.centers[: k*8 : k*8]
	best, d1 = old, own
	d2 := math.Inf(1)
	for j := 0; j < k; j++ {
		if j == old {
			continue
		}
		c := cs[j*8 : j*8+8 : j*8+8]
		t0, t1, t2, t3 := x0-c[0], x1-c[1], x2-c[2], x3-c[3]
		t4, t5, t6, t7 := x4-c[4], x5-c[5], x6-c[6], x7-c[7]
		s := ((t0*t0 + t1*t1) + (t2*t2 + t3*t3)) + ((t4*t4 + t5*t5) + (t6*t6 + t7*t7))
		if s < d1 || (s == d1 && j < best) {
			best, d1, d2 = j, s, d1
		} else if s < d2 {
			d2 = s
		}
	}
	return best, d1, math.Sqrt(d2)
}

func (st *state) computeHalfNear() {
	d, k := st.d, st.k
	for j := 0; j < k; j++ {
		m := math.Inf(1)
		for o := 0; o < k; o++ {
			if o != j {
				h := 0.5 * math.Sqrt(sqDist(st.centers[j*d:j*d+d], st.centers[o*d:o*d+d]))
				st.halfBetween[j*k+o] = h
				m = math.Min(m, h)
			}
		}
		st.halfNear[j] = m
	}
}

// update moves every centroid to the mean of its rows, relocates empty
// clusters as scikit-learn does, and returns the total squared shift. The
// bounds are adjusted lazily by the next assign.
func (st *state) update() float64 {
	k, d := st.k, st.d
	sums := append([]float64(nil), st.sums...)
	weights := append([]float64(nil), st.weights...)
	st.relocateEmpty(sums, weights)
	var shiftTot float64
	st.maxShift, st.maxAt, st.second = 0, -1, 0
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
		if st.shift[j] > st.maxShift {
			st.maxShift, st.maxAt, st.second = st.shift[j], j, st.maxShift
		} else if st.shift[j] > st.second {
			st.second = st.shift[j]
		}
	}
	copy(st.centers, sums)
	st.moved = true
	return shiftTot
}

// relocateEmpty is scikit-learn's _relocate_empty_clusters_dense: each empty
// cluster takes one of the rows farthest from their (old) centroid, which
// leaves its own cluster's sum for this update; labels are not changed.
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
