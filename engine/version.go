package engine

import (
	"context"
	"database/sql"
	"fmt"
)

// Querier is what the engine's functions that take part in a caller's
// transaction need: *sql.DB, *sql.Conn and *sql.Tx all satisfy it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// DataVersion returns the id of the last committed ETL run (0 when nothing
// was loaded yet). Models record it as lineage; caches key on it.
func (w *Warehouse) DataVersion(ctx context.Context) (int64, error) {
	return DataVersionTx(ctx, w.DB)
}

// DataVersionTx is DataVersion as q sees it: inside a load's transaction,
// after its etl_run row is written, it is the run being committed.
func DataVersionTx(ctx context.Context, q Querier) (int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT max(run_id) FROM etl_run WHERE status = 'committed'`)
	if err != nil {
		return 0, fmt.Errorf("data version: %w", err)
	}
	defer rows.Close()
	var v sql.NullInt64
	if rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return 0, fmt.Errorf("data version: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("data version: %w", err)
	}
	return v.Int64, nil
}
