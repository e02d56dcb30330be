package cluster

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Profile describes one segment for a marketer.
type Profile struct {
	Segment int     `json:"segment"`
	Size    int     `json:"size"`
	Share   float64 `json:"share"` // of all rows
	// Means are the segment's feature means in raw units; Z the same in
	// standard deviations from the overall mean.
	Means []float64 `json:"means"`
	Z     []float64 `json:"z"`
	// ValueShare is the segment's share of the value column's total
	// (revenue, CLV); NaN when no value column was given or it sums to 0.
	ValueShare float64 `json:"value_share"`
	Label      string  `json:"label"`
}

// LabelThreshold is how far (in standard deviations) a segment's mean must
// lie from the overall mean for the label to call the feature high or low.
const LabelThreshold = 0.5

// Profiles summarises segments 0..k−1 of raw (unstandardised) rows: size,
// share, raw and standardised feature means, share of value (optional, one
// value per row), and a label naming up to two features that lie furthest
// from the overall mean, e.g. "high monetary, low recency" ("average" when
// none is LabelThreshold away).
func Profiles(raw Matrix, s Scaling, labels []int, k int, value []float64) ([]Profile, error) {
	if raw.Rows == 0 {
		return nil, ErrEmpty
	}
	if len(labels) != raw.Rows {
		return nil, fmt.Errorf("cluster: %d labels for %d rows", len(labels), raw.Rows)
	}
	if value != nil && len(value) != raw.Rows {
		return nil, fmt.Errorf("cluster: %d values for %d rows", len(value), raw.Rows)
	}
	if len(s.Mean) != raw.Cols || len(s.Scale) != raw.Cols {
		return nil, fmt.Errorf("cluster: scaling for %d features, data has %d", len(s.Mean), raw.Cols)
	}
	out := make([]Profile, k)
	var totalValue float64
	for c := range out {
		out[c] = Profile{Segment: c, Means: make([]float64, raw.Cols), Z: make([]float64, raw.Cols)}
	}
	valueBy := make([]float64, k)
	for i, l := range labels {
		if l < 0 || l >= k {
			return nil, fmt.Errorf("cluster: row %d has segment %d outside 0..%d", i, l, k-1)
		}
		out[l].Size++
		for j, v := range raw.Row(i) {
			out[l].Means[j] += v
		}
		if value != nil {
			if !finite(value[i]) {
				return nil, fmt.Errorf("cluster: value of row %d is %v", i, value[i])
			}
			valueBy[l] += value[i]
			totalValue += value[i]
		}
	}
	for c := range out {
		p := &out[c]
		p.Share = float64(p.Size) / float64(raw.Rows)
		p.ValueShare = math.NaN()
		if value != nil && totalValue != 0 {
			p.ValueShare = valueBy[c] / totalValue
		}
		if p.Size == 0 {
			p.Label = "empty"
			continue
		}
		for j := range p.Means {
			p.Means[j] /= float64(p.Size)
			p.Z[j] = (p.Means[j] - s.Mean[j]) / s.Scale[j]
		}
		p.Label = label(p.Z, s.Names)
	}
	return out, nil
}

func label(z []float64, names []string) string {
	order := make([]int, len(z))
	for j := range order {
		order[j] = j
	}
	sort.SliceStable(order, func(a, b int) bool { return math.Abs(z[order[a]]) > math.Abs(z[order[b]]) })
	var parts []string
	for _, j := range order {
		if len(parts) == 2 || math.Abs(z[j]) < LabelThreshold {
			break
		}
		name := fmt.Sprintf("feature %d", j)
		if j < len(names) && names[j] != "" {
			name = names[j]
		}
		level := "high"
		if z[j] < 0 {
			level = "low"
		}
		parts = append(parts, level+" "+name)
	}
	if len(parts) == 0 {
		return "average"
	}
	return strings.Join(parts, ", ")
}
