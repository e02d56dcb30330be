package evaluate

import (
	"fmt"
	"sort"
)

// Confusion is a confusion matrix: Counts[i][j] rows of actual class
// Classes[i] predicted as Classes[j].
type Confusion struct {
	Classes []string
	Counts  [][]int
}

// ClassMeasures are one class's measures, that class taken as positive.
// A ratio with a zero denominator is 0 (scikit-learn's zero_division=0).
type ClassMeasures struct {
	Class     string
	Precision float64
	Recall    float64
	F1        float64
	Support   int // actual rows of the class
}

// NewConfusion tallies actual against predicted labels. The classes are the
// union of both, sorted, plus any in extra (e.g. the training classes, so a
// class absent from the test set still gets a row). Empty labels are errors.
func NewConfusion(actual, predicted []string, extra ...string) (*Confusion, error) {
	if len(actual) == 0 {
		return nil, fmt.Errorf("%w: no rows to evaluate", ErrInput)
	}
	if len(actual) != len(predicted) {
		return nil, fmt.Errorf("%w: %d actual labels but %d predictions", ErrInput, len(actual), len(predicted))
	}
	idx := map[string]int{}
	for _, c := range extra {
		if c != "" {
			idx[c] = 0
		}
	}
	for i := range actual {
		if actual[i] == "" || predicted[i] == "" {
			return nil, fmt.Errorf("%w: row %d has an empty label (actual %q, predicted %q)", ErrInput, i, actual[i], predicted[i])
		}
		idx[actual[i]], idx[predicted[i]] = 0, 0
	}
	c := &Confusion{}
	for k := range idx {
		c.Classes = append(c.Classes, k)
	}
	sort.Strings(c.Classes)
	for i, k := range c.Classes {
		idx[k] = i
	}
	c.Counts = make([][]int, len(c.Classes))
	for i := range c.Counts {
		c.Counts[i] = make([]int, len(c.Classes))
	}
	for i := range actual {
		c.Counts[idx[actual[i]]][idx[predicted[i]]]++
	}
	return c, nil
}

// Total is the number of rows tallied.
func (c *Confusion) Total() int {
	n := 0
	for _, row := range c.Counts {
		for _, v := range row {
			n += v
		}
	}
	return n
}

// Accuracy is the share of rows on the diagonal.
func (c *Confusion) Accuracy() float64 {
	d := 0
	for i := range c.Counts {
		d += c.Counts[i][i]
	}
	return float64(d) / float64(c.Total())
}

// ErrorRate is 1 − Accuracy.
func (c *Confusion) ErrorRate() float64 { return 1 - c.Accuracy() }

// PerClass returns precision, recall, F1 and support of every class.
func (c *Confusion) PerClass() []ClassMeasures {
	out := make([]ClassMeasures, len(c.Classes))
	for k, name := range c.Classes {
		tp := c.Counts[k][k]
		var actual, predicted int
		for j := range c.Classes {
			actual += c.Counts[k][j]
			predicted += c.Counts[j][k]
		}
		m := ClassMeasures{Class: name, Support: actual,
			Precision: ratio(tp, predicted), Recall: ratio(tp, actual)}
		if m.Precision+m.Recall > 0 {
			m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
		}
		out[k] = m
	}
	return out
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Majority returns the most frequent label (ties: the first in sorted
// order) — the majority-class baseline's constant prediction when given the
// training labels.
func Majority(labels []string) (string, error) {
	n := map[string]int{}
	for _, l := range labels {
		if l != "" {
			n[l]++
		}
	}
	if len(n) == 0 {
		return "", fmt.Errorf("%w: no labels to take a majority of", ErrInput)
	}
	best := ""
	for l, k := range n {
		if best == "" || k > n[best] || (k == n[best] && l < best) {
			best = l
		}
	}
	return best, nil
}
