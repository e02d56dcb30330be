package mining

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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
	// ScoreQuery is a tree's fast scoring query (tree.ScoreQuery) over a
	// relation named ckm_rows; scoring runs it instead of the expressions.
	ScoreQuery string `json:"score_query"`
	// FromWarehouse is the recipe of a model learnt from the warehouse.
	FromWarehouse *struct {
		FeatureSQL string `json:"feature_sql"`
	} `json:"from_warehouse"`
}

// ScoreModel scores the rows of src in DuckDB with the scoring SQL stored
// with a tree or bayes model (the source must hold the model's feature
// columns, named as when it was trained).
func ScoreModel(ctx context.Context, w *engine.Warehouse, modelID int64, src Source) (*ScoreResult, error) {
	kind, p, err := loadClassifier(ctx, w, modelID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(src.Table) == "" {
		return nil, fmt.Errorf("score: no source: give a table or SELECT holding the columns %s", strings.Join(p.Features, ", "))
	}
	src.Features = strings.Join(p.Features, ",")
	if err := src.require(ctx, w.DB, RoleFeatures); err != nil {
		return nil, fmt.Errorf("score with model %d: %w", modelID, err)
	}
	id := ""
	if p.ID != "" && hasColumn(ctx, w.DB, src, p.ID) {
		id = p.ID
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return scoreRows(ctx, conn, modelID, kind, p, src.relation(), src.name(), id, "")
}

// scoreLabel is the label column of the customer list ScoreModelAsOf
// builds cases for: no customer has a label when scored.
const scoreLabel = "ckm_score_label"

// ScoreModelAsOf scores every customer known before asOf with a stored
// tree or bayes model learnt from the warehouse (--label-sql): the cases
// are rebuilt through the model's stored recipe — the warehouse features
// and its feature query, from rows dated before asOf (the feature query
// leak-checked at asOf as when training) — and scored with its scoring
// SQL, by customer_id.
func ScoreModelAsOf(ctx context.Context, w *engine.Warehouse, modelID int64, asOf time.Time) (*ScoreResult, error) {
	kind, p, err := loadClassifier(ctx, w, modelID)
	if err != nil {
		return nil, err
	}
	if p.FromWarehouse == nil {
		return nil, fmt.Errorf("score: model %d was learnt from a source, not from the warehouse (--label-sql): give the rows to score (--source)", modelID)
	}
	if asOf.IsZero() {
		return nil, fmt.Errorf("score: no cut-off date: model %d's features are computed from the rows before a date (--as-of)", modelID)
	}
	f := FeatureOptions{AsOf: asOf, FeatureSQL: p.FromWarehouse.FeatureSQL,
		LabelSQL: "SELECT DISTINCT customer_id, CAST(NULL AS VARCHAR) AS " + scoreLabel + " FROM dim_customer WHERE customer_id > 0"}
	run, _, _, err := startFeatureRun(ctx, w, "score", f, Source{Label: scoreLabel})
	if err != nil {
		return nil, fmt.Errorf("with model %d's recipe: %w", modelID, err)
	}
	defer run.close()
	cols, err := queryColumns(ctx, run.conn, "SELECT * FROM "+featureTable)
	if err != nil {
		return nil, run.fail(err)
	}
	if err := needColumns(fmt.Sprintf("the cases rebuilt as of %s", asOf.Format(time.DateOnly)), cols, p.Features...); err != nil {
		return nil, run.fail(err)
	}
	return scoreRows(ctx, run.conn, modelID, kind, p, featureTable, "the cases rebuilt from the warehouse", "customer_id", "customer_id")
}

// loadClassifier reads a tree or bayes model's kind and scoring params.
func loadClassifier(ctx context.Context, w *engine.Warehouse, modelID int64) (string, classifierParams, error) {
	var p classifierParams
	var kind string
	var params sql.NullString
	err := w.DB.QueryRowContext(ctx, `SELECT kind, CAST(params AS VARCHAR) FROM kb_model WHERE model_id = ?`, modelID).Scan(&kind, &params)
	if errors.Is(err, sql.ErrNoRows) {
		return "", p, fmt.Errorf("score: %w %d in kb_model", ErrNoModel, modelID)
	}
	if err != nil {
		return "", p, fmt.Errorf("score: %w", err)
	}
	if kind != "tree" && kind != "bayes" {
		return "", p, fmt.Errorf("score: model %d is a %s model; only tree and bayes models score rows", modelID, kind)
	}
	if err := json.Unmarshal([]byte(params.String), &p); err != nil || p.ScoreSQL == "" || len(p.Features) == 0 {
		return "", p, fmt.Errorf("score: model %d has no scoring SQL in its params (%v)", modelID, err)
	}
	return kind, p, nil
}

// scoreRows scores relation (named what in errors) on conn with the
// model's SQL: the id column first when id is set, ordered by orderBy
// when set.
func scoreRows(ctx context.Context, conn *sql.Conn, modelID int64, kind string, p classifierParams, relation, what, id, orderBy string) (*ScoreResult, error) {
	res := &ScoreResult{ModelID: modelID, Kind: kind, Positive: p.Positive}
	cols := []string{}
	if id != "" {
		cols = append(cols, engine.QuoteIdent(id))
		res.Columns = append(res.Columns, id)
	}
	cols = append(cols, "("+p.ScoreSQL+") AS prediction")
	res.Columns = append(res.Columns, "prediction")
	if p.ProbabilitySQL != "" {
		cols = append(cols, "CAST(("+p.ProbabilitySQL+") AS DOUBLE) AS probability")
		res.Columns = append(res.Columns, "probability")
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + relation + " AS src"
	if p.ScoreQuery != "" {
		// The same columns from the tree's query form: the rows with a
		// missing value apart, the others through one nested CASE.
		cols, res.Columns = cols[:0], res.Columns[:0]
		if id != "" {
			cols, res.Columns = append(cols, engine.QuoteIdent(id)), append(res.Columns, id)
		}
		cols = append(cols, "prediction", "CAST(probability AS DOUBLE) AS probability")
		res.Columns = append(res.Columns, "prediction", "probability")
		q = "WITH ckm_rows AS (SELECT * FROM " + relation + " AS src)\nSELECT " + strings.Join(cols, ", ") + " FROM (\n" + p.ScoreQuery + "\n) AS src"
	}
	if orderBy != "" {
		q += " ORDER BY " + engine.QuoteIdent(orderBy)
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("score with model %d: %s: %w", modelID, what, err)
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
