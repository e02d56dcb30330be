package cluster

import (
	"errors"
	"fmt"
	"math"
)

// ErrEmpty is returned for data without rows or without features.
var ErrEmpty = errors.New("cluster: no rows or no features")

// Matrix is a dense row-major table of float64: row i is
// Data[i*Cols : (i+1)*Cols].
type Matrix struct {
	Rows, Cols int
	Data       []float64
}

// Row returns row i as a slice of the matrix's backing array.
func (m Matrix) Row(i int) []float64 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// NewMatrix checks that data holds rows×cols finite values and wraps it.
func NewMatrix(rows, cols int, data []float64) (Matrix, error) {
	if rows <= 0 || cols <= 0 {
		return Matrix{}, ErrEmpty
	}
	if len(data) != rows*cols {
		return Matrix{}, fmt.Errorf("cluster: %d values for %d rows × %d features", len(data), rows, cols)
	}
	for i, v := range data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Matrix{}, fmt.Errorf("cluster: row %d feature %d is %v (drop or impute it first)", i/cols, i%cols, v)
		}
	}
	return Matrix{Rows: rows, Cols: cols, Data: data}, nil
}

// FromColumns builds a matrix from feature columns of equal length, one
// slice per feature, rejecting NaN and ±Inf by row and feature.
func FromColumns(names []string, cols [][]float64) (Matrix, error) {
	if len(cols) == 0 || len(cols[0]) == 0 {
		return Matrix{}, ErrEmpty
	}
	n, d := len(cols[0]), len(cols)
	data := make([]float64, n*d)
	for j, col := range cols {
		if len(col) != n {
			return Matrix{}, fmt.Errorf("cluster: feature %s has %d rows, feature %s has %d", featureName(names, j), len(col), featureName(names, 0), n)
		}
		for i, v := range col {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Matrix{}, fmt.Errorf("cluster: feature %s row %d is %v (drop or impute it first)", featureName(names, j), i, v)
			}
			data[i*d+j] = v
		}
	}
	return Matrix{Rows: n, Cols: d, Data: data}, nil
}

func featureName(names []string, j int) string {
	if j < len(names) && names[j] != "" {
		return fmt.Sprintf("%q", names[j])
	}
	return fmt.Sprintf("#%d", j)
}

// sqDist is the squared Euclidean distance, summed feature by feature in
// order: Assign and the SQL expression use exactly this order.
func sqDist(a, b []float64) float64 {
	var s float64
	for j := range a {
		t := a[j] - b[j]
		s += t * t
	}
	return s
}
