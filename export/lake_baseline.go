package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// LakeBaseline is what ckm bench export races Lake against: DuckDB's own
// COPY … (FORMAT parquet) of the same tables, the same masked columns,
// with the same compression, row-group size and year/month partitioning,
// into out — no Iceberg metadata, no fingerprints, no catalog.
func LakeBaseline(ctx context.Context, w *engine.Warehouse, out string, p privacy.Principal) (*LakeBaselineResult, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tables, err := lakeTables(ctx, conn, nil, false)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	res := &LakeBaselineResult{TablesMS: map[string]float64{}}
	for _, t := range tables {
		started := time.Now()
		cols, err := lakeColumns(t, false)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
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
			return nil, err
		}
		opts := fmt.Sprintf("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE %d", lakeRowGroupSize)
		target := filepath.Join(dir, "data_0.parquet")
		if partitioned(t) {
			opts += `, PARTITION_BY ("year", "month"), WRITE_PARTITION_COLUMNS true, OVERWRITE_OR_IGNORE`
			target = dir
		}
		var n int64
		if err := conn.QueryRowContext(ctx, "COPY (SELECT "+exprs+" FROM "+t.source+") TO "+engine.QuoteString(target)+" ("+opts+")").Scan(&n); err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
		res.Rows += n
		res.TablesMS[t.name] = float64(time.Since(started).Microseconds()) / 1000
	}
	return res, nil
}

// LakeBaselineResult is what LakeBaseline wrote: the rows, and each
// table's time (its COPY) in milliseconds.
type LakeBaselineResult struct {
	Rows     int64
	TablesMS map[string]float64
}
