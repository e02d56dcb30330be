package tree

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Entropy is the class entropy of the dataset in bits.
func Entropy(ds *Dataset) (float64, error) {
	if err := ds.Check(); err != nil {
		return 0, err
	}
	counts := make([]float64, len(ds.Classes))
	for _, c := range ds.Class {
		counts[c]++
	}
	return entropy(counts, float64(ds.Rows())), nil
}

func entropy(counts []float64, n float64) float64 {
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := c / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// InfoGains is the information gain (bits) of splitting the whole dataset
// on each attribute; ID3 needs nominal attributes without missing values.
func InfoGains(ds *Dataset) ([]float64, error) {
	if err := checkID3(ds); err != nil {
		return nil, err
	}
	rows := make([]int, ds.Rows())
	for i := range rows {
		rows[i] = i
	}
	gains := make([]float64, len(ds.Attrs))
	for a := range ds.Attrs {
		gains[a] = gain(ds, rows, a)
	}
	return gains, nil
}

func checkID3(ds *Dataset) error {
	if err := ds.Check(); err != nil {
		return err
	}
	for a, at := range ds.Attrs {
		if at.Numeric {
			return fmt.Errorf("tree: ID3 takes nominal attributes; %q is numeric (use C4.5 or discretise it)", at.Name)
		}
		for i, v := range ds.Nominal[a] {
			if v < 0 {
				return fmt.Errorf("tree: ID3 takes no missing values; %q is missing in row %d (use C4.5)", at.Name, i+1)
			}
		}
	}
	return nil
}

func classCounts(ds *Dataset, rows []int) []float64 {
	counts := make([]float64, len(ds.Classes))
	for _, i := range rows {
		counts[ds.Class[i]]++
	}
	return counts
}

// gain is the information gain of splitting rows on attribute a.
func gain(ds *Dataset, rows []int, a int) float64 {
	n := float64(len(rows))
	byValue := make([][]float64, len(ds.Attrs[a].Values))
	for v := range byValue {
		byValue[v] = make([]float64, len(ds.Classes))
	}
	for _, i := range rows {
		byValue[ds.Nominal[a][i]][ds.Class[i]]++
	}
	g := entropy(classCounts(ds, rows), n)
	for _, counts := range byValue {
		var m float64
		for _, c := range counts {
			m += c
		}
		if m > 0 {
			g -= m / n * entropy(counts, m)
		}
	}
	return g
}

// ID3Options configure ID3. Window > 0 turns windowing on.
type ID3Options struct {
	// Window is the size of the initial window drawn from Seed; each round
	// grows a tree on the window, classifies the other training rows, and
	// adds up to MaxAdd (0: all) of the misclassified ones, until none is.
	Window int
	MaxAdd int
	Seed   uint64
}

// WindowStats reports a windowed ID3 run.
type WindowStats struct {
	Rounds int `json:"rounds"`
	// Examined is the size of the final window, the examples the returned
	// tree was grown from; Grown sums the window sizes over all rounds and
	// Checked the rows classified outside the window.
	Examined int `json:"examined"`
	Grown    int `json:"grown"`
	Checked  int `json:"checked"`
	// Consistent reports whether the tree classifies every training row
	// right (false only when equal attribute values carry different
	// classes).
	Consistent bool `json:"consistent"`
}

// ID3 grows Quinlan's ID3 tree: at each node the attribute of highest
// information gain (the first on a tie), one branch per value, until a node
// is pure or no attribute is left (then its majority class); a value with
// no rows gets a leaf with the parent's class distribution. No pruning.
// With opt.Window, it grows the tree by windowing and returns the
// statistics; without, stats is nil.
func ID3(ctx context.Context, ds *Dataset, opt ID3Options) (*Tree, *WindowStats, error) {
	if err := checkID3(ds); err != nil {
		return nil, nil, err
	}
	if opt.Window < 0 || opt.MaxAdd < 0 {
		return nil, nil, fmt.Errorf("tree: window %d and additions per round %d must not be negative", opt.Window, opt.MaxAdd)
	}
	all := make([]int, ds.Rows())
	for i := range all {
		all[i] = i
	}
	if opt.Window == 0 || opt.Window >= ds.Rows() {
		root, err := growID3(ctx, ds, all, make([]bool, len(ds.Attrs)), nil)
		if err != nil {
			return nil, nil, err
		}
		t := newTree(ds, "id3", root)
		if opt.Window == 0 {
			return t, nil, nil
		}
		return t, &WindowStats{Rounds: 1, Examined: ds.Rows(), Grown: ds.Rows(), Consistent: consistent(t, ds, all)}, nil
	}
	return windowID3(ctx, ds, opt)
}

func windowID3(ctx context.Context, ds *Dataset, opt ID3Options) (*Tree, *WindowStats, error) {
	rng := rand.New(rand.NewPCG(opt.Seed, 0x1d3))
	order := rng.Perm(ds.Rows())
	inWindow := make([]bool, ds.Rows())
	window := append([]int(nil), order[:opt.Window]...)
	for _, i := range window {
		inWindow[i] = true
	}
	st := &WindowStats{}
	for {
		st.Rounds++
		st.Grown += len(window)
		root, err := growID3(ctx, ds, window, make([]bool, len(ds.Attrs)), nil)
		if err != nil {
			return nil, nil, err
		}
		t := newTree(ds, "id3", root)
		var wrong []int
		for _, i := range order {
			if inWindow[i] {
				continue
			}
			st.Checked++
			if c, _ := t.Predict(RowOf(ds, i)); c != ds.Class[i] {
				wrong = append(wrong, i)
			}
		}
		if len(wrong) == 0 {
			st.Examined = len(window)
			all := make([]int, ds.Rows())
			for i := range all {
				all[i] = i
			}
			st.Consistent = consistent(t, ds, all)
			return t, st, nil
		}
		if opt.MaxAdd > 0 && len(wrong) > opt.MaxAdd {
			wrong = wrong[:opt.MaxAdd]
		}
		for _, i := range wrong {
			inWindow[i] = true
			window = append(window, i)
		}
	}
}

func consistent(t *Tree, ds *Dataset, rows []int) bool {
	for _, i := range rows {
		if c, _ := t.Predict(RowOf(ds, i)); c != ds.Class[i] {
			return false
		}
	}
	return true
}

func growID3(ctx context.Context, ds *Dataset, rows []int, used []bool, parent []float64) (*Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	counts := classCounts(ds, rows)
	n := float64(len(rows))
	node := &Node{Attr: -1, Weight: n}
	if len(rows) == 0 { // an empty branch: the parent's distribution
		node.Probs = normalise(parent)
		node.Class = argmax(node.Probs)
		return node, nil
	}
	node.Probs = normalise(counts)
	node.Class = argmax(node.Probs)
	node.Errors = n - counts[node.Class]
	best, bestGain := -1, -1.0
	for a := range ds.Attrs {
		if used[a] {
			continue
		}
		if g := gain(ds, rows, a); g > bestGain {
			best, bestGain = a, g
		}
	}
	if node.Errors == 0 || best < 0 {
		return node, nil
	}
	node.Attr, node.Probs = best, nil
	values := len(ds.Attrs[best].Values)
	subsets := make([][]int, values)
	for _, i := range rows {
		v := ds.Nominal[best][i]
		subsets[v] = append(subsets[v], i)
	}
	used = append([]bool(nil), used...)
	used[best] = true
	for _, s := range subsets {
		node.Missing = append(node.Missing, float64(len(s))/n)
		child, err := growID3(ctx, ds, s, used, counts)
		if err != nil {
			return nil, err
		}
		node.Children = append(node.Children, child)
	}
	return node, nil
}

func normalise(counts []float64) []float64 {
	var n float64
	for _, c := range counts {
		n += c
	}
	p := make([]float64, len(counts))
	for c, v := range counts {
		if n > 0 {
			p[c] = v / n
		}
	}
	return p
}
