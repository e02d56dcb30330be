package tree

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Attribute is one predictor column: nominal with its values in a fixed
// order, or numeric.
type Attribute struct {
	Name    string   `json:"name"`
	Numeric bool     `json:"numeric,omitempty"`
	Values  []string `json:"values,omitempty"`
}

// Dataset is a training or test set in columns. Nominal[a] holds value
// indexes (−1 missing) for a nominal attribute a, Numeric[a] values (NaN
// missing) for a numeric one; Class holds class indexes into Classes.
type Dataset struct {
	Attrs     []Attribute
	ClassName string
	Classes   []string
	Nominal   [][]int
	Numeric   [][]float64
	Class     []int
}

// ErrEmpty is returned for a dataset without rows.
var ErrEmpty = errors.New("tree: no rows")

// Rows is the number of rows.
func (d *Dataset) Rows() int { return len(d.Class) }

// Check reports shapes that disagree and values out of range, naming them.
func (d *Dataset) Check() error {
	if len(d.Class) == 0 {
		return ErrEmpty
	}
	if len(d.Classes) == 0 {
		return fmt.Errorf("tree: class %q has no values", d.ClassName)
	}
	if len(d.Nominal) != len(d.Attrs) || len(d.Numeric) != len(d.Attrs) {
		return fmt.Errorf("tree: %d attributes but %d nominal and %d numeric columns", len(d.Attrs), len(d.Nominal), len(d.Numeric))
	}
	n := len(d.Class)
	for i, c := range d.Class {
		if c < 0 || c >= len(d.Classes) {
			return fmt.Errorf("tree: row %d has class index %d of %d classes (missing class?)", i, c, len(d.Classes))
		}
	}
	for a, at := range d.Attrs {
		if at.Numeric {
			if len(d.Numeric[a]) != n {
				return fmt.Errorf("tree: attribute %q has %d rows, the class %d", at.Name, len(d.Numeric[a]), n)
			}
			continue
		}
		if len(d.Nominal[a]) != n {
			return fmt.Errorf("tree: attribute %q has %d rows, the class %d", at.Name, len(d.Nominal[a]), n)
		}
		for i, v := range d.Nominal[a] {
			if v < -1 || v >= len(at.Values) {
				return fmt.Errorf("tree: attribute %q row %d has value index %d of %d", at.Name, i, v, len(at.Values))
			}
		}
	}
	return nil
}

// missing reports whether row i lacks attribute a.
func (d *Dataset) missing(a, i int) bool {
	if d.Attrs[a].Numeric {
		return math.IsNaN(d.Numeric[a][i])
	}
	return d.Nominal[a][i] < 0
}

// Table is text data in columns with a header, as read from CSV or DuckDB.
type Table struct {
	Header []string
	Rows   [][]string
}

// Schema says how to read a Table: which column is the class, which are
// numeric, which to ignore, and which cell texts mean missing (default ""
// and "?", after trimming spaces). Numeric cells and class values are
// trimmed; nominal values are kept as they are (CaseSQL compares them
// verbatim).
type Schema struct {
	Class   string
	Numeric []string
	Ignore  []string
	Missing []string
}

