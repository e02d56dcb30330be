// Package bayes owns naive Bayes classification on column batches:
// categorical attributes with additive (Laplace/Lidstone) smoothing α and
// numeric attributes as per-class Gaussians, posterior probabilities, and the
// model's scoring emitted as a DuckDB SQL expression.
//
// Missing values: a categorical value "" or a numeric NaN is missing. In
// training a missing value is left out of that attribute's counts or moments
// (the class's other attributes still count); in scoring the attribute
// contributes no factor for that row. A category not seen in training is
// treated the same way at scoring (Scores.Unseen counts it), so one new value
// never sets a posterior to 0.
package bayes

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Column is one attribute over all rows of a batch: exactly one of
// Categories (categorical) or Values (numeric) is set.
type Column struct {
	Name       string
	Categories []string  // "" = missing
	Values     []float64 // NaN = missing
}

func (c Column) numeric() bool { return c.Values != nil }

func (c Column) len() int {
	if c.numeric() {
		return len(c.Values)
	}
	return len(c.Categories)
}

// Options configure training.
type Options struct {
	// Alpha is the additive smoothing of categorical likelihoods:
	// P(v|c) = (n_cv + α) / (n_c + α·K), K the attribute's categories seen in
	// training, n_c the class's rows where the attribute is present.
	// 0 gives the textbook relative frequencies.
	Alpha float64
	// VarSmoothing is added to every Gaussian variance as a fraction of the
	// attribute's variance over all training rows (scikit-learn's
	// var_smoothing, there taken over the largest attribute's variance). It keeps a
	// class whose values are all equal from having zero variance. Zero
	// means the default 1e-9; a negative value is an error.
	VarSmoothing float64
}

// Attribute is one fitted attribute.
type Attribute struct {
	Name    string
	Numeric bool
	// Categorical: Categories (sorted) and LogLik[class][category].
	Categories []string
	LogLik     [][]float64
	// Numeric: per-class mean and variance (ddof 0, plus smoothing).
	Mean, Var []float64
}

// Model is a trained naive Bayes classifier.
type Model struct {
	Classes    []string  // sorted
	ClassCount []int     // training rows per class
	LogPrior   []float64 // log of the class's share of training rows
	Attributes []Attribute
	Options    Options
	// Dropped names numeric attributes left out because they have the same
	// value in every training row (no information, zero variance).
	Dropped []string
}

// ErrInput is wrapped by every error about the training or scoring batch.
var ErrInput = errors.New("bayes: bad input")

// Train fits a model to the columns and the class label of each row.
func Train(cols []Column, class []string, opt Options) (*Model, error) {
	if len(class) == 0 {
		return nil, fmt.Errorf("%w: no training rows", ErrInput)
	}
	if math.IsNaN(opt.Alpha) || opt.Alpha < 0 || math.IsInf(opt.Alpha, 0) {
		return nil, fmt.Errorf("%w: alpha = %v, must be a finite number ≥ 0", ErrInput, opt.Alpha)
	}
	if opt.VarSmoothing < 0 || math.IsNaN(opt.VarSmoothing) {
		return nil, fmt.Errorf("%w: var smoothing = %v, must be ≥ 0", ErrInput, opt.VarSmoothing)
	}
	if opt.VarSmoothing == 0 {
		opt.VarSmoothing = 1e-9
	}
	if err := checkColumns(cols, len(class)); err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, c := range class {
		if c == "" {
			return nil, fmt.Errorf("%w: row %d has no class label", ErrInput, i)
		}
		idx[c] = 0
	}
	m := &Model{Options: opt}
	for c := range idx {
		m.Classes = append(m.Classes, c)
	}
	sort.Strings(m.Classes)
	for i, c := range m.Classes {
		idx[c] = i
	}
	if len(m.Classes) < 2 {
		return nil, fmt.Errorf("%w: every training row has class %q; a classifier needs at least two classes", ErrInput, m.Classes[0])
	}
	y := make([]int, len(class))
	m.ClassCount = make([]int, len(m.Classes))
	for i, c := range class {
		y[i] = idx[c]
		m.ClassCount[y[i]]++
	}
	m.LogPrior = make([]float64, len(m.Classes))
	for k, n := range m.ClassCount {
		m.LogPrior[k] = math.Log(float64(n) / float64(len(class)))
	}
	for _, col := range cols {
		if col.numeric() {
			a, ok, err := fitGaussian(col, y, m.Classes, opt.VarSmoothing)
			if err != nil {
				return nil, err
			}
			if !ok {
				m.Dropped = append(m.Dropped, col.Name)
				continue
			}
			m.Attributes = append(m.Attributes, a)
		} else {
			m.Attributes = append(m.Attributes, fitCategorical(col, y, len(m.Classes), opt.Alpha))
		}
	}
	return m, nil
}

