package tree

import "math"

// small is Weka's Utils.SMALL: the tolerance of its comparisons.
const small = 1e-6

func eq(a, b float64) bool     { return a-b < small && b-a < small }
func gr(a, b float64) bool     { return a-b > small }
func sm(a, b float64) bool     { return a-b < -small }
func smOrEq(a, b float64) bool { return a-b <= small }
func grOrEq(a, b float64) bool { return b-a <= small }

// inst is one (possibly fractional) training instance: a row and its weight.
type inst struct {
	row int
	w   float64
}

func sumWeights(data []inst) float64 {
	var s float64
	for _, x := range data {
		s += x.w
	}
	return s
}

// dist is Weka's Distribution: class weights per bag (branch).
type dist struct {
	perClassPerBag [][]float64
	perBag         []float64
	perClass       []float64
	total          float64
}

func newDist(bags, classes int) *dist {
	d := &dist{perClassPerBag: make([][]float64, bags), perBag: make([]float64, bags), perClass: make([]float64, classes)}
	for b := range d.perClassPerBag {
		d.perClassPerBag[b] = make([]float64, classes)
	}
	return d
}

// oneBag is the class distribution of data in a single bag.
func oneBag(ds *Dataset, data []inst) *dist {
	d := newDist(1, len(ds.Classes))
	for _, x := range data {
		d.add(0, ds.Class[x.row], x.w)
	}
	return d
}

func (d *dist) add(bag, class int, w float64) {
	d.perClassPerBag[bag][class] += w
	d.perBag[bag] += w
	d.perClass[class] += w
	d.total += w
}

func (d *dist) sub(bag, class int, w float64) {
	d.perClassPerBag[bag][class] -= w
	d.perBag[bag] -= w
	d.perClass[class] -= w
	d.total -= w
}

// merged is the distribution with all bags in one (Weka's copy constructor,
// used when a node becomes a leaf).
func (d *dist) merged() *dist {
	m := newDist(1, len(d.perClass))
	copy(m.perClassPerBag[0], d.perClass)
	m.perBag[0] = d.total
	copy(m.perClass, d.perClass)
	m.total = d.total
	return m
}

// maxClass is the first class of largest weight (beyond Weka's tolerance).
func (d *dist) maxClass() int {
	best, max := 0, 0.0
	for c, w := range d.perClass {
		if gr(w, max) {
			best, max = c, w
		}
	}
	return best
}

// maxClassIn is the first class of largest weight in a bag, or the overall
// one when the bag is empty.
func (d *dist) maxClassIn(bag int) int {
	if !gr(d.perBag[bag], 0) {
		return d.maxClass()
	}
	best, max := 0, 0.0
	for c, w := range d.perClassPerBag[bag] {
		if gr(w, max) {
			best, max = c, w
		}
	}
	return best
}

// maxBag is the last bag of largest weight (Weka compares with ≥).
func (d *dist) maxBag() int {
	best, max := -1, 0.0
	for b, w := range d.perBag {
		if grOrEq(w, max) {
			best, max = b, w
		}
	}
	return best
}

func (d *dist) numIncorrect() float64 { return d.total - d.perClass[d.maxClass()] }

func (d *dist) numIncorrectIn(bag int) float64 {
	return d.perBag[bag] - d.perClassPerBag[bag][d.maxClassIn(bag)]
}

// prob is the class's share of the whole distribution (0 when empty).
func (d *dist) prob(c int) float64 {
	if eq(d.total, 0) {
		return 0
	}
	return d.perClass[c] / d.total
}

// probIn is the class's share of a bag, or of the whole when it is empty.
func (d *dist) probIn(c, bag int) float64 {
	if gr(d.perBag[bag], 0) {
		return d.perClassPerBag[bag][c] / d.perBag[bag]
	}
	return d.prob(c)
}

// check reports whether at least two bags hold minObj weight.
func (d *dist) check(minObj float64) bool {
	n := 0
	for _, w := range d.perBag {
		if grOrEq(w, minObj) {
			n++
		}
	}
	return n > 1
}

// logFunc is Weka's x·log2 x, 0 below 1e-6.
func logFunc(x float64) float64 {
	if x < 1e-6 {
		return 0
	}
	return x * math.Log(x) / math.Ln2
}

// oldEnt is the class entropy before the split, times the total weight.
func (d *dist) oldEnt() float64 {
	var s float64
	for _, w := range d.perClass {
		s += logFunc(w)
	}
	return logFunc(d.total) - s
}

// newEnt is the weighted class entropy after the split, times the total.
func (d *dist) newEnt() float64 {
	var s float64
	for b, w := range d.perBag {
		for _, cw := range d.perClassPerBag[b] {
			s += logFunc(cw)
		}
		s -= logFunc(w)
	}
	return -s
}

// infoGain is C4.5's gain: the known-value gain discounted by the share of
// weight with a missing value (totalAll includes them).
func (d *dist) infoGain(totalAll, oldEnt float64) float64 {
	unknownRate := (totalAll - d.total) / totalAll
	num := (1 - unknownRate) * (oldEnt - d.newEnt())
	if eq(num, 0) {
		return 0
	}
	return num / d.total
}

// gainRatio divides gain by the split information, in which the weight
// with a missing value is one more branch.
func (d *dist) gainRatio(totalAll, gain float64) float64 {
	var s float64
	if gr(d.total, 0) {
		for _, w := range d.perBag {
			s -= logFunc(w)
		}
		s -= logFunc(totalAll - d.total)
		s += logFunc(totalAll)
	}
	if eq(s, 0) {
		return 0
	}
	return gain / (s / totalAll)
}
