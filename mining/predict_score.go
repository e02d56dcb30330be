package mining

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// ScoreResult holds the rows a stored classifier scored: the id column
// (when the model has one and the source holds it), the predicted class and
// the probability of the model's positive class.
type ScoreResult struct {
	ModelID  int64    `json:"model_id"`
	Kind     string   `json:"kind"`
	Positive string   `json:"positive"`
	Columns  []string `json:"columns"`
	Rows     [][]any  `json:"rows"`
}

// classifierParams are the parts of a tree or bayes model's params that
// scoring needs.
type classifierParams struct {
	ID             string   `json:"id"`
	Features       []string `json:"features"`
	Positive       string   `json:"positive"`
	ScoreSQL       string   `json:"score_sql"`
	ProbabilitySQL string   `json:"probability_sql"`
}

// ScoreModel scores the rows of src in DuckDB with the scoring SQL stored
// with a tree or bayes model (the source must hold the model's feature
// columns, named as when it was trained).
func ScoreModel(ctx context.Context, w *engine.Warehouse, modelID int64, src Source) (*ScoreResult, error) {
	var kind string
	var params sql.NullString
	err := w.DB.QueryRowContext(ctx, `SELECT kind, CAST(params AS VARCHAR) FROM kb_model WHERE model_id = ?`, modelID).Scan(&kind, &params)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("score: %w %d in kb_model", ErrNoModel, modelID)
	}
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	if kind != "tree" && kind != "bayes" {
		return nil, fmt.Errorf("score: model %d is a %s model; only tree and bayes models score rows", modelID, kind)
	}
	var p classifierParams
	if err := json.Unmarshal([]byte(params.String), &p); err != nil || p.ScoreSQL == "" || len(p.Features) == 0 {
		return nil, fmt.Errorf("score: model %d has no scoring SQL in its params (%v)", modelID, err)
	}
	if strings.TrimSpace(src.Table) == "" {
		return nil, fmt.Errorf("score: no source: give a table or SELECT holding the columns %s", strings.Join(p.Features, ", "))
	}
	src.Features = strings.Join(p.Features, ",")
	if err := src.require(ctx, w.DB, RoleFeatures); err != nil {
		return nil, fmt.Errorf("score with model %d: %w", modelID, err)
	}
	res := &ScoreResult{ModelID: modelID, Kind: kind, Positive: p.Positive}
	cols := []string{}
	if p.ID != "" {
		if hasColumn(ctx, w.DB, src, p.ID) {
			cols = append(cols, engine.QuoteIdent(p.ID))
			res.Columns = append(res.Columns, p.ID)
		}
	}
	cols = append(cols, "("+p.ScoreSQL+") AS prediction")
	res.Columns = append(res.Columns, "prediction")
	if p.ProbabilitySQL != "" {
		cols = append(cols, "CAST(("+p.ProbabilitySQL+") AS DOUBLE) AS probability")
		res.Columns = append(res.Columns, "probability")
	}
	rows, err := w.DB.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+src.relation()+" AS src")
	if err != nil {
		return nil, fmt.Errorf("score with model %d: %s: %w", modelID, src.name(), err)
	}
	defer rows.Close()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("score with model %d: %w", modelID, err)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("score with model %d: %w", modelID, err)
	}
	return res, nil
}

func hasColumn(ctx context.Context, db *sql.DB, src Source, col string) bool {
	cols, err := src.columns(ctx, db)
	if err != nil {
		return false
	}
	for _, c := range cols {
		if strings.EqualFold(c, col) {
			return true
		}
	}
	return false
}
