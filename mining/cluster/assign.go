package cluster

import (
	"fmt"
	"math"
)

// Model is what a segmentation stores: the scaling of the raw features and
// the centroids in standardised units.
type Model struct {
	Scaling   Scaling     `json:"scaling"`
	Centroids [][]float64 `json:"centroids"`
}

// Check reports a model whose shapes disagree or whose numbers are not
// finite (a damaged knowledge-base row), naming the part.
func (m Model) Check() error {
	d := len(m.Scaling.Mean)
	if d == 0 || len(m.Centroids) == 0 {
		return fmt.Errorf("cluster: model without features or centroids")
	}
	if len(m.Scaling.Scale) != d {
		return fmt.Errorf("cluster: model scaling has %d means and %d scales", d, len(m.Scaling.Scale))
	}
	for j := 0; j < d; j++ {
		if !finite(m.Scaling.Mean[j]) || !finite(m.Scaling.Scale[j]) || m.Scaling.Scale[j] == 0 {
			return fmt.Errorf("cluster: model scaling of feature %s is mean %v scale %v", featureName(m.Scaling.Names, j), m.Scaling.Mean[j], m.Scaling.Scale[j])
		}
	}
	for c, row := range m.Centroids {
		if len(row) != d {
			return fmt.Errorf("cluster: centroid %d has %d values for %d features", c, len(row), d)
		}
		for _, v := range row {
			if !finite(v) {
				return fmt.Errorf("cluster: centroid %d holds %v", c, v)
			}
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Assign returns the segment (0-based centroid index) nearest to one row of
// raw feature values: each value is standardised as (x − mean) / scale, the
// squared distance is summed feature by feature in order, and the first
// centroid wins a tie. AssignSQL computes the same in DuckDB.
func (m Model) Assign(raw []float64) (int, error) {
	if len(raw) != len(m.Scaling.Mean) {
		return 0, fmt.Errorf("cluster: %d values for %d features", len(raw), len(m.Scaling.Mean))
	}
	best, bestD := 0, math.Inf(1)
	for c, cent := range m.Centroids {
		var s float64
		for j, v := range raw {
			t := (v-m.Scaling.Mean[j])/m.Scaling.Scale[j] - cent[j]
			s += float64(t * t) // the conversion forbids a fused multiply-add: SQL rounds t² first
		}
		if s < bestD {
			best, bestD = c, s
		}
	}
	if math.IsNaN(bestD) || math.IsInf(bestD, 0) {
		return 0, fmt.Errorf("cluster: row %v has no finite distance to any centroid", raw)
	}
	return best, nil
}

// AssignColumns assigns every row of raw feature columns (one slice per
// feature), as Assign does for each.
func (m Model) AssignColumns(cols [][]float64) ([]int, error) {
	if len(cols) != len(m.Scaling.Mean) {
		return nil, fmt.Errorf("cluster: %d columns for %d features", len(cols), len(m.Scaling.Mean))
	}
	n := len(cols[0])
	out := make([]int, n)
	row := make([]float64, len(cols))
	for i := 0; i < n; i++ {
		for j, col := range cols {
			if len(col) != n {
				return nil, fmt.Errorf("cluster: feature %s has %d rows, not %d", featureName(m.Scaling.Names, j), len(col), n)
			}
			row[j] = col[i]
		}
		s, err := m.Assign(row)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		out[i] = s
	}
	return out, nil
}
