package evaluate

import (
	"errors"
	"math"
	"testing"
)

// TestPSIByHand: before 1…10 in 5 bins has cut points 3, 5, 7, 9 (ranks 2,
// 4, 6, 8), so bins {1,2} {3,4} {5,6} {7,8} {9,10}, 0.2 each.
func TestPSIByHand(t *testing.T) {
	before := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	same, err := PSI(before, []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5)
	if err != nil || same != 0 {
		t.Errorf("same scores: PSI %v, %v; want 0", same, err)
	}
	// After: 1, 1, 2, 2, 3, 4, 5, 6, 7, 9 → shares 0.4, 0.2, 0.2, 0.1, 0.1.
	got, err := PSI(before, []float64{1, 1, 2, 2, 3, 4, 5, 6, 7, 9}, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.2*math.Log(2) + 0 + 0 + (-0.1)*math.Log(0.5) + (-0.1)*math.Log(0.5)
	if math.Abs(got-want) > 1e-15 {
		t.Errorf("PSI %v, hand %v", got, want)
	}
	// Everything above the top cut: one bin has it all, four are empty.
	got, _ = PSI(before, []float64{20, 30}, 5)
	want = 4*(1e-4-0.2)*math.Log(1e-4/0.2) + (1-0.2)*math.Log(1/0.2)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("shifted PSI %v, hand %v", got, want)
	}
	// Tied before scores merge cut points: all 5s → a single cut → 2 bins.
	got, _ = PSI([]float64{5, 5, 5, 5}, []float64{1, 5}, 4)
	want = (0.5-1e-4)*math.Log(0.5/1e-4) + (0.5-1)*math.Log(0.5)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("tied PSI %v, hand %v", got, want)
	}
	for _, c := range []struct {
		before, after []float64
		bins          int
	}{{nil, before, 5}, {before, nil, 5}, {before, before, 1}, {before, before, 11}, {before, []float64{math.NaN()}, 5}} {
		if _, err := PSI(c.before, c.after, c.bins); !errors.Is(err, ErrInput) {
			t.Errorf("PSI(%v, %v, %d): %v", c.before, c.after, c.bins, err)
		}
	}
}
