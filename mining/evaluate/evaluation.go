package evaluate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Input is one evaluation's batch: labels of the test rows, the model's
// predictions and, optionally, its score for one class.
type Input struct {
	Actual    []string
	Predicted []string
	// Scores, if set, are the model's score (e.g. posterior) of Positive per
	// row; they give AUC and the gains table.
	Scores   []float64
	Positive string
	// TrainLabels, if set, give the majority-class baseline (the class most
	// frequent in training, predicted for every test row). Without them the
	// baseline takes the test set's own majority, an upper bound for it.
	TrainLabels []string
}

// Baseline is the majority-class prediction's record on the test rows.
type Baseline struct {
	Class     string
	Accuracy  float64
	ErrorRate float64
}

// Evaluation is a model's record on one test set.
type Evaluation struct {
	Rows      int
	Confusion *Confusion
	Accuracy  float64
	ErrorRate float64
	PerClass  []ClassMeasures
	Baseline  Baseline
	// Positive, AUC and Deciles are set when scores were given; AUC is NaN
	// otherwise.
	Positive     string
	PositiveRate float64 // share of test rows whose actual class is Positive
	AUC          float64
	Deciles      []Decile
}

// Evaluate measures predictions (and scores) against the actual labels.
func Evaluate(in Input) (*Evaluation, error) {
	c, err := NewConfusion(in.Actual, in.Predicted, in.TrainLabels...)
	if err != nil {
		return nil, err
	}
	e := &Evaluation{Rows: len(in.Actual), Confusion: c, Accuracy: c.Accuracy(), ErrorRate: c.ErrorRate(),
		PerClass: c.PerClass(), AUC: math.NaN()}
	base := in.TrainLabels
	if base == nil {
		base = in.Actual
	}
	if e.Baseline.Class, err = Majority(base); err != nil {
		return nil, err
	}
	hits := 0
	for _, a := range in.Actual {
		if a == e.Baseline.Class {
			hits++
		}
	}
	e.Baseline.Accuracy = float64(hits) / float64(e.Rows)
	e.Baseline.ErrorRate = 1 - e.Baseline.Accuracy
	if in.Scores == nil {
		return e, nil
	}
	if in.Positive == "" {
		return nil, fmt.Errorf("%w: scores given without the positive class they score", ErrInput)
	}
	e.Positive = in.Positive
	positive := make([]bool, len(in.Actual))
	n := 0
	for i, a := range in.Actual {
		positive[i] = a == in.Positive
		if positive[i] {
			n++
		}
	}
	e.PositiveRate = float64(n) / float64(e.Rows)
	if e.AUC, err = AUC(positive, in.Scores); err != nil {
		return nil, err
	}
	groups := min(10, len(in.Scores))
	if e.Deciles, err = Gains(positive, in.Scores, groups); err != nil {
		return nil, err
	}
	return e, nil
}

// Drift compares a model's evaluation on new data (After) with the one it
// was stored with (Before).
type Drift struct {
	AccuracyBefore, AccuracyAfter float64
	AccuracyChange                float64 // After − Before
	BaselineChange                float64 // change of the majority baseline's accuracy (class balance)
	PositiveRateChange            float64 // change of the positive class's share (NaN without scores)
	AUCChange                     float64 // NaN unless both have scores
	RecallChange                  map[string]float64
	PrecisionChange               map[string]float64
	// Z and PValue test "accuracy unchanged" with a two-sided two-proportion
	// z-test (pooled); Degraded is accuracy down with PValue < 0.05.
	Z, PValue float64
	Degraded  bool
}

// Compare computes the drift from before to after.
func Compare(before, after *Evaluation) (*Drift, error) {
	if before == nil || after == nil || before.Rows == 0 || after.Rows == 0 {
		return nil, fmt.Errorf("%w: drift needs two non-empty evaluations", ErrInput)
	}
	d := &Drift{AccuracyBefore: before.Accuracy, AccuracyAfter: after.Accuracy,
		AccuracyChange:     after.Accuracy - before.Accuracy,
		BaselineChange:     after.Baseline.Accuracy - before.Baseline.Accuracy,
		AUCChange:          after.AUC - before.AUC,
		PositiveRateChange: math.NaN(),
		RecallChange:       map[string]float64{}, PrecisionChange: map[string]float64{}}
	if before.Positive != "" && before.Positive == after.Positive {
		d.PositiveRateChange = after.PositiveRate - before.PositiveRate
	}
	prev := map[string]ClassMeasures{}
	for _, m := range before.PerClass {
		prev[m.Class] = m
	}
	for _, m := range after.PerClass {
		if p, ok := prev[m.Class]; ok {
			d.RecallChange[m.Class] = m.Recall - p.Recall
			d.PrecisionChange[m.Class] = m.Precision - p.Precision
		}
	}
	n1, n2 := float64(before.Rows), float64(after.Rows)
	pool := (before.Accuracy*n1 + after.Accuracy*n2) / (n1 + n2)
	se := math.Sqrt(pool * (1 - pool) * (1/n1 + 1/n2))
	d.PValue = 1
	if se > 0 {
		d.Z = d.AccuracyChange / se
		d.PValue = 2 * distuv.UnitNormal.Survival(math.Abs(d.Z))
	}
	d.Degraded = d.AccuracyChange < 0 && d.PValue < 0.05
	return d, nil
}
