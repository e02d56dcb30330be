package mining

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining/evaluate"
)

// ModelDrift is a stored classifier re-validated on new labelled rows:
// its record there and the change from the record it was stored with
// (evaluate.Compare). Changes that are undefined (no AUC on one side) are
// null.
type ModelDrift struct {
	ModelID            int64              `json:"model_id"`
	Kind               string             `json:"kind"`
	Before             TreeMetrics        `json:"before"`
	After              TreeMetrics        `json:"after"`
	AccuracyChange     float64            `json:"accuracy_change"`
	BaselineChange     float64            `json:"baseline_change"`
	PositiveRateChange *float64           `json:"positive_rate_change"`
	AUCChange          *float64           `json:"auc_change"`
	RecallChange       map[string]float64 `json:"recall_change"`
	PrecisionChange    map[string]float64 `json:"precision_change"`
	Z                  float64            `json:"z"`
	PValue             float64            `json:"p_value"`
	Degraded           bool               `json:"degraded"`
}

// EvaluateModel scores the labelled rows of src (the model's feature and
// label columns) with a stored tree or bayes model's SQL in DuckDB,
// evaluates the predictions and compares that with the evaluation stored
// with the model. It writes nothing.
func EvaluateModel(ctx context.Context, w *engine.Warehouse, modelID int64, src Source) (*ModelDrift, error) {
	var kind string
	var params, metrics sql.NullString
	err := w.DB.QueryRowContext(ctx, `SELECT kind, CAST(params AS VARCHAR), CAST(metrics AS VARCHAR) FROM kb_model WHERE model_id = ?`, modelID).Scan(&kind, &params, &metrics)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("evaluate: %w %d in kb_model", ErrNoModel, modelID)
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if kind != "tree" && kind != "bayes" {
		return nil, fmt.Errorf("evaluate: model %d is a %s model; only tree and bayes models are re-evaluated", modelID, kind)
	}
	var p struct {
		classifierParams
		Label string `json:"label"`
	}
	var m struct {
		Evaluation TreeMetrics `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(params.String), &p); err != nil || p.ScoreSQL == "" || p.Label == "" {
		return nil, fmt.Errorf("evaluate: model %d has no scoring SQL or label in its params (%v)", modelID, err)
	}
	if err := json.Unmarshal([]byte(metrics.String), &m); err != nil || m.Evaluation.Confusion == nil {
		return nil, fmt.Errorf("evaluate: model %d has no stored evaluation in its metrics (%v)", modelID, err)
	}
	if strings.TrimSpace(src.Table) == "" {
		return nil, fmt.Errorf("evaluate: no source: give a table or SELECT holding %s and the label %s", strings.Join(p.Features, ", "), p.Label)
	}
	src.Features, src.Label = strings.Join(p.Features, ","), p.Label
	if err := src.require(ctx, w.DB, RoleFeatures, RoleLabel); err != nil {
		return nil, fmt.Errorf("evaluate model %d: %w", modelID, err)
	}
	q := engine.QuoteIdent
	prob := "CAST(NULL AS DOUBLE)"
	if p.ProbabilitySQL != "" {
		prob = "CAST((" + p.ProbabilitySQL + ") AS DOUBLE)"
	}
	rows, err := w.DB.QueryContext(ctx, fmt.Sprintf("SELECT CAST(%s AS VARCHAR), (%s), %s FROM %s AS src WHERE %s IS NOT NULL",
		q(p.Label), p.ScoreSQL, prob, src.relation(), q(p.Label)))
	if err != nil {
		return nil, fmt.Errorf("evaluate model %d: %s: %w", modelID, src.name(), err)
	}
	defer rows.Close()
	var actual, predicted []string
	var scores []float64
	for rows.Next() {
		var a, pr string
		var s sql.NullFloat64
		if err := rows.Scan(&a, &pr, &s); err != nil {
			return nil, fmt.Errorf("evaluate model %d: %w", modelID, err)
		}
		actual, predicted, scores = append(actual, a), append(predicted, pr), append(scores, s.Float64)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("evaluate model %d: %w", modelID, err)
	}
	if len(actual) == 0 {
		return nil, fmt.Errorf("evaluate model %d: %s has no labelled rows", modelID, src.name())
	}
	before := m.Evaluation
	after, err := classifierMetrics(actual, predicted, scores, p.Positive, []string{before.Majority})
	if err != nil {
		return nil, fmt.Errorf("evaluate model %d: %w", modelID, err)
	}
	after.TrainRows = before.TrainRows
	ev := func(t TreeMetrics) *evaluate.Evaluation {
		e := &evaluate.Evaluation{Rows: t.TestRows, Accuracy: t.Accuracy, ErrorRate: t.ErrorRate, Positive: t.Positive, AUC: math.NaN(),
			Baseline: evaluate.Baseline{Class: t.Majority, Accuracy: t.MajorityAccuracy}}
		if t.AUC != nil {
			e.AUC = *t.AUC
		}
		for _, c := range t.PerClass {
			f := func(k string) float64 { v, _ := c[k].(float64); return v }
			cls, _ := c["class"].(string)
			e.PerClass = append(e.PerClass, evaluate.ClassMeasures{Class: cls, Precision: f("precision"), Recall: f("recall"), F1: f("f1")})
		}
		// The positive class's share of the rows, from the confusion matrix (rows actual).
		for i, c := range t.Confusion.Classes {
			if c == t.Positive {
				n := 0
				for _, v := range t.Confusion.Counts[i] {
					n += v
				}
				e.PositiveRate = float64(n) / float64(t.TestRows)
			}
		}
		return e
	}
	d, err := evaluate.Compare(ev(before), ev(after))
	if err != nil {
		return nil, fmt.Errorf("evaluate model %d: %w", modelID, err)
	}
	finite := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return &ModelDrift{ModelID: modelID, Kind: kind, Before: before, After: after, AccuracyChange: d.AccuracyChange,
		BaselineChange: d.BaselineChange, PositiveRateChange: finite(d.PositiveRateChange), AUCChange: finite(d.AUCChange),
		RecallChange: d.RecallChange, PrecisionChange: d.PrecisionChange, Z: d.Z, PValue: d.PValue, Degraded: d.Degraded}, nil
}
