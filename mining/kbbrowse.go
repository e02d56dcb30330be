package mining

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// ModelInfo is one model of the knowledge base with its lineage: the data
// version it saw, the ETL runs whose rows it read, and whether data loaded
// or restated since makes it stale.
type ModelInfo struct {
	ModelID     int64     `json:"model_id"`
	Kind        string    `json:"kind"`
	Name        string    `json:"name"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	DataVersion int64     `json:"data_version"`
	ETLRuns     string    `json:"etl_runs"`
	Stale       bool      `json:"stale"`
	Restated    bool      `json:"restated"`
}

const modelInfoSQL = `SELECT m.model_id, coalesce(m.kind, ''), coalesce(m.name, ''), coalesce(m.status, ''), m.created_at,
    coalesce(m.data_version, 0), coalesce(m.etl_runs, ''), coalesce(s.stale, false), coalesce(s.restated, false)
FROM kb_model m LEFT JOIN kb_model_status s ON s.model_id = m.model_id`

func scanModelInfo(sc interface{ Scan(...any) error }) (ModelInfo, error) {
	var m ModelInfo
	var created *time.Time
	err := sc.Scan(&m.ModelID, &m.Kind, &m.Name, &m.Status, &created, &m.DataVersion, &m.ETLRuns, &m.Stale, &m.Restated)
	if created != nil {
		m.CreatedAt = *created
	}
	return m, err
}

// ListModels returns the models of the knowledge base, newest first, of
// one kind when kind is not "".
func ListModels(ctx context.Context, w *engine.Warehouse, kind string) ([]ModelInfo, error) {
	rows, err := w.DB.QueryContext(ctx, modelInfoSQL+` WHERE ? = '' OR m.kind = ? ORDER BY m.model_id DESC`, kind, kind)
	if err != nil {
		return nil, fmt.Errorf("kb list: %w", err)
	}
	defer rows.Close()
	var out []ModelInfo
	for rows.Next() {
		m, err := scanModelInfo(rows)
		if err != nil {
			return nil, fmt.Errorf("kb list: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ModelDetail is one model with its parameters, metrics, lineage, the
// knowledge rows it wrote per table, and a look at them: the top rules (by
// lift), the segments, and a summary of the customer scores.
type ModelDetail struct {
	ModelInfo
	Params    json.RawMessage  `json:"params"`
	Metrics   json.RawMessage  `json:"metrics"`
	Knowledge map[string]int64 `json:"knowledge_rows"`
	TopRules  []Rule           `json:"top_rules,omitempty"`
	Segments  []SegmentRow     `json:"segments,omitempty"`
	Scores    []ScoreSummary   `json:"scores,omitempty"`
}

// SegmentRow is one kb_segment row of a model.
type SegmentRow struct {
	SegmentID int     `json:"segment_id"`
	Label     string  `json:"label"`
	Size      int64   `json:"size"`
	Share     float64 `json:"share"`
}

// ScoreSummary is one metric of a model's customer scores.
type ScoreSummary struct {
	Metric    string   `json:"metric"`
	Customers int64    `json:"customers"`
	Mean      *float64 `json:"mean"`
	Min       *float64 `json:"min"`
	Max       *float64 `json:"max"`
}

// ErrNoModel is returned (wrapped) for a model id not in kb_model.
var ErrNoModel = errors.New("no such model")

// knowledgeTables are the tables a model's knowledge rows live in.
var knowledgeTables = []string{"kb_customer_score", "kb_rule", "kb_recommendation", "kb_segment", "kb_customer_segment", "kb_forecast"}

// ShowModel returns model id with its top rules (at most top) and the
// summaries of its other knowledge.
func ShowModel(ctx context.Context, w *engine.Warehouse, id int64, top int) (*ModelDetail, error) {
	m, err := scanModelInfo(w.DB.QueryRowContext(ctx, modelInfoSQL+` WHERE m.model_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("kb show: %w %d in kb_model (see ckm kb list)", ErrNoModel, id)
	}
	if err != nil {
		return nil, fmt.Errorf("kb show: %w", err)
	}
	d := &ModelDetail{ModelInfo: m, Knowledge: map[string]int64{}}
	var params, metrics *string
	if err := w.DB.QueryRowContext(ctx, `SELECT CAST(params AS VARCHAR), CAST(metrics AS VARCHAR) FROM kb_model WHERE model_id = ?`, id).Scan(&params, &metrics); err != nil {
		return nil, fmt.Errorf("kb show: %w", err)
	}
	d.Params, d.Metrics = rawJSON(params), rawJSON(metrics)
	for _, t := range knowledgeTables {
		var n int64
		if err := w.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+t+" WHERE model_id = ?", id).Scan(&n); err != nil {
			return nil, fmt.Errorf("kb show: %s: %w", t, err)
		}
		if n > 0 {
			d.Knowledge[t] = n
		}
	}
	if d.Knowledge["kb_rule"] > 0 && top > 0 {
		if d.TopRules, err = storedRules(ctx, w, id, top); err != nil {
			return nil, fmt.Errorf("kb show: %w", err)
		}
	}
	if d.Knowledge["kb_segment"] > 0 {
		if d.Segments, err = storedSegments(ctx, w, id); err != nil {
			return nil, fmt.Errorf("kb show: %w", err)
		}
	}
	if d.Knowledge["kb_customer_score"] > 0 {
		if d.Scores, err = scoreSummaries(ctx, w, id); err != nil {
			return nil, fmt.Errorf("kb show: %w", err)
		}
	}
	return d, nil
}

