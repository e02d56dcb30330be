package bayes

import (
	"math"
	"testing"

	"github.com/ckm-dev/ckm/mining/evaluate"
)

// TestTelcoEvaluation runs the process's measuring step on the Telco test
// set: mining/evaluate's confusion matrix, precision/recall/F1 and AUC of the
// Go model's predictions equal scikit-learn's for its (equal) predictions,
// and the model beats the majority baseline from the training labels.
func TestTelcoEvaluation(t *testing.T) {
	train, test := telco(t)
	m, err := Train(train.cols, train.churn, Options{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Score(test.cols)
	if err != nil {
		t.Fatal(err)
	}
	pYes := make([]float64, len(s.Posterior))
	for r, p := range s.Posterior {
		pYes[r] = p[1]
	}
	e, err := evaluate.Evaluate(evaluate.Input{Actual: test.churn, Predicted: s.Predicted,
		Scores: pYes, Positive: "Yes", TrainLabels: train.churn})
	if err != nil {
		t.Fatal(err)
	}
	ref := summary(t)
	for i, a := range e.Confusion.Classes {
		for j, p := range e.Confusion.Classes {
			if want := ref["confusion_"+a+"_"+p]; float64(e.Confusion.Counts[i][j]) != want {
				t.Errorf("confusion[%s][%s] = %d, scikit-learn %v", a, p, e.Confusion.Counts[i][j], want)
			}
		}
	}
	for _, c := range e.PerClass {
		if math.Abs(c.Precision-ref["precision_"+c.Class]) > 1e-15 || math.Abs(c.Recall-ref["recall_"+c.Class]) > 1e-15 ||
			math.Abs(c.F1-ref["f1_"+c.Class]) > 1e-15 {
			t.Errorf("%s: %+v, scikit-learn P %v R %v F1 %v", c.Class, c, ref["precision_"+c.Class], ref["recall_"+c.Class], ref["f1_"+c.Class])
		}
	}
	// Posteriors agree to ~1e-14, so only near-equal scores could swap order.
	if math.Abs(e.AUC-ref["test_roc_auc_yes"]) > 1e-9 {
		t.Errorf("AUC %v, scikit-learn %v", e.AUC, ref["test_roc_auc_yes"])
	}
	if e.Baseline.Class != "No" || math.Abs(e.Baseline.Accuracy-ref["majority_baseline"]) > 1e-15 || e.Accuracy <= e.Baseline.Accuracy {
		t.Errorf("accuracy %v, baseline %+v (scikit-learn baseline %v)", e.Accuracy, e.Baseline, ref["majority_baseline"])
	}
	t.Logf("Telco test: accuracy %.4f vs majority baseline %.4f (%s); AUC %.4f; top-decile lift %.2f, gain %.3f",
		e.Accuracy, e.Baseline.Accuracy, e.Baseline.Class, e.AUC, e.Deciles[0].Lift, e.Deciles[0].Gain)
	if e.Deciles[0].Lift <= 1 {
		t.Errorf("top decile lift %v, a useful model lifts above 1", e.Deciles[0].Lift)
	}
}