// FromTable builds a dataset from text. Nominal values and class values
// take the order of their first appearance (as Weka's CSV loader); a
// numeric cell that does not parse is an error naming row and column; a
// missing class is an error (a class must be known to learn from a row).
func FromTable(t Table, s Schema) (*Dataset, error) {
	if len(t.Rows) == 0 {
		return nil, ErrEmpty
	}
	isMissing := map[string]bool{"": true, "?": true}
	if s.Missing != nil {
		isMissing = map[string]bool{}
		for _, m := range s.Missing {
			isMissing[m] = true
		}
	}
	numeric, ignore := set(s.Numeric), set(s.Ignore)
	classCol := -1
	d := &Dataset{ClassName: s.Class}
	var cols []int
	for c, h := range t.Header {
		switch {
		case h == s.Class:
			classCol = c
		case ignore[h]:
		default:
			cols = append(cols, c)
			d.Attrs = append(d.Attrs, Attribute{Name: h, Numeric: numeric[h]})
			delete(numeric, h)
		}
	}
	if classCol < 0 {
		return nil, fmt.Errorf("tree: no class column %q in %v", s.Class, t.Header)
	}
	for name := range numeric {
		if !ignore[name] {
			return nil, fmt.Errorf("tree: numeric column %q is not in the header", name)
		}
	}
	d.Nominal = make([][]int, len(cols))
	d.Numeric = make([][]float64, len(cols))
	index := make([]map[string]int, len(cols))
	classIndex := map[string]int{}
	for a := range cols {
		if d.Attrs[a].Numeric {
			d.Numeric[a] = make([]float64, 0, len(t.Rows))
		} else {
			d.Nominal[a] = make([]int, 0, len(t.Rows))
			index[a] = map[string]int{}
		}
	}
	for i, row := range t.Rows {
		if len(row) != len(t.Header) {
			return nil, fmt.Errorf("tree: row %d has %d cells, the header %d", i+1, len(row), len(t.Header))
		}
		cls := strings.TrimSpace(row[classCol])
		if isMissing[cls] {
			return nil, fmt.Errorf("tree: row %d has no class %q", i+1, s.Class)
		}
		ci, ok := classIndex[cls]
		if !ok {
			ci = len(d.Classes)
			classIndex[cls] = ci
			d.Classes = append(d.Classes, cls)
		}
		d.Class = append(d.Class, ci)
		for a, c := range cols {
			cell := row[c]
			if d.Attrs[a].Numeric {
				cell = strings.TrimSpace(cell)
				v := math.NaN()
				if !isMissing[cell] {
					f, err := strconv.ParseFloat(cell, 64)
					if err != nil || math.IsNaN(f) {
						return nil, fmt.Errorf("tree: row %d column %q: %q is not a number", i+1, d.Attrs[a].Name, cell)
					}
					v = f
				}
				d.Numeric[a] = append(d.Numeric[a], v)
				continue
			}
			v := -1
			if !isMissing[strings.TrimSpace(cell)] {
				var ok bool
				if v, ok = index[a][cell]; !ok {
					v = len(d.Attrs[a].Values)
					index[a][cell] = v
					d.Attrs[a].Values = append(d.Attrs[a].Values, cell)
				}
			}
			d.Nominal[a] = append(d.Nominal[a], v)
		}
	}
	return d, nil
}

// Conform re-reads a table with the attributes and classes of a trained
// dataset (a test set must use the training set's value order). A nominal
// value the training set never saw becomes missing — scored as C4.5 scores
// a missing value — and is counted in unseen; an unknown class is an error.
func (d *Dataset) Conform(t Table, s Schema) (test *Dataset, unseen int, err error) {
	raw, err := FromTable(t, s)
	if err != nil {
		return nil, 0, err
	}
	if len(raw.Attrs) != len(d.Attrs) {
		return nil, 0, fmt.Errorf("tree: %d attributes, the model has %d", len(raw.Attrs), len(d.Attrs))
	}
	out := &Dataset{Attrs: d.Attrs, ClassName: d.ClassName, Classes: d.Classes,
		Nominal: make([][]int, len(d.Attrs)), Numeric: make([][]float64, len(d.Attrs)), Class: make([]int, raw.Rows())}
	classIdx := indexOf(d.Classes)
	for i, c := range raw.Class {
		ci, ok := classIdx[raw.Classes[c]]
		if !ok {
			return nil, 0, fmt.Errorf("tree: row %d has class %q the model never saw", i+1, raw.Classes[c])
		}
		out.Class[i] = ci
	}
	for a, at := range d.Attrs {
		if raw.Attrs[a].Name != at.Name || raw.Attrs[a].Numeric != at.Numeric {
			return nil, 0, fmt.Errorf("tree: column %d is %q, the model's is %q", a+1, raw.Attrs[a].Name, at.Name)
		}
		if at.Numeric {
			out.Numeric[a] = raw.Numeric[a]
			continue
		}
		idx := indexOf(at.Values)
		out.Nominal[a] = make([]int, raw.Rows())
		for i, v := range raw.Nominal[a] {
			out.Nominal[a][i] = -1
			if v < 0 {
				continue
			}
			if m, ok := idx[raw.Attrs[a].Values[v]]; ok {
				out.Nominal[a][i] = m
			} else {
				unseen++
			}
		}
	}
	return out, unseen, nil
}

func set(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func indexOf(xs []string) map[string]int {
	m := map[string]int{}
	for i, x := range xs {
		m[x] = i
	}
	return m
}

// Subset returns the rows of d at the given indexes, sharing attributes
// and classes (so value orders stay those of d).
func (d *Dataset) Subset(rows []int) *Dataset {
	out := &Dataset{Attrs: d.Attrs, ClassName: d.ClassName, Classes: d.Classes,
		Nominal: make([][]int, len(d.Attrs)), Numeric: make([][]float64, len(d.Attrs)), Class: make([]int, len(rows))}
	for a, at := range d.Attrs {
		if at.Numeric {
			out.Numeric[a] = make([]float64, len(rows))
		} else {
			out.Nominal[a] = make([]int, len(rows))
		}
	}
	for n, i := range rows {
		out.Class[n] = d.Class[i]
		for a, at := range d.Attrs {
			if at.Numeric {
				out.Numeric[a][n] = d.Numeric[a][i]
			} else {
				out.Nominal[a][n] = d.Nominal[a][i]
			}
		}
	}
	return out
}
