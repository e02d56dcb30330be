// Package evaluate owns the measuring half of the mining process: seeded
// stratified and time-based train/test splits, the confusion matrix and the
// measures read from it (accuracy, error rate, per-class precision, recall
// and F1), ROC AUC, gains and lift by decile, the majority-class baseline
// beside them, the drift between two evaluations of one model, and the
// population stability index of its scores (drift seen before labels arrive).
//
// Everything works on column batches (label and score slices) and returns
// plain values; storing them with the model is the mining framework's job.
package evaluate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// ErrInput is wrapped by every error about the labels, scores or parameters.
var ErrInput = errors.New("evaluate: bad input")

// Split holds row indexes (into the caller's batch) of the training and test
// sets, each in ascending order.
type Split struct {
	Train []int
	Test  []int
}

// StratifiedSplit assigns round(trainFraction·n_c) rows of each class c
// (half away from zero) to training and the rest to test, choosing them by a
// shuffle seeded with seed (PCG, math/rand/v2): classes are taken in sorted
// order, each class's rows in input order before its shuffle, so the split
// depends only on the labels, the fraction and the seed. Every class with at
// least two rows gets at least one row on each side when the fraction is in
// (0, 1). An empty label is an error (label the row or drop it first).
func StratifiedSplit(labels []string, trainFraction float64, seed uint64) (Split, error) {
	if len(labels) < 2 {
		return Split{}, fmt.Errorf("%w: %d rows, need at least 2 to split", ErrInput, len(labels))
	}
	if !(trainFraction > 0 && trainFraction < 1) {
		return Split{}, fmt.Errorf("%w: train fraction %v, must be in (0, 1)", ErrInput, trainFraction)
	}
	byClass := map[string][]int{}
	for i, l := range labels {
		if l == "" {
			return Split{}, fmt.Errorf("%w: row %d has no label", ErrInput, i)
		}
		byClass[l] = append(byClass[l], i)
	}
	classes := make([]string, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var s Split
	for _, c := range classes {
		rows := byClass[c]
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		k := int(math.Round(trainFraction * float64(len(rows))))
		if len(rows) >= 2 {
			k = max(1, min(k, len(rows)-1))
		}
		s.Train = append(s.Train, rows[:k]...)
		s.Test = append(s.Test, rows[k:]...)
	}
	sort.Ints(s.Train)
	sort.Ints(s.Test)
	return s, nil
}

// TimeSplit puts rows with time < cutoff in training and the others in test
// (time in any monotone unit: Unix seconds, yyyymmdd, day numbers). Either
// side empty is an error: a time split must leave something to learn from
// and something to test.
func TimeSplit(times []int64, cutoff int64) (Split, error) {
	var s Split
	for i, t := range times {
		if t < cutoff {
			s.Train = append(s.Train, i)
		} else {
			s.Test = append(s.Test, i)
		}
	}
	if len(s.Train) == 0 || len(s.Test) == 0 {
		return Split{}, fmt.Errorf("%w: cutoff %d leaves %d training and %d test rows of %d", ErrInput, cutoff, len(s.Train), len(s.Test), len(times))
	}
	return s, nil
}