func checkColumns(cols []Column, n int) error {
	seen := map[string]bool{}
	for i, c := range cols {
		if c.Name == "" {
			return fmt.Errorf("%w: column %d has no name", ErrInput, i)
		}
		if seen[c.Name] {
			return fmt.Errorf("%w: column %q appears twice", ErrInput, c.Name)
		}
		seen[c.Name] = true
		if (c.Categories == nil) == (c.Values == nil) {
			return fmt.Errorf("%w: column %q must have exactly one of Categories or Values", ErrInput, c.Name)
		}
		if c.len() != n {
			return fmt.Errorf("%w: column %q has %d rows, the batch %d", ErrInput, c.Name, c.len(), n)
		}
		for r, v := range c.Values {
			if math.IsInf(v, 0) {
				return fmt.Errorf("%w: column %q row %d is %v", ErrInput, c.Name, r, v)
			}
		}
	}
	return nil
}

func fitCategorical(col Column, y []int, nClass int, alpha float64) Attribute {
	a := Attribute{Name: col.Name}
	pos := map[string]int{}
	for _, v := range col.Categories {
		if v != "" {
			pos[v] = 0
		}
	}
	for v := range pos {
		a.Categories = append(a.Categories, v)
	}
	sort.Strings(a.Categories)
	for i, v := range a.Categories {
		pos[v] = i
	}
	counts := make([][]float64, nClass)
	totals := make([]float64, nClass)
	for k := range counts {
		counts[k] = make([]float64, len(a.Categories))
	}
	for r, v := range col.Categories {
		if v == "" {
			continue
		}
		counts[y[r]][pos[v]]++
		totals[y[r]]++
	}
	a.LogLik = make([][]float64, nClass)
	K := float64(len(a.Categories))
	for k := range counts {
		a.LogLik[k] = make([]float64, len(a.Categories))
		for j, n := range counts[k] {
			// A class with no present value and α = 0 gives 0/0: the attribute
			// then says nothing about that class (log 1 = 0 for every value).
			if totals[k]+alpha*K == 0 {
				continue
			}
			a.LogLik[k][j] = math.Log((n + alpha) / (totals[k] + alpha*K))
		}
	}
	return a
}

// fitGaussian returns ok = false when the attribute is constant (or absent)
// over all training rows.
func fitGaussian(col Column, y []int, classes []string, smoothing float64) (Attribute, bool, error) {
	nClass := len(classes)
	a := Attribute{Name: col.Name, Numeric: true, Mean: make([]float64, nClass), Var: make([]float64, nClass)}
	n := make([]float64, nClass)
	var all []float64
	for r, v := range col.Values {
		if math.IsNaN(v) {
			continue
		}
		n[y[r]]++
		a.Mean[y[r]] += v
		all = append(all, v)
	}
	totalVar := variance(all)
	if len(all) == 0 || totalVar == 0 {
		return a, false, nil
	}
	for k := range a.Mean {
		if n[k] == 0 {
			return a, false, fmt.Errorf("%w: numeric column %q has no value in any row of class %q", ErrInput, col.Name, classes[k])
		}
		a.Mean[k] /= n[k]
	}
	for r, v := range col.Values {
		if math.IsNaN(v) {
			continue
		}
		d := v - a.Mean[y[r]]
		a.Var[y[r]] += d * d
	}
	for k := range a.Var {
		a.Var[k] = a.Var[k]/n[k] + smoothing*totalVar
	}
	return a, true, nil
}

func variance(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return ss / float64(len(x))
}
