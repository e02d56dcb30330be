package etl

import "testing"

// TestScorePairs checks pairwise precision and recall against a hand count.
func TestScorePairs(t *testing.T) {
	// Records 0-4: predicted groups {0,1,2} {3,4}, true {0,1} {2,3,4}.
	// Predicted pairs 3+1 = 4, true pairs 1+3 = 4, correct (0,1) and (3,4).
	pred := []int64{1, 1, 1, 2, 2, 0}
	truth := []int64{1, 1, 2, 2, 2, 2} // record 5 has no prediction: left out
	s := ScorePairs(pred, truth, nil)
	if s.PredictedPairs != 4 || s.TruePairs != 4 || s.CorrectPairs != 2 || s.Precision != 0.5 || s.Recall != 0.5 || s.Records != 5 {
		t.Errorf("all: %+v", s)
	}
	// Pairs touching record 0: predicted (0,1) (0,2), true (0,1), correct (0,1).
	s = ScorePairs(pred, truth, func(i int) bool { return i == 0 })
	if s.PredictedPairs != 2 || s.TruePairs != 1 || s.CorrectPairs != 1 || s.Precision != 0.5 || s.Recall != 1 {
		t.Errorf("touching record 0: %+v", s)
	}
	// Nothing predicted together: precision is 1 by definition, recall 0.
	s = ScorePairs([]int64{1, 2}, []int64{1, 1}, nil)
	if s.Precision != 1 || s.Recall != 0 {
		t.Errorf("singletons: %+v", s)
	}
}

// TestLinkAnyKey: records chain through any shared key, transitively.
func TestLinkAnyKey(t *testing.T) {
	recs := []IdentityRecord{
		{Card: "M1"},
		{Card: "M1", Mobile: "+8613800000001"},
		{Mobile: "+8613800000001", Email: "a@x.cn"},
		{Email: "a@x.cn"},
		{IDNumber: "110105194912310021"},
		{},
	}
	g := LinkAnyKey(recs)
	if g[0] == 0 || g[0] != g[1] || g[1] != g[2] || g[2] != g[3] || g[4] == g[0] || g[4] == 0 || g[5] != 0 {
		t.Errorf("groups %v", g)
	}
}
