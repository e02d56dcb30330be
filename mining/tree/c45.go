package tree

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// C45Options configure C45. Zero values mean J48's defaults.
type C45Options struct {
	// Confidence is the pruning confidence factor (default 0.25; at most
	// 0.5). Unpruned skips pruning (J48 -U).
	Confidence float64
	Unpruned   bool
	// MinLeaf is the minimum weight in at least two branches (default 2).
	MinLeaf float64
	// NoSubtreeRaising turns subtree raising off (J48 -S).
	NoSubtreeRaising bool
}

// splitModel is a node's test (or none, for a leaf) with its distribution.
type splitModel struct {
	leaf    bool
	attr    int
	numeric bool
	point   float64
	bags    int
	d       *dist
	gain    float64
	ratio   float64
}

// bnode is a tree under construction, as Weka's C45PruneableClassifierTree.
type bnode struct {
	m     *splitModel
	sons  []*bnode
	leaf  bool
	empty bool
	train []inst
}

type c45 struct {
	ctx      context.Context
	ds       *Dataset
	minObj   float64
	cf       float64
	raise    bool
	z        float64     // normal quantile of 1 − cf
	allN     int         // rows of the whole training set
	allVals  [][]float64 // per numeric attribute, its sorted known training values
	multiVal bool
	// spare holds a token per goroutine that may build a large subtree
	// beside the caller (GOMAXPROCS − 1 of them).
	spare chan struct{}
}

// parallelMin is the weight of data from which a subtree is worth a
// goroutine of its own.
const parallelMin = 20000

// scratch is one goroutine's buffers for numeric splits.
type scratch struct {
	sorted []inst
	keyed  []keyedInst
}

// keyedInst is an instance with its value of the attribute being sorted.
type keyedInst struct {
	v float64
	x inst
}

// C45 grows and prunes a C4.5 tree as Weka's J48 does (see the package
// documentation for what is implemented). Rows with a missing class are
// not allowed in a Dataset.
func C45(ctx context.Context, ds *Dataset, opt C45Options) (*Tree, error) {
	if err := ds.Check(); err != nil {
		return nil, err
	}
	if opt.Confidence == 0 {
		opt.Confidence = 0.25
	}
	if opt.MinLeaf == 0 {
		opt.MinLeaf = 2
	}
	if !(opt.Confidence > 0 && opt.Confidence <= 0.5) {
		return nil, fmt.Errorf("tree: pruning confidence %v, need 0 < c ≤ 0.5", opt.Confidence)
	}
	if !(opt.MinLeaf >= 1) || math.IsInf(opt.MinLeaf, 0) {
		return nil, fmt.Errorf("tree: minimum leaf weight %v, need ≥ 1", opt.MinLeaf)
	}
	b := &c45{ctx: ctx, ds: ds, minObj: opt.MinLeaf, cf: opt.Confidence, raise: !opt.NoSubtreeRaising,
		z: math.Sqrt2 * math.Erfinv(2*(1-opt.Confidence)-1), allN: ds.Rows()}
	b.allVals = make([][]float64, len(ds.Attrs))
	b.multiVal = true
	for a, at := range ds.Attrs {
		if at.Numeric {
			b.multiVal = false
			var vs []float64
			for _, v := range ds.Numeric[a] {
				if !math.IsNaN(v) {
					vs = append(vs, v)
				}
			}
			sort.Float64s(vs)
			b.allVals[a] = thin(vs)
		} else if float64(len(at.Values)) < 0.3*float64(b.allN) {
			b.multiVal = false
		}
	}
	data := make([]inst, ds.Rows())
	for i := range data {
		data[i] = inst{row: i, w: 1}
	}
	b.spare = make(chan struct{}, runtime.GOMAXPROCS(0)-1)
	for i := 0; i < cap(b.spare); i++ {
		b.spare <- struct{}{}
	}
	root, err := b.build(data, &scratch{})
	if err != nil {
		return nil, err
	}
	b.collapse(root)
	if !opt.Unpruned {
		b.prune(root)
	}
	return newTree(ds, "c4.5", finish(ds, root, nil, -1)), nil
}

