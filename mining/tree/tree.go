package tree

import (
	"fmt"
	"math"
)

// Tree is a trained decision tree with the attributes and classes it reads.
type Tree struct {
	Algorithm string      `json:"algorithm"`
	Attrs     []Attribute `json:"attributes"`
	ClassName string      `json:"class"`
	Classes   []string    `json:"classes"`
	Root      *Node       `json:"root"`
}

// Node is a test on one attribute (Attr ≥ 0) or a leaf (Attr = −1).
type Node struct {
	Attr int `json:"attr"`
	// Threshold splits a numeric attribute: child 0 takes values v with
	// v − Threshold ≤ 1e-6 (Weka's tolerance), child 1 the rest. A nominal
	// attribute has one child per value, in the attribute's value order.
	Threshold float64 `json:"threshold,omitempty"`
	Children  []*Node `json:"children,omitempty"`
	// Missing is the share of training weight each child received: a row
	// whose value is missing (or a nominal value never seen in training)
	// goes down every child with these weights.
	Missing []float64 `json:"missing,omitempty"`
	// Probs are a leaf's class probabilities.
	Probs []float64 `json:"probs,omitempty"`
	// Class is a leaf's predicted class; for a test node, the majority
	// class of its training weight.
	Class int `json:"class"`
	// Weight is the training weight that reached this branch, Errors the
	// part of it not of Class (J48 prints them as "(Weight/Errors)").
	Weight float64 `json:"weight"`
	Errors float64 `json:"errors"`
}

// Leaf reports whether n is a leaf.
func (n *Node) Leaf() bool { return n.Attr < 0 }

func newTree(ds *Dataset, alg string, root *Node) *Tree {
	return &Tree{Algorithm: alg, Attrs: ds.Attrs, ClassName: ds.ClassName, Classes: ds.Classes, Root: root}
}

// argmax is Weka's classifyInstance choice: the first class whose
// probability beats the best so far by more than 1e-6.
func argmax(p []float64) int {
	best, max := 0, -1.0
	for c, v := range p {
		if gr(v, max) {
			best, max = c, v
		}
	}
	return best
}

// Size is the number of nodes, Leaves the number of leaves (J48's "Size of
// the tree" and "Number of Leaves").
func (t *Tree) Size() int { return count(t.Root, false) }

// Leaves counts the leaves.
func (t *Tree) Leaves() int { return count(t.Root, true) }

func count(n *Node, leavesOnly bool) int {
	if n.Leaf() {
		return 1
	}
	c := 0
	if !leavesOnly {
		c = 1
	}
	for _, ch := range n.Children {
		c += count(ch, leavesOnly)
	}
	return c
}

// Row is one row to score: for each attribute of the tree, a nominal value
// index (−1 missing or unseen) or a numeric value (NaN missing).
type Row struct {
	Nominal []int
	Numeric []float64
}

// RowOf returns row i of a dataset with the tree's attributes.
func RowOf(ds *Dataset, i int) Row {
	r := Row{Nominal: make([]int, len(ds.Attrs)), Numeric: make([]float64, len(ds.Attrs))}
	for a, at := range ds.Attrs {
		if at.Numeric {
			r.Numeric[a] = ds.Numeric[a][i]
		} else {
			r.Nominal[a] = ds.Nominal[a][i]
		}
	}
	return r
}

// branch is the child a row takes at n, or −1 when its value is missing.
func (t *Tree) branch(n *Node, r Row) int {
	if t.Attrs[n.Attr].Numeric {
		v := r.Numeric[n.Attr]
		switch {
		case math.IsNaN(v):
			return -1
		case v-n.Threshold <= small:
			return 0
		default:
			return 1
		}
	}
	v := r.Nominal[n.Attr]
	if v < 0 || v >= len(n.Children) {
		return -1
	}
	return v
}

// Probabilities scores a row with C4.5's fractional method: a leaf gives
// its class probabilities; a test gives the sum over its children, in
// order, of the child's probabilities times a factor — 1 for the row's
// branch, 0 for the others, or each branch's Missing share when the value
// is missing. CaseSQL computes the same sums in the same order.
func (t *Tree) Probabilities(r Row) ([]float64, error) {
	if len(r.Nominal) != len(t.Attrs) || len(r.Numeric) != len(t.Attrs) {
		return nil, fmt.Errorf("tree: row with %d/%d values for %d attributes", len(r.Nominal), len(r.Numeric), len(t.Attrs))
	}
	p := make([]float64, len(t.Classes))
	for c := range p {
		p[c] = t.prob(t.Root, r, c)
	}
	return p, nil
}

func (t *Tree) prob(n *Node, r Row, c int) float64 {
	if n.Leaf() {
		return n.Probs[c]
	}
	b := t.branch(n, r)
	if b >= 0 {
		return t.prob(n.Children[b], r, c) // 1·p plus zeros: exactly p
	}
	var s float64
	for j, ch := range n.Children {
		// The conversion forbids a fused multiply-add: SQL rounds the product.
		s += float64(n.Missing[j] * t.prob(ch, r, c))
	}
	return s
}

// Predict returns the class index of a row (Weka's choice among the
// probabilities).
func (t *Tree) Predict(r Row) (int, error) {
	p, err := t.Probabilities(r)
	if err != nil {
		return 0, err
	}
	return argmax(p), nil
}

// Accuracy is the share of rows of ds predicted right, and the count.
func (t *Tree) Accuracy(ds *Dataset) (float64, int, error) {
	if ds.Rows() == 0 {
		return 0, 0, ErrEmpty
	}
	right := 0
	for i := 0; i < ds.Rows(); i++ {
		c, err := t.Predict(RowOf(ds, i))
		if err != nil {
			return 0, 0, err
		}
		if c == ds.Class[i] {
			right++
		}
	}
	return float64(right) / float64(ds.Rows()), right, nil
}
