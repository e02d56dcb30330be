package evaluate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows[1:]
}

// TestAgainstScikitLearn: on the seeded fixture cases.csv, the confusion
// matrix, accuracy, per-class precision/recall/F1/support and ROC AUC equal
// scikit-learn 1.2.1's, and the deciles equal those sklearn_metrics.py
// computed with numpy by the documented rule.
func TestAgainstScikitLearn(t *testing.T) {
	var in Input
	for _, r := range readCSV(t, filepath.Join("testdata", "cases.csv")) {
		s, err := strconv.ParseFloat(r[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		in.Actual = append(in.Actual, r[0])
		in.Predicted = append(in.Predicted, r[1])
		in.Scores = append(in.Scores, s)
	}
	ref := map[string]float64{}
	for _, r := range readCSV(t, filepath.Join("testdata", "sklearn_metrics.csv")) {
		if v, err := strconv.ParseFloat(r[1], 64); err == nil {
			ref[r[0]] = v
		}
	}
	get := func(k string) float64 {
		v, ok := ref[k]
		if !ok {
			t.Fatalf("reference has no %q", k)
		}
		return v
	}
	e, err := Evaluate(Input{Actual: in.Actual, Predicted: in.Predicted})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range e.Confusion.Classes {
		for j, p := range e.Confusion.Classes {
			if want := get("confusion_" + a + "_" + p); float64(e.Confusion.Counts[i][j]) != want {
				t.Errorf("confusion[%s][%s] = %d, scikit-learn %v", a, p, e.Confusion.Counts[i][j], want)
			}
		}
	}
	if math.Abs(e.Accuracy-get("accuracy")) > 1e-15 || math.Abs(e.ErrorRate-(1-get("accuracy"))) > 1e-15 {
		t.Errorf("accuracy %v error rate %v, scikit-learn accuracy %v", e.Accuracy, e.ErrorRate, get("accuracy"))
	}
	for _, m := range e.PerClass {
		for _, f := range []struct {
			key string
			got float64
		}{{"precision", m.Precision}, {"recall", m.Recall}, {"f1", m.F1}, {"support", float64(m.Support)}} {
			if want := get(f.key + "_" + m.Class); math.Abs(f.got-want) > 1e-15 {
				t.Errorf("%s of %s = %v, scikit-learn %v", f.key, m.Class, f.got, want)
			}
		}
	}
	// The binary column: positive = "1".
	rows := readCSV(t, filepath.Join("testdata", "cases.csv"))
	positive := make([]bool, len(rows))
	for i, r := range rows {
		positive[i] = r[2] == "1"
	}
	auc, err := AUC(positive, in.Scores)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(auc-get("roc_auc")) > 1e-15 {
		t.Errorf("AUC %v, scikit-learn %v", auc, get("roc_auc"))
	}
	dec, err := Gains(positive, in.Scores, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dec {
		k := fmt.Sprintf("decile%d_", d.Rank)
		if float64(d.Rows) != get(k+"rows") || float64(d.Positives) != get(k+"positives") ||
			math.Abs(d.Gain-get(k+"cum_gain")) > 1e-14 || math.Abs(d.Lift-get(k+"lift")) > 1e-14 ||
			math.Abs(d.CumLift-get(k+"cum_lift")) > 1e-14 {
			t.Errorf("decile %d: %+v, reference rows %v positives %v gain %v lift %v cum lift %v", d.Rank, d,
				get(k+"rows"), get(k+"positives"), get(k+"cum_gain"), get(k+"lift"), get(k+"cum_lift"))
		}
	}
	if dec[9].CumRows != len(rows) || dec[9].Gain != 1 || math.Abs(dec[9].CumLift-1) > 1e-15 {
		t.Errorf("last decile %+v: want all rows, gain 1, cumulative lift 1", dec[9])
	}
}

// TestAUCByHand: ties count one half.
func TestAUCByHand(t *testing.T) {
	cases := []struct {
		pos    []bool
		scores []float64
		want   float64
	}{
		// pairs (0.8>0.5) (0.8>0.2) (0.5=0.5 → ½) (0.5>0.2) → 3.5/4
		{[]bool{true, true, false, false}, []float64{0.8, 0.5, 0.5, 0.2}, 0.875},
		{[]bool{true, false, true, false}, []float64{0.3, 0.3, 0.3, 0.3}, 0.5},
		{[]bool{false, true}, []float64{0.1, 0.9}, 1},
		{[]bool{true, false}, []float64{0.1, 0.9}, 0},
	}
	for _, c := range cases {
		got, err := AUC(c.pos, c.scores)
		if err != nil || math.Abs(got-c.want) > 1e-15 {
			t.Errorf("AUC(%v, %v) = %v, %v; want %v", c.pos, c.scores, got, err, c.want)
		}
	}
}

// TestGainsByHand: 5 rows in 5 groups, 2 positives (rate 0.4).
func TestGainsByHand(t *testing.T) {
	pos := []bool{false, true, false, true, false}
	scores := []float64{0.1, 0.9, 0.5, 0.5, 0.7}
	// Order: 0.9(+), 0.7(−), 0.5(− row 2 first: ties keep input order), 0.5(+), 0.1(−).
	d, err := Gains(pos, scores, 5)
	if err != nil {
		t.Fatal(err)
	}
	wantPos := []int{1, 0, 0, 1, 0}
	wantGain := []float64{0.5, 0.5, 0.5, 1, 1}
	wantLift := []float64{2.5, 0, 0, 2.5, 0}
	wantCum := []float64{2.5, 1.25, 0.5 / 0.4 * 2 / 3, 1.25, 1}
	for i := range d {
		if d[i].Positives != wantPos[i] || d[i].Gain != wantGain[i] || math.Abs(d[i].Lift-wantLift[i]) > 1e-15 ||
			math.Abs(d[i].CumLift-wantCum[i]) > 1e-15 {
			t.Errorf("group %d: %+v; want positives %d gain %v lift %v cum lift %v", i+1, d[i], wantPos[i], wantGain[i], wantLift[i], wantCum[i])
		}
	}
}

// telcoChurn reads the Churn column of the Telco data.
func telcoChurn(t *testing.T) (ids, churn []string) {
	for _, r := range readCSV(t, filepath.Join("..", "testdata", "telco", "Telco-Customer-Churn.csv")) {
		ids = append(ids, r[0])
		churn = append(churn, r[20])
	}
	return ids, churn
}

// TestStratifiedSplit: on Telco churn, 70 % of each class (rounded) trains,
// the sets are disjoint and cover every row, the same seed gives the same
// split and another seed another one; the counts equal the committed split's.
func TestStratifiedSplit(t *testing.T) {
	_, churn := telcoChurn(t)
	s, err := StratifiedSplit(churn, 0.7, 20261201)
	if err != nil {
		t.Fatal(err)
	}
	count := func(rows []int, class string) int {
		n := 0
		for _, r := range rows {
			if churn[r] == class {
				n++
			}
		}
		return n
	}
	// 5,174 No → round(3621.8) = 3622; 1,869 Yes → round(1308.3) = 1308.
	if count(s.Train, "No") != 3622 || count(s.Train, "Yes") != 1308 || len(s.Test) != 7043-4930 {
		t.Errorf("train No %d Yes %d, test %d", count(s.Train, "No"), count(s.Train, "Yes"), len(s.Test))
	}
	committed := map[string]int{}
	for _, r := range readCSV(t, filepath.Join("..", "testdata", "telco", "split_70_30.csv")) {
		committed[r[1]]++
	}
	if committed["train"] != len(s.Train) || committed["test"] != len(s.Test) {
		t.Errorf("sizes %d/%d, committed split %v", len(s.Train), len(s.Test), committed)
	}
	seen := make([]int, len(churn))
	for _, r := range append(append([]int{}, s.Train...), s.Test...) {
		seen[r]++
	}
	for r, n := range seen {
		if n != 1 {
			t.Fatalf("row %d in %d sets", r, n)
		}
	}
	again, _ := StratifiedSplit(churn, 0.7, 20261201)
	other, _ := StratifiedSplit(churn, 0.7, 7)
	if fmt.Sprint(again.Train) != fmt.Sprint(s.Train) {
		t.Error("same seed, different split")
	}
	if fmt.Sprint(other.Train) == fmt.Sprint(s.Train) {
		t.Error("different seed, same split")
	}
	// A class of two rows keeps one on each side even at fraction 0.9.
	small, err := StratifiedSplit([]string{"a", "a", "a", "a", "a", "a", "a", "a", "b", "b"}, 0.9, 1)
	if err != nil || len(small.Test) != 2 {
		t.Errorf("small split %+v, %v; want 1 a and 1 b in test", small, err)
	}
}

// TestMajorityBaseline: Telco's majority class is No with 73.46 %.
func TestMajorityBaseline(t *testing.T) {
	_, churn := telcoChurn(t)
	predicted := make([]string, len(churn))
	for i := range predicted {
		predicted[i] = "No"
	}
	e, err := Evaluate(Input{Actual: churn, Predicted: predicted})
	if err != nil {
		t.Fatal(err)
	}
	if e.Baseline.Class != "No" || math.Round(e.Baseline.Accuracy*10000) != 7346 || e.Accuracy != e.Baseline.Accuracy {
		t.Errorf("baseline %+v, accuracy %v; want No at 73.46 %%", e.Baseline, e.Accuracy)
	}
	// The baseline comes from the training labels when given.
	e, err = Evaluate(Input{Actual: []string{"x", "y", "y"}, Predicted: []string{"x", "x", "y"}, TrainLabels: []string{"x", "x", "y"}})
	if err != nil || e.Baseline.Class != "x" || math.Abs(e.Baseline.Accuracy-1.0/3) > 1e-15 {
		t.Errorf("baseline %+v, %v; want x at 1/3", e.Baseline, err)
	}
}

func TestTimeSplit(t *testing.T) {
	s, err := TimeSplit([]int64{20240105, 20231231, 20240101, 20240301}, 20240101)
	if err != nil || fmt.Sprint(s.Train) != "[1]" || fmt.Sprint(s.Test) != "[0 2 3]" {
		t.Errorf("split %+v, %v", s, err)
	}
	if _, err := TimeSplit([]int64{5, 6}, 1); !errors.Is(err, ErrInput) {
		t.Errorf("empty training side: %v", err)
	}
	if _, err := TimeSplit(nil, 1); !errors.Is(err, ErrInput) {
		t.Errorf("no rows: %v", err)
	}
}

// TestDrift: accuracy 80/100 before and 60/100 after. Pooled p = 0.7,
// se = √(0.7·0.3·(1/100+1/100)), z = −0.2/se, p-value = erfc(|z|/√2).
func TestDrift(t *testing.T) {
	mk := func(correct int, scores bool) *Evaluation {
		var in Input
		for i := 0; i < 100; i++ {
			a := "yes"
			if i%2 == 0 {
				a = "no"
			}
			p := a
			if i >= correct {
				p = map[string]string{"yes": "no", "no": "yes"}[a]
			}
			in.Actual = append(in.Actual, a)
			in.Predicted = append(in.Predicted, p)
			if scores {
				s := 0.2
				if p == "yes" {
					s = 0.8
				}
				in.Scores = append(in.Scores, s)
			}
		}
		if scores {
			in.Positive = "yes"
		}
		e, err := Evaluate(in)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	d, err := Compare(mk(80, true), mk(60, true))
	if err != nil {
		t.Fatal(err)
	}
	se := math.Sqrt(0.7 * 0.3 * 0.02)
	z := -0.2 / se
	if math.Abs(d.AccuracyChange+0.2) > 1e-15 || math.Abs(d.Z-z) > 1e-12 || math.Abs(d.PValue-math.Erfc(math.Abs(z)/math.Sqrt2)) > 1e-12 || !d.Degraded {
		t.Errorf("drift %+v; want change −0.2, z %v, p %v, degraded", d, z, math.Erfc(math.Abs(z)/math.Sqrt2))
	}
	// AUC equals accuracy here (scores are the predictions, balanced classes).
	if math.Abs(d.AUCChange+0.2) > 1e-12 || d.PositiveRateChange != 0 {
		t.Errorf("AUC change %v, positive rate change %v", d.AUCChange, d.PositiveRateChange)
	}
	same, _ := Compare(mk(80, false), mk(80, false))
	if same.Z != 0 || same.PValue != 1 || same.Degraded || !math.IsNaN(same.AUCChange) {
		t.Errorf("no drift: %+v", same)
	}
	if _, err := Compare(nil, mk(80, false)); !errors.Is(err, ErrInput) {
		t.Errorf("nil evaluation: %v", err)
	}
}

// TestDegenerate: empty, mismatched, one-class, NaN and parameter errors.
func TestDegenerate(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"no rows", second(Evaluate(Input{})), "no rows"},
		{"length mismatch", second(Evaluate(Input{Actual: []string{"a"}, Predicted: []string{"a", "b"}})), "1 actual labels but 2"},
		{"empty label", second(Evaluate(Input{Actual: []string{"a", ""}, Predicted: []string{"a", "a"}})), "row 1"},
		{"scores without positive", second(Evaluate(Input{Actual: []string{"a", "b"}, Predicted: []string{"a", "a"}, Scores: []float64{1, 0}})), "positive class"},
		{"one class AUC", second(AUC([]bool{true, true}, []float64{0.1, 0.2})), "both classes"},
		{"NaN score", second(AUC([]bool{true, false}, []float64{math.NaN(), 0.2})), "row 0 is NaN"},
		{"no positives for gains", second(Gains([]bool{false, false}, []float64{0.1, 0.2}, 2)), "no positive"},
		{"more groups than rows", second(Gains([]bool{true, false}, []float64{0.1, 0.2}, 10)), "10 groups for 2 rows"},
		{"split of one row", second(StratifiedSplit([]string{"a"}, 0.7, 1)), "need at least 2"},
		{"split fraction 1", second(StratifiedSplit([]string{"a", "b"}, 1, 1)), "train fraction"},
		{"split unlabelled", second(StratifiedSplit([]string{"a", ""}, 0.5, 1)), "row 1 has no label"},
		{"majority of nothing", second(Majority(nil)), "no labels"},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrInput) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrInput naming %q", c.name, c.err, c.want)
		}
	}
	// One class throughout is legal for the confusion matrix: accuracy 1.
	e, err := Evaluate(Input{Actual: []string{"a", "a"}, Predicted: []string{"a", "a"}})
	if err != nil || e.Accuracy != 1 || e.PerClass[0].F1 != 1 {
		t.Errorf("one class: %+v, %v", e, err)
	}
}

func second[T any](_ T, err error) error { return err }
