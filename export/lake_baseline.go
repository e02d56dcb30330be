package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// LakeBaseline is what ckm bench export races Lake against: DuckDB's own
// COPY … (FORMAT parquet) of the same tables, the same masked columns,
// with the same compression, row-group size and year/month partitioning,
// into out — no Iceberg metadata, no fingerprints, no catalog. It returns
// the rows written.
func LakeBaseline(ctx context.Context, w *engine.Warehouse, out string, p privacy.Principal) (int64, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	tables, err := lakeTables(ctx, conn, nil, false)
	if err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return 0, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	var total int64
	for _, t := range tables {
		cols, err := lakeColumns(t, false)
		if err != nil {
			return 0, fmt.Errorf("table %s: %w", t.name, err)
		}
		exprs := ""
		for i, c := range cols {
			if i > 0 {
				exprs += ", "
			}
			exprs += c.expr
		}
		dir := filepath.Join(out, t.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
		opts := fmt.Sprintf("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE %d", lakeRowGroupSize)
		target := filepath.Join(dir, "data_0.parquet")
		if partitioned(t) {
			opts += `, PARTITION_BY ("year", "month"), WRITE_PARTITION_COLUMNS true, OVERWRITE_OR_IGNORE`
			target = dir
		}
		var n int64
		if err := conn.QueryRowContext(ctx, "COPY (SELECT "+exprs+" FROM "+t.source+") TO "+engine.QuoteString(target)+" ("+opts+")").Scan(&n); err != nil {
			return 0, fmt.Errorf("table %s: %w", t.name, err)
		}
		total += n
	}
	return total, nil
}