func rawJSON(s *string) json.RawMessage {
	if s == nil || !json.Valid([]byte(*s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(*s)
}

// storedRules reads a model's rules by lift, confidence and support.
func storedRules(ctx context.Context, w *engine.Warehouse, id int64, top int) ([]Rule, error) {
	rows, err := w.DB.QueryContext(ctx, `SELECT rule_id, antecedent, consequent, coalesce(support, 0), coalesce(confidence, 0), coalesce(lift, 0),
            coalesce(leverage, 0), conviction, coalesce(count, 0), coalesce(antecedent_count, 0), coalesce(consequent_count, 0)
        FROM kb_rule WHERE model_id = ? ORDER BY lift DESC NULLS LAST, confidence DESC NULLS LAST, support DESC NULLS LAST, rule_id LIMIT ?`, id, top)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		var r Rule
		var ante []any
		var conv *float64
		if err := rows.Scan(&r.ID, &ante, &r.Consequent, &r.Support, &r.Confidence, &r.Lift, &r.Leverage, &conv, &r.Count, &r.AntecedentCount, &r.ConsequentCount); err != nil {
			return nil, err
		}
		for _, a := range ante {
			r.Antecedent = append(r.Antecedent, fmt.Sprint(a))
		}
		if conv != nil && !math.IsInf(*conv, 0) {
			r.Conviction = conv
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func storedSegments(ctx context.Context, w *engine.Warehouse, id int64) ([]SegmentRow, error) {
	rows, err := w.DB.QueryContext(ctx, `SELECT segment_id, coalesce(label, ''), coalesce(size, 0),
            coalesce(size / nullif(sum(size) OVER (), 0), 0) FROM kb_segment WHERE model_id = ? ORDER BY segment_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SegmentRow
	for rows.Next() {
		var s SegmentRow
		if err := rows.Scan(&s.SegmentID, &s.Label, &s.Size, &s.Share); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func scoreSummaries(ctx context.Context, w *engine.Warehouse, id int64) ([]ScoreSummary, error) {
	rows, err := w.DB.QueryContext(ctx, `SELECT metric, count(DISTINCT customer_id), avg(value), min(value), max(value)
        FROM kb_customer_score WHERE model_id = ? GROUP BY metric ORDER BY metric`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ScoreSummary
	for rows.Next() {
		var s ScoreSummary
		if err := rows.Scan(&s.Metric, &s.Customers, &s.Mean, &s.Min, &s.Max); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
