package engine

import (
	"context"
	"database/sql"
	"fmt"
)

// DataVersion returns the id of the last committed ETL run (0 when nothing
// was loaded yet). Models record it as lineage; caches key on it.
func (w *Warehouse) DataVersion(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	if err := w.DB.QueryRowContext(ctx, `SELECT max(run_id) FROM etl_run WHERE status = 'committed'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("data version: %w", err)
	}
	return v.Int64, nil
}
