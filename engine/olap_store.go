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

// ReplaceRollupRows refreshes part of r.Table in place: it deletes the
// rows deleteWhere selects and inserts selectSQL's (with args bound), which
// must be exactly that part's rows computed again. rowsBefore is the
// table's row count in the registry; it returns the count afterwards. The
// registry is brought up to date with RecordRollupVersion. Call it in a
// transaction, like CreateRollupTable.
func ReplaceRollupRows(ctx context.Context, q Querier, r Rollup, rowsBefore int64, deleteWhere, selectSQL string, args ...any) (int64, error) {
	if !strings.HasPrefix(r.Table, RollupTablePrefix) || r.Table == RollupRegistry {
		return 0, fmt.Errorf("refresh rollup %s.%s: table %q must be named %s…", r.Cube, r.Name, r.Table, RollupTablePrefix)
	}
	table := QuoteIdent(r.Table)
	rows := rowsBefore
	if rowsBefore > 0 {
		res, err := q.ExecContext(ctx, "DELETE FROM "+table+" WHERE "+deleteWhere)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		rows -= n
	}
	res, err := q.ExecContext(ctx, "INSERT INTO "+table+" "+selectSQL, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return rows + n, nil
}

// RollupCount is a rollup's row count after a refresh.
type RollupCount struct {
	Cube, Name string
	Rows       int64
}

// RecordRollupVersion records in the registry, in one statement, that the
// rollups refreshed in place (ReplaceRollupRows) hold data version
// version and their new row counts.
func RecordRollupVersion(ctx context.Context, q Querier, version int64, done []RollupCount) error {
	if len(done) == 0 {
		return nil
	}
	values := make([]string, len(done))
	args := []any{version}
	for i, d := range done {
		values[i] = fmt.Sprintf("($%d, $%d, $%d::BIGINT)", len(args)+1, len(args)+2, len(args)+3)
		args = append(args, d.Cube, d.Name, d.Rows)
	}
	if _, err := q.ExecContext(ctx, `UPDATE `+RollupRegistry+` SET data_version = $1, row_count = v.n, refreshed_at = now()
		FROM (VALUES `+strings.Join(values, ", ")+`) v(cube, rollup, n)
		WHERE `+RollupRegistry+`.cube = v.cube AND `+RollupRegistry+`.rollup = v.rollup`, args...); err != nil {
		return fmt.Errorf("record rollups: %w", err)
	}
	return nil
}

// InvalidateRollups marks every materialized rollup stale (data version
// -1): queries no longer use them and the next refresh rebuilds them
// whole. A change to the data that a refresh in place cannot trace (a new
// edition of a dimension's rows) calls it in its transaction.
func InvalidateRollups(ctx context.Context, q Execer) error {
	if _, err := q.ExecContext(ctx, `UPDATE `+RollupRegistry+` SET data_version = -1`); err != nil {
		return fmt.Errorf("invalidate rollups: %w", err)
	}
	return nil
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