// build grows the subtree of data; a large child may be built by another
// goroutine when one is spare (the result does not depend on it).
func (b *c45) build(data []inst, sc *scratch) (*bnode, error) {
	if err := b.ctx.Err(); err != nil {
		return nil, err
	}
	n := &bnode{train: data}
	n.m = b.selectModel(data, sc)
	if n.m.bags > 1 {
		subsets := b.split(n.m, data)
		n.sons = make([]*bnode, len(subsets))
		errs := make([]error, len(subsets))
		var wg sync.WaitGroup
		for i, s := range subsets {
			if len(s) >= parallelMin {
				select {
				case <-b.spare:
					wg.Add(1)
					go func(i int, s []inst) {
						defer wg.Done()
						n.sons[i], errs[i] = b.build(s, &scratch{})
						b.spare <- struct{}{}
					}(i, s)
					continue
				default:
				}
			}
			n.sons[i], errs[i] = b.build(s, sc)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
	} else {
		n.leaf = true
		n.empty = eq(sumWeights(data), 0)
	}
	if !b.raise {
		n.train = nil
	}
	return n, nil
}

func (b *c45) selectModel(data []inst, sc *scratch) *splitModel {
	check := oneBag(b.ds, data)
	noSplit := &splitModel{leaf: true, bags: 1, d: check}
	if sm(check.total, 2*b.minObj) || eq(check.total, check.perClass[check.maxClass()]) {
		return noSplit
	}
	sumW := check.total
	models := make([]*splitModel, len(b.ds.Attrs))
	var avgGain float64
	valid := 0
	for a, at := range b.ds.Attrs {
		if at.Numeric {
			models[a] = b.numericSplit(a, data, sumW, sc)
		} else {
			models[a] = b.nominalSplit(a, data, sumW)
		}
		if models[a] != nil && (at.Numeric || b.multiVal || float64(len(at.Values)) < 0.3*float64(b.allN)) {
			avgGain += models[a].gain
			valid++
		}
	}
	if valid == 0 {
		return noSplit
	}
	avgGain /= float64(valid)
	var best *splitModel
	minResult := 0.0
	for _, m := range models {
		if m != nil && m.gain >= avgGain-1e-3 && gr(m.ratio, minResult) {
			best, minResult = m, m.ratio
		}
	}
	if eq(minResult, 0) {
		return noSplit
	}
	b.addUnknown(best.d, best.attr, data)
	if best.numeric {
		best.point = b.actualValue(best.attr, best.point)
	}
	return best
}

func (b *c45) nominalSplit(a int, data []inst, sumW float64) *splitModel {
	vals := b.ds.Nominal[a]
	d := newDist(len(b.ds.Attrs[a].Values), len(b.ds.Classes))
	for _, x := range data {
		if v := vals[x.row]; v >= 0 {
			d.add(v, b.ds.Class[x.row], x.w)
		}
	}
	if !d.check(b.minObj) {
		return nil
	}
	m := &splitModel{attr: a, bags: len(b.ds.Attrs[a].Values), d: d}
	m.gain = d.infoGain(sumW, d.oldEnt())
	m.ratio = d.gainRatio(sumW, m.gain)
	return m
}

func (b *c45) numericSplit(a int, data []inst, sumW float64, sc *scratch) *splitModel {
	vals, class := b.ds.Numeric[a], b.ds.Class
	keyed := sc.keyed[:0]
	for _, x := range data {
		if v := vals[x.row]; !math.IsNaN(v) {
			keyed = append(keyed, keyedInst{v: v, x: x})
		}
	}
	slices.SortFunc(keyed, func(p, q keyedInst) int { return cmp.Compare(p.v, q.v) })
	sc.keyed = keyed
	known := sc.sorted[:0]
	for _, k := range keyed {
		known = append(known, k.x)
	}
	sc.sorted = known
	d := newDist(2, len(b.ds.Classes))
	for _, x := range known {
		d.add(1, class[x.row], x.w)
	}
	minSplit := 0.1 * d.total / float64(len(b.ds.Classes))
	if smOrEq(minSplit, b.minObj) {
		minSplit = b.minObj
	} else if gr(minSplit, 25) {
		minSplit = 25
	}
	if sm(float64(len(known)), 2*minSplit) {
		return nil
	}
	defaultEnt := d.oldEnt()
	bestGain, splitIndex, candidates := 0.0, -1, 0
	last := 0
	for next := 1; next < len(known); next++ {
		if vals[known[next-1].row]+1e-5 < vals[known[next].row] {
			for _, x := range known[last:next] {
				d.sub(1, class[x.row], x.w)
				d.add(0, class[x.row], x.w)
			}
			if grOrEq(d.perBag[0], minSplit) && grOrEq(d.perBag[1], minSplit) {
				if g := d.infoGain(sumW, defaultEnt); gr(g, bestGain) {
					bestGain, splitIndex = g, next-1
				}
				candidates++
			}
			last = next
		}
	}
	if candidates == 0 {
		return nil
	}
	bestGain -= math.Log2(float64(candidates)) / sumW // MDL correction
	if smOrEq(bestGain, 0) {
		return nil
	}
	lo, hi := vals[known[splitIndex].row], vals[known[splitIndex+1].row]
	point := (lo + hi) / 2
	if point == hi {
		point = lo
	}
	d = newDist(2, len(b.ds.Classes))
	for i, x := range known {
		bag := 1
		if i <= splitIndex {
			bag = 0
		}
		d.add(bag, class[x.row], x.w)
	}
	m := &splitModel{attr: a, numeric: true, point: point, bags: 2, d: d, gain: bestGain}
	m.ratio = d.gainRatio(sumW, bestGain)
	return m
}

// actualValue is Weka's setSplitPoint: the largest training value not above
// the midpoint threshold (C4.5 thresholds are values seen in the data).
// Weka scans every training value, keeping v when gr(v, best) and
// smOrEq(v, point); over the thinned sorted values that is the last one
// with smOrEq(v, point), found by binary search.
func (b *c45) actualValue(a int, point float64) float64 {
	vs := b.allVals[a]
	i := sort.Search(len(vs), func(i int) bool { return !smOrEq(vs[i], point) })
	if i == 0 {
		return -math.MaxFloat64
	}
	return vs[i-1]
}

// thin keeps, of sorted values, those more than 1e-6 above the last kept
// (starting from −MaxFloat64): the values Weka's scan can settle on.
func thin(sorted []float64) []float64 {
	out := sorted[:0]
	last := -math.MaxFloat64
	for _, v := range sorted {
		if gr(v, last) {
			out = append(out, v)
			last = v
		}
	}
	return out
}

// addUnknown spreads the instances missing attr over the bags in
// proportion to the bags' weights (Distribution.addInstWithUnknown).
func (b *c45) addUnknown(d *dist, attr int, data []inst) {
	probs := make([]float64, len(d.perBag))
	for j := range probs {
		if eq(d.total, 0) {
			probs[j] = 1 / float64(len(probs))
		} else {
			probs[j] = d.perBag[j] / d.total
		}
	}
	for _, x := range data {
		if !b.ds.missing(attr, x.row) {
			continue
		}
		c := b.ds.Class[x.row]
		d.perClass[c] += x.w
		d.total += x.w
		for j, p := range probs {
			d.perClassPerBag[j][c] += p * x.w
			d.perBag[j] += p * x.w
		}
	}
}

// whichSubset is the branch of a row, or −1 when its value is missing.
func (b *c45) whichSubset(m *splitModel, row int) int {
	if m.leaf {
		return 0
	}
	if m.numeric {
		v := b.ds.Numeric[m.attr][row]
		switch {
		case math.IsNaN(v):
			return -1
		case smOrEq(v, m.point):
			return 0
		default:
			return 1
		}
	}
	return b.ds.Nominal[m.attr][row]
}

// split sends each instance down its branch, or down every branch of
// positive weight with its weight scaled by the branch's share when the
// value is missing.
func (b *c45) split(m *splitModel, data []inst) [][]inst {
	out := make([][]inst, m.bags)
	for _, x := range data {
		if s := b.whichSubset(m, x.row); s >= 0 {
			out[s] = append(out[s], x)
			continue
		}
		for j := range out {
			if w := m.d.perBag[j] / m.d.total; gr(w, 0) {
				out[j] = append(out[j], inst{row: x.row, w: x.w * w})
			}
		}
	}
	return out
}

// resetDist recomputes a model's distribution for other data.
func (b *c45) resetDist(m *splitModel, data []inst) *dist {
	if m.leaf {
		return oneBag(b.ds, data)
	}
	d := newDist(m.bags, len(b.ds.Classes))
	for _, x := range data {
		if s := b.whichSubset(m, x.row); s >= 0 {
			d.add(s, b.ds.Class[x.row], x.w)
		}
	}
	b.addUnknown(d, m.attr, data)
	return d
}

func (n *bnode) makeLeaf() {
	n.sons = nil
	n.leaf = true
	n.m = &splitModel{leaf: true, bags: 1, d: n.m.d.merged()}
}

// collapse turns a subtree into a leaf when its leaves make no fewer
// training errors than the node alone.
func (b *c45) collapse(n *bnode) {
	if n.leaf {
		return
	}
	if trainingErrors(n) >= n.m.d.numIncorrect()-1e-3 {
		n.makeLeaf()
		return
	}
	for _, s := range n.sons {
		b.collapse(s)
	}
}

func trainingErrors(n *bnode) float64 {
	if n.leaf {
		return n.m.d.numIncorrect()
	}
	var e float64
	for _, s := range n.sons {
		e += trainingErrors(s)
	}
	return e
}

// prune is C4.5's error-based pruning: bottom up, a node becomes a leaf if
// that does not raise the estimated errors (by more than 0.1), or is
// replaced by its largest branch (subtree raising) if that does not.
func (b *c45) prune(n *bnode) {
	if n.leaf {
		return
	}
	for _, s := range n.sons {
		b.prune(s)
	}
	largest := n.m.d.maxBag()
	errLargest := math.MaxFloat64
	if b.raise {
		errLargest = b.branchErrors(n.sons[largest], n.train)
	}
	errLeaf := b.distErrors(n.m.d)
	errTree := b.treeErrors(n)
	if smOrEq(errLeaf, errTree+0.1) && smOrEq(errLeaf, errLargest+0.1) {
		n.makeLeaf()
		return
	}
	if smOrEq(errLargest, errTree+0.1) {
		son := n.sons[largest]
		n.sons, n.m, n.leaf = son.sons, son.m, son.leaf
		b.newDistribution(n, n.train)
		b.prune(n)
	}
}

// distErrors is the pessimistic error estimate of a leaf with distribution d.
func (b *c45) distErrors(d *dist) float64 {
	if eq(d.total, 0) {
		return 0
	}
	e := d.numIncorrect()
	return e + addErrs(d.total, e, b.cf, b.z)
}

func (b *c45) treeErrors(n *bnode) float64 {
	if n.leaf {
		return b.distErrors(n.m.d)
	}
	var e float64
	for _, s := range n.sons {
		e += b.treeErrors(s)
	}
	return e
}

// branchErrors estimates the errors of subtree n on other data (the data of
// the node it would replace).
func (b *c45) branchErrors(n *bnode, data []inst) float64 {
	if n.leaf {
		return b.distErrors(oneBag(b.ds, data))
	}
	saved := n.m.d
	n.m.d = b.resetDist(n.m, data)
	subsets := b.split(n.m, data)
	n.m.d = saved
	var e float64
	for i, s := range n.sons {
		e += b.branchErrors(s, subsets[i])
	}
	return e
}

func (b *c45) newDistribution(n *bnode, data []inst) {
	n.m.d = b.resetDist(n.m, data)
	n.train = data
	if !n.leaf {
		subsets := b.split(n.m, data)
		for i, s := range n.sons {
			b.newDistribution(s, subsets[i])
		}
	} else if !eq(sumWeights(data), 0) {
		n.empty = false
	}
}

// addErrs is Weka's Stats.addErrs: the extra errors of the upper confidence
// limit of the binomial (normal approximation with continuity correction,
// interpolated below one error and near N).
func addErrs(n, e, cf, z float64) float64 {
	if e < 1 {
		base := n * (1 - math.Pow(cf, 1/n))
		if e == 0 {
			return base
		}
		return base + e*(addErrs(n, 1, cf, z)-base)
	}
	if e+0.5 >= n {
		return math.Max(n-e, 0)
	}
	f := (e + 0.5) / n
	r := (f + z*z/(2*n) + z*math.Sqrt(f/n-f*f/n+z*z/(4*n*n))) / (1 + z*z/n)
	return r*n - e
}

// finish turns the built tree into the immutable Tree nodes: each child
// keeps its branch's weight, errors and class from the parent's
// distribution (as J48 prints them); an empty leaf scores as its branch in
// the parent (or the parent overall).
func finish(ds *Dataset, n *bnode, parent *dist, bag int) *Node {
	out := &Node{Attr: -1}
	if parent == nil {
		out.Weight, out.Errors, out.Class = n.m.d.total, n.m.d.numIncorrect(), n.m.d.maxClass()
	} else {
		out.Weight, out.Errors, out.Class = parent.perBag[bag], parent.numIncorrectIn(bag), parent.maxClassIn(bag)
	}
	if n.leaf {
		out.Probs = make([]float64, len(ds.Classes))
		for c := range out.Probs {
			if n.empty && parent != nil {
				out.Probs[c] = parent.probIn(c, bag)
			} else {
				out.Probs[c] = n.m.d.prob(c)
			}
		}
		out.Class = argmax(out.Probs)
		return out
	}
	out.Attr, out.Threshold = n.m.attr, n.m.point
	out.Missing = make([]float64, len(n.sons))
	for j := range n.sons {
		out.Missing[j] = n.m.d.perBag[j] / n.m.d.total
	}
	for j, s := range n.sons {
		out.Children = append(out.Children, finish(ds, s, n.m.d, j))
	}
	return out
}
