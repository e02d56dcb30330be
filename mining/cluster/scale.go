package cluster

import (
	"fmt"
	"math"
)

// Scaling is a z-score standardisation: z = (x − Mean) / Scale per feature,
// with Scale the population standard deviation (ddof 0, as scikit-learn's
// StandardScaler). It is stored with a model so new rows are scaled alike.
type Scaling struct {
	Names []string  `json:"names,omitempty"`
	Mean  []float64 `json:"mean"`
	Scale []float64 `json:"scale"`
}

// Standardize computes the scaling of x and returns the standardised copy.
// A constant feature (standard deviation 0) is an error naming it: it
// carries no information for distances and cannot be scaled.
func Standardize(x Matrix, names []string) (Matrix, Scaling, error) {
	if x.Rows == 0 || x.Cols == 0 {
		return Matrix{}, Scaling{}, ErrEmpty
	}
	d := x.Cols
	mean := make([]float64, d)
	for i := 0; i < x.Rows; i++ {
		for j, v := range x.Row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(x.Rows)
	}
	scale := make([]float64, d)
	for i := 0; i < x.Rows; i++ {
		for j, v := range x.Row(i) {
			t := v - mean[j]
			scale[j] += t * t
		}
	}
	for j := range scale {
		scale[j] = math.Sqrt(scale[j] / float64(x.Rows))
		if !(scale[j] > 0) || math.IsInf(scale[j], 0) {
			return Matrix{}, Scaling{}, fmt.Errorf("cluster: feature %s is constant (standard deviation %v): drop it", featureName(names, j), scale[j])
		}
	}
	s := Scaling{Names: names, Mean: mean, Scale: scale}
	return s.Apply(x), s, nil
}

// Apply standardises every row of x with the stored scaling.
func (s Scaling) Apply(x Matrix) Matrix {
	out := Matrix{Rows: x.Rows, Cols: x.Cols, Data: make([]float64, len(x.Data))}
	for i := 0; i < x.Rows; i++ {
		s.applyRow(out.Row(i), x.Row(i))
	}
	return out
}

func (s Scaling) applyRow(dst, row []float64) {
	for j, v := range row {
		dst[j] = (v - s.Mean[j]) / s.Scale[j]
	}
}

// Unscale maps a standardised point (a centroid) back to raw units.
func (s Scaling) Unscale(z []float64) []float64 {
	out := make([]float64, len(z))
	for j, v := range z {
		out[j] = v*s.Scale[j] + s.Mean[j]
	}
	return out
}
