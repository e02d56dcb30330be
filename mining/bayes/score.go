package bayes

import (
	"fmt"
	"math"
)

// Scores are the posteriors of a scored batch.
type Scores struct {
	Classes []string
	// Posterior[r][k] is P(Classes[k] | row r); each row sums to 1.
	Posterior [][]float64
	// Joint[r][k] is log P(Classes[k]) + Σ log P(x_j | Classes[k]) over the
	// row's present, seen attribute values (the unnormalised posterior).
	Joint [][]float64
	// Predicted[r] is the class with the largest posterior (ties: first class).
	Predicted []string
	// Unseen[j] counts the rows whose value of categorical attribute j was not
	// seen in training (left out of their product, like a missing value).
	Unseen map[string]int
}

// Score computes posteriors for every row of the batch. Columns are matched
// to the model's attributes by name; extra columns are ignored, a missing
// one is an error. With α = 0 a row whose every class has a zero likelihood
// has no posterior and is an error naming the row.
func (m *Model) Score(cols []Column) (*Scores, error) {
	byName := map[string]Column{}
	n := -1
	for _, c := range cols {
		byName[c.Name] = c
	}
	use := make([]Column, len(m.Attributes))
	for j, a := range m.Attributes {
		c, ok := byName[a.Name]
		if !ok {
			return nil, fmt.Errorf("%w: scoring batch has no column %q", ErrInput, a.Name)
		}
		if c.numeric() != a.Numeric {
			return nil, fmt.Errorf("%w: column %q is %s in the batch but %s in the model", ErrInput, a.Name, kind(c.numeric()), kind(a.Numeric))
		}
		if n >= 0 && c.len() != n {
			return nil, fmt.Errorf("%w: column %q has %d rows, others %d", ErrInput, a.Name, c.len(), n)
		}
		n = c.len()
		use[j] = c
	}
	if n < 0 { // every attribute was dropped: the posterior is the prior
		n = 0
		if len(cols) > 0 {
			n = cols[0].len()
		}
	}
	s := &Scores{Classes: m.Classes, Unseen: map[string]int{},
		Posterior: make([][]float64, n), Joint: make([][]float64, n), Predicted: make([]string, n)}
	lookup := make([]map[string]int, len(m.Attributes))
	for j, a := range m.Attributes {
		if !a.Numeric {
			lookup[j] = make(map[string]int, len(a.Categories))
			for i, v := range a.Categories {
				lookup[j][v] = i
			}
		}
	}
	K := len(m.Classes)
	for r := 0; r < n; r++ {
		joint := append([]float64(nil), m.LogPrior...)
		for j, a := range m.Attributes {
			if a.Numeric {
				x := use[j].Values[r]
				if math.IsNaN(x) {
					continue
				}
				if math.IsInf(x, 0) {
					return nil, fmt.Errorf("%w: column %q row %d is %v", ErrInput, a.Name, r, x)
				}
				for k := 0; k < K; k++ {
					joint[k] += gaussLog(x, a.Mean[k], a.Var[k])
				}
				continue
			}
			v := use[j].Categories[r]
			if v == "" {
				continue
			}
			i, ok := lookup[j][v]
			if !ok {
				s.Unseen[a.Name]++
				continue
			}
			for k := 0; k < K; k++ {
				joint[k] += a.LogLik[k][i]
			}
		}
		post, err := normalise(joint)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d: %v", ErrInput, r, err)
		}
		s.Joint[r], s.Posterior[r] = joint, post
		best := 0
		for k := range post {
			if post[k] > post[best] {
				best = k
			}
		}
		s.Predicted[r] = m.Classes[best]
	}
	return s, nil
}

func kind(numeric bool) string {
	if numeric {
		return "numeric"
	}
	return "categorical"
}

// gaussLog is the log density of N(mean, variance) at x.
func gaussLog(x, mean, variance float64) float64 {
	d := x - mean
	return -0.5*math.Log(2*math.Pi*variance) - d*d/(2*variance)
}

// normalise turns joint log-likelihoods into posteriors (log-sum-exp).
func normalise(joint []float64) ([]float64, error) {
	max := math.Inf(-1)
	for _, v := range joint {
		if v > max {
			max = v
		}
	}
	if math.IsInf(max, -1) {
		return nil, fmt.Errorf("every class has likelihood 0 (a value never seen with any class and α = 0); train with α > 0")
	}
	post := make([]float64, len(joint))
	var sum float64
	for k, v := range joint {
		post[k] = math.Exp(v - max)
		sum += post[k]
	}
	for k := range post {
		post[k] /= sum
	}
	return post, nil
}
