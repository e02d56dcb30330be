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

// persist writes the kb_model row and the scores selected by scoresSQL
// (columns customer_id, metric, value, label) to kb_customer_score in one
// transaction on conn, after the statements of also (e.g. an SCD2 update of
// dim_customer), so a failure leaves no partial knowledge. It returns the
// new model id.
func persist(ctx context.Context, conn *sql.Conn, rec modelRecord, scoresSQL string, also ...func(ctx context.Context, tx *sql.Tx) error) (int64, error) {
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
	for _, f := range also {
		if err := f(ctx, tx); err != nil {
			return 0, fmt.Errorf("save %s model: %w", rec.Kind, err)
		}
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(model_id), 0) + 1 FROM kb_model`).Scan(&id); err != nil {
		return 0, fmt.Errorf("save %s model: %w", rec.Kind, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO kb_model (model_id, kind, name, params, metrics, status, data_version, etl_runs, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp::TIMESTAMP)`,
		id, rec.Kind, rec.Name, string(params), string(metrics), rec.Status, rec.DataVersion, rec.ETLRuns); err != nil {
		return 0, fmt.Errorf("save %s model: %w", rec.Kind, err)
	}
	if scoresSQL != "" {
		q := fmt.Sprintf(`INSERT INTO kb_customer_score (model_id, customer_id, metric, value, label, as_of)
            SELECT %d, customer_id, metric, value, label, %s FROM (%s)`, id, dateLit(rec.AsOf), scoresSQL)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("save %s scores: %w", rec.Kind, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("save %s model: %w", rec.Kind, err)
	}
	return id, nil
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
