package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/shell"
)

// vetStoredScoring checks the scoring SQL stored with a model before ckm
// mine score or evaluate runs it (and the feature query of its recipe,
// which mine score --as-of runs, as --feature-sql is vetted): kb_model's params can be edited by
// anyone who can write the warehouse, and the SQL runs inside a SELECT for
// an analyst. score_query (a tree's query form) must parse as one query;
// each of score_sql and probability_sql must parse as exactly
// one expression (one statement, one select item: no text that closes the
// expression and adds columns, clauses or statements), and the query
// around them must read only what the analyst sandbox lets an analyst read
// (shell.Vet: a SELECT, no files, no raw personal data). A model without
// params is left to the scoring, which reports it.
func vetStoredScoring(ctx context.Context, w *engine.Warehouse, modelID int64) error {
	var params sql.NullString
	err := w.DB.QueryRowContext(ctx, `SELECT CAST(params AS VARCHAR) FROM kb_model WHERE model_id = ?`, modelID).Scan(&params)
	if errors.Is(err, sql.ErrNoRows) || !params.Valid {
		return nil
	}
	if err != nil {
		return err
	}
	var p struct {
		ScoreSQL       string `json:"score_sql"`
		ProbabilitySQL string `json:"probability_sql"`
		ScoreQuery     string `json:"score_query"`
		FromWarehouse  struct {
			FeatureSQL string `json:"feature_sql"`
		} `json:"from_warehouse"`
	}
	if err := json.Unmarshal([]byte(params.String), &p); err != nil {
		return nil
	}
	if fs := p.FromWarehouse.FeatureSQL; fs != "" {
		if err := vetMineQuery(ctx, w, fmt.Sprintf("model %d: params from_warehouse.feature_sql", modelID), fs); err != nil {
			return err
		}
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if p.ScoreQuery != "" {
		// The query scoring runs around it; parsed, not bound, so ckm_rows
		// needs no columns here.
		q := "WITH ckm_rows AS (SELECT 1) SELECT * FROM (\n" + p.ScoreQuery + "\n) AS src"
		if err := shell.Vet(ctx, conn, q); err != nil {
			return fmt.Errorf("model %d: params score_query: %w", modelID, err)
		}
		var statements sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT json_array_length(CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS JSON)->'statements')`, q).Scan(&statements); err != nil {
			return fmt.Errorf("model %d: params score_query: %w", modelID, err)
		}
		if statements.Int64 != 1 {
			return fmt.Errorf("model %d: params score_query is not one SQL query (it parses as %d statements): %w", modelID, statements.Int64, shell.ErrRefused)
		}
	}
	for _, e := range []struct{ key, expr string }{{"score_sql", p.ScoreSQL}, {"probability_sql", p.ProbabilitySQL}} {
		if e.expr == "" {
			continue
		}
		q := "SELECT (" + e.expr + "\n) AS v FROM (SELECT 1) AS src"
		var statements, items sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT json_array_length(j->'statements'), json_array_length(j->'statements'->0->'node'->'select_list')
            FROM (SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS JSON) AS j)`, q).Scan(&statements, &items); err != nil {
			return fmt.Errorf("model %d: params %s: %w", modelID, e.key, err)
		}
		if statements.Int64 != 1 || items.Int64 != 1 {
			return fmt.Errorf("model %d: params %s is not one SQL expression (it parses as %d statements, %d columns): %w",
				modelID, e.key, statements.Int64, items.Int64, shell.ErrRefused)
		}
		if err := shell.Vet(ctx, conn, q); err != nil {
			return fmt.Errorf("model %d: params %s: %w", modelID, e.key, err)
		}
	}
	return nil
}
