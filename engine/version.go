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

// DataVersionsTx is DataVersionTx with the committed run before it
// (0: none), in one statement: what a refresh in place goes from (a
// rollup that holds prev lacks only version's changes).
func DataVersionsTx(ctx context.Context, q Querier) (version, prev int64, err error) {
	rows, err := q.QueryContext(ctx, `SELECT coalesce(max(run_id), 0), coalesce(max(run_id) FILTER (WHERE run_id < (
			SELECT max(run_id) FROM etl_run WHERE status = 'committed')), 0)
		FROM etl_run WHERE status = 'committed'`)
	if err != nil {
		return 0, 0, fmt.Errorf("data version: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&version, &prev); err != nil {
			return 0, 0, fmt.Errorf("data version: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("data version: %w", err)
	}
	return version, prev, nil
}

// SalesLines is the number of lines fact_sales holds as DuckDB's catalog
// estimates it (exact without deletes; fact lines are never deleted but by
// an erasure), read without scanning the table: what decides whether a
// warehouse's sales are more than a row group (122,880 lines), which
// DuckDB scans on several threads.
func SalesLines(ctx context.Context, q Querier) (int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT coalesce(max(estimated_size), 0) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'fact_sales'`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}
