package mining

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// modelRecord is one kb_model row: what was mined, how, and from which data.
type modelRecord struct {
	Kind        string
	Name        string
	Params      any
	Metrics     any
	Status      string
	DataVersion int64
	ETLRuns     string
	AsOf        time.Time
}

// lineage fills the data version and the ETL runs the source's rows came from.
func (r *modelRecord) lineage(ctx context.Context, w *engine.Warehouse, src Source) error {
	v, err := w.DataVersion(ctx)
	if err != nil {
		return err
	}
	runs, err := src.lineage(ctx, w.DB)
	if err != nil {
		return err
	}
	r.DataVersion, r.ETLRuns = v, runs
	return nil
}

// A kbWrite writes one part of a model's knowledge (scores, rules,
// segments, recommendations, a dimension change) inside the transaction of
// persist, knowing the model's id.
type kbWrite func(ctx context.Context, tx *sql.Tx, modelID int64) error

// persist allocates the model id, writes the kb_model row and then every
// write with that id in one transaction on conn, so a failure leaves no
// partial knowledge. It returns the new model id.
func persist(ctx context.Context, conn *sql.Conn, rec modelRecord, writes ...kbWrite) (int64, error) {
	params, err := json.Marshal(rec.Params)
	if err != nil {
		return 0, fmt.Errorf("save %s model: params: %w", rec.Kind, err)
	}
	metrics, err := json.Marshal(rec.Metrics)
	if err != nil {
		return 0, fmt.Errorf("save %s model: metrics: %w", rec.Kind, err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("save %s model: %w", rec.Kind, err)
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(model_id), 0) + 1 FROM kb_model`).Scan(&id); err != nil {
		return 0, fmt.Errorf("save %s model: %w", rec.Kind, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO kb_model (model_id, kind, name, params, metrics, status, data_version, etl_runs, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp::TIMESTAMP)`,
		id, rec.Kind, rec.Name, string(params), string(metrics), rec.Status, rec.DataVersion, rec.ETLRuns); err != nil {
		return 0, fmt.Errorf("save %s model: %w", rec.Kind, err)
	}
	for _, write := range writes {
		if err := write(ctx, tx, id); err != nil {
			return 0, fmt.Errorf("save %s model: %w", rec.Kind, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("save %s model: %w", rec.Kind, err)
	}
	return id, nil
}

// scoresWrite writes the rows of scoresSQL (columns customer_id, metric,
// value, label) to kb_customer_score as of the given day.
func scoresWrite(asOf time.Time, scoresSQL string) kbWrite {
	return func(ctx context.Context, tx *sql.Tx, id int64) error {
		q := fmt.Sprintf(`INSERT INTO kb_customer_score (model_id, customer_id, metric, value, label, as_of)
            SELECT %d, customer_id, metric, value, label, %s FROM (%s)`, id, dateLit(asOf), scoresSQL)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("scores: %w", err)
		}
		return nil
	}
}

// txWrite adapts a write that needs no model id.
func txWrite(f func(ctx context.Context, tx *sql.Tx) error) kbWrite {
	return func(ctx context.Context, tx *sql.Tx, _ int64) error { return f(ctx, tx) }
}

// unpivotSQL turns a wide per-customer table into the long (customer_id,
// metric, value, label) rows of kb_customer_score. Each column is given as
// metric name → value expression and label expression ("NULL" for none).
func unpivotSQL(table string, metrics []metricCol) string {
	s := ""
	for i, m := range metrics {
		if i > 0 {
			s += "\nUNION ALL "
		}
		s += fmt.Sprintf("SELECT customer_id, '%s' AS metric, CAST(%s AS DOUBLE) AS value, CAST(%s AS VARCHAR) AS label FROM %s", m.Metric, m.Value, m.Label, table)
	}
	return s
}

type metricCol struct{ Metric, Value, Label string }
