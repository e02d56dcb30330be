package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The OLAP objects the engine owns (schema_v4.sql). Rollup tables are the
// only tables created after the migrations, because their shape comes from
// the user's cube YAML; they go through CreateRollupTable, which keeps
// them named olap_rollup_* and recorded in the registry.
const (
	QueryLogTable     = "olap_query_log"
	RollupRegistry    = "olap_rollup_state"
	RollupTablePrefix = "olap_rollup_"
)

// Rollup names a materialized rollup: the cube and rollup it is for, its
// table, and the hash of the cube definition it was built from.
type Rollup struct {
	Cube, Name, Table, ModelHash string
}

// CreateRollupTable (re)builds r.Table from selectSQL (with args bound) and
// records it in the rollup registry with the data version q sees and its
// row count, which it returns. Call it in a transaction: inside a load's,
// the rollup records the run being committed.
func CreateRollupTable(ctx context.Context, q Querier, r Rollup, selectSQL string, args ...any) (int64, error) {
	if !strings.HasPrefix(r.Table, RollupTablePrefix) || r.Table == RollupRegistry {
		return 0, fmt.Errorf("create rollup %s.%s: table %q must be named %s…", r.Cube, r.Name, r.Table, RollupTablePrefix)
	}
	version, err := DataVersionTx(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("create rollup %s.%s: %w", r.Cube, r.Name, err)
	}
	table := QuoteIdent(r.Table)
	// An empty CREATE … LIMIT 0 first, then INSERT: the rows go through the
	// plain insert path (see Open on preserve_insertion_order).
	if _, err := q.ExecContext(ctx, "CREATE OR REPLACE TABLE "+table+" AS SELECT * FROM ("+selectSQL+") LIMIT 0", args...); err != nil {
		return 0, fmt.Errorf("create rollup %s.%s: %w", r.Cube, r.Name, err)
	}
	res, err := q.ExecContext(ctx, "INSERT INTO "+table+" "+selectSQL, args...)
	if err != nil {
		return 0, fmt.Errorf("create rollup %s.%s: %w", r.Cube, r.Name, err)
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("create rollup %s.%s: %w", r.Cube, r.Name, err)
	}
	if _, err := q.ExecContext(ctx, `INSERT OR REPLACE INTO `+RollupRegistry+` VALUES ($1, $2, $3, $4, $5, $6, now())`,
		r.Cube, r.Name, r.Table, r.ModelHash, version, rows); err != nil {
		return 0, fmt.Errorf("record rollup %s.%s: %w", r.Cube, r.Name, err)
	}
	return rows, nil
}

// CubeQuery is one answered aggregate query, as the query log keeps it.
type CubeQuery struct {
	Cube     string
	Levels   []string // grouped or filtered by, sorted
	Measures []string // aggregate measures needed, sorted
	Rollup   string   // "" when answered from the base tables
	Elapsed  time.Duration
}

// LogCubeQuery appends cq to the query log.
func LogCubeQuery(ctx context.Context, q Querier, cq CubeQuery) error {
	_, err := q.ExecContext(ctx, `INSERT INTO `+QueryLogTable+` VALUES (now(), $1, $2, $3, $4, $5)`,
		cq.Cube, cq.Levels, cq.Measures, cq.Rollup, float64(cq.Elapsed.Microseconds())/1000)
	if err != nil {
		return fmt.Errorf("log query: %w", err)
	}
	return nil
}
