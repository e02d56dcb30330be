// Package rough owns rough-set analysis (Pawlak 1982) of a decision table:
// indiscernibility classes, lower and upper approximations, boundary and
// positive regions, the dependency degree γ, the core, reducts, and certain
// and possible decision rules with their support.
//
// A table is columns of categorical values (numeric attributes must be
// discretised first). Every value, the empty string included, is an ordinary
// value: a missing value is indiscernible from another missing value of the
// same attribute, so map missing values to a marker before building the table
// if that is not what you mean. Objects are numbered by their row, from 0.
package rough

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrInput is wrapped by every error about the table or a request on it.
var ErrInput = errors.New("rough: bad input")

// Table is a decision table.
type Table struct {
	attrs    []string
	byName   map[string]int
	codes    [][]int // codes[a][object]: value of attribute a as an index into values[a]
	values   [][]string
	decision []int // decision class of each object, index into decisions
	classes  []string
	n        int
}

// NewTable builds a decision table from condition columns (cols[j] holds
// attribute attrs[j] for every object) and the decision of every object.
func NewTable(attrs []string, cols [][]string, decision []string) (*Table, error) {
	if len(decision) == 0 {
		return nil, fmt.Errorf("%w: no objects", ErrInput)
	}
	if len(attrs) != len(cols) {
		return nil, fmt.Errorf("%w: %d attribute names for %d columns", ErrInput, len(attrs), len(cols))
	}
	t := &Table{attrs: append([]string(nil), attrs...), byName: map[string]int{}, n: len(decision)}
	for j, a := range attrs {
		if a == "" {
			return nil, fmt.Errorf("%w: attribute %d has no name", ErrInput, j)
		}
		if _, dup := t.byName[a]; dup {
			return nil, fmt.Errorf("%w: attribute %q appears twice", ErrInput, a)
		}
		if len(cols[j]) != t.n {
			return nil, fmt.Errorf("%w: attribute %q has %d values for %d objects", ErrInput, a, len(cols[j]), t.n)
		}
		t.byName[a] = j
		codes, values := encode(cols[j])
		t.codes = append(t.codes, codes)
		t.values = append(t.values, values)
	}
	t.decision, t.classes = encode(decision)
	return t, nil
}

func encode(col []string) ([]int, []string) {
	idx := map[string]int{}
	var values []string
	codes := make([]int, len(col))
	for i, v := range col {
		k, ok := idx[v]
		if !ok {
			k = len(values)
			idx[v] = k
			values = append(values, v)
		}
		codes[i] = k
	}
	return codes, values
}

// Attributes returns the condition attributes in table order.
func (t *Table) Attributes() []string { return append([]string(nil), t.attrs...) }

// Len is the number of objects.
func (t *Table) Len() int { return t.n }

func (t *Table) resolve(attrs []string) ([]int, error) {
	out := make([]int, 0, len(attrs))
	seen := map[int]bool{}
	for _, a := range attrs {
		j, ok := t.byName[a]
		if !ok {
			return nil, fmt.Errorf("%w: no condition attribute %q (have %s)", ErrInput, a, strings.Join(t.attrs, ", "))
		}
		if !seen[j] {
			seen[j] = true
			out = append(out, j)
		}
	}
	return out, nil
}

func (t *Table) decisionValue(d string) (int, error) {
	for k, v := range t.classes {
		if v == d {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w: no object has decision %q", ErrInput, d)
}

// classesOf partitions the objects by their values on attribute indexes.
// Each class is sorted; classes are ordered by their first object.
func (t *Table) classesOf(js []int) [][]int {
	at := map[string]int{}
	var out [][]int
	var b strings.Builder
	for o := 0; o < t.n; o++ {
		b.Reset()
		for _, j := range js {
			b.WriteString(strconv.Itoa(t.codes[j][o]))
			b.WriteByte(',')
		}
		k, ok := at[b.String()]
		if !ok {
			k = len(out)
			at[b.String()] = k
			out = append(out, nil)
		}
		out[k] = append(out[k], o)
	}
	return out
}

// Classes returns the indiscernibility classes of the attributes: objects
// with equal values on every one of them. No attributes give one class.
func (t *Table) Classes(attrs []string) ([][]int, error) {
	js, err := t.resolve(attrs)
	if err != nil {
		return nil, err
	}
	return t.classesOf(js), nil
}

// Approximation is the rough approximation of one decision class.
type Approximation struct {
	Decision string
	Lower    []int // objects whose class lies wholly in the decision class
	Upper    []int // objects whose class meets the decision class
	Boundary []int // Upper minus Lower
	// Accuracy is |Lower| / |Upper| (Pawlak's accuracy of approximation).
	Accuracy float64
}

// Approximate returns the lower and upper approximations of the objects with
// the given decision, by the attributes' indiscernibility classes.
func (t *Table) Approximate(attrs []string, decision string) (Approximation, error) {
	js, err := t.resolve(attrs)
	if err != nil {
		return Approximation{}, err
	}
	d, err := t.decisionValue(decision)
	if err != nil {
		return Approximation{}, err
	}
	a := Approximation{Decision: decision}
	for _, c := range t.classesOf(js) {
		in := 0
		for _, o := range c {
			if t.decision[o] == d {
				in++
			}
		}
		if in == len(c) {
			a.Lower = append(a.Lower, c...)
		}
		if in > 0 {
			a.Upper = append(a.Upper, c...)
			if in < len(c) {
				a.Boundary = append(a.Boundary, c...)
			}
		}
	}
	sort.Ints(a.Lower)
	sort.Ints(a.Upper)
	sort.Ints(a.Boundary)
	a.Accuracy = float64(len(a.Lower)) / float64(len(a.Upper))
	return a, nil
}

// Positive returns the positive region: objects whose indiscernibility class
// has a single decision (the union of every decision class's lower
// approximation).
func (t *Table) Positive(attrs []string) ([]int, error) {
	js, err := t.resolve(attrs)
	if err != nil {
		return nil, err
	}
	return t.positive(js), nil
}

func (t *Table) positive(js []int) []int {
	var pos []int
	for _, c := range t.classesOf(js) {
		if t.consistent(c) {
			pos = append(pos, c...)
		}
	}
	sort.Ints(pos)
	return pos
}

func (t *Table) consistent(c []int) bool {
	for _, o := range c[1:] {
		if t.decision[o] != t.decision[c[0]] {
			return false
		}
	}
	return true
}

// Dependency is γ(attrs → decision) = |positive region| / |objects|.
func (t *Table) Dependency(attrs []string) (float64, error) {
	js, err := t.resolve(attrs)
	if err != nil {
		return 0, err
	}
	return t.gamma(js), nil
}

func (t *Table) gamma(js []int) float64 { return float64(len(t.positive(js))) / float64(t.n) }
