package olap

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// QueryLogTable records the aggregate queries answered from base tables and
// rollups, for Advise.
// The engine's migrations create it.
const QueryLogTable = engine.QueryLogTable

// LogQuery records one answered query: the levels it grouped and filtered
// by, the aggregate measures it needed, the rollup used and its time.
func LogQuery(ctx context.Context, db engine.Querier, c *Cube, q Query, rollup string, elapsed time.Duration) error {
	rq, err := resolveQuery(c, q)
	if err != nil || rq.through != nil {
		return err
	}
	levels, measures := queryGrain(rq)
	return engine.LogCubeQuery(ctx, db, engine.CubeQuery{Cube: c.Name, Levels: levels, Measures: measures, Rollup: rollup, Elapsed: elapsed})
}

// queryGrain lists the levels a query needs (grouped or filtered, sorted)
// and the aggregate measures a rollup would have to store.
func queryGrain(rq *resolved) ([]string, []string) {
	seen := map[string]bool{}
	var levels []string
	add := func(l *Level) {
		if !seen[l.Ref()] {
			seen[l.Ref()] = true
			levels = append(levels, l.Ref())
		}
	}
	for _, l := range rq.levels() {
		add(l)
	}
	for _, f := range rq.filters {
		add(f.l)
	}
	sort.Strings(levels)
	var measures []string
	for _, m := range rq.closure {
		if m.Agg != "" {
			measures = append(measures, m.Name)
		}
	}
	sort.Strings(measures)
	return levels, measures
}

// Advice is a suggested rollup: the grain that slow base-table queries
// shared, the measures they used, and how much time they took.
type Advice struct {
	Levels   []string `json:"levels"`
	Measures []string `json:"measures"`
	Queries  int64    `json:"queries"`
	TotalMS  float64  `json:"total_ms"`
	// Skipped lists measures a rollup cannot answer exactly (semi-additive,
	// distinct counts below the grain).
	Skipped []string `json:"skipped,omitempty"`
}

// YAML renders the advice as a rollup declaration for the cube file.
func (a Advice) YAML(name string) string {
	return fmt.Sprintf("  - {name: %s, levels: [%s], measures: [%s]}", name, strings.Join(a.Levels, ", "), strings.Join(a.Measures, ", "))
}

// Advise suggests rollups for c from its query log: the grains of the
// queries answered from base tables, heaviest total time first.
func Advise(ctx context.Context, db engine.Querier, c *Cube, limit int) ([]Advice, error) {
	var n int64
	if err := scanOne(ctx, db, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = '`+QueryLogTable+`'`, &n); err != nil || n == 0 {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT CAST(levels AS VARCHAR[]), CAST(list_distinct(flatten(list(measures))) AS VARCHAR[]), count(*), sum(elapsed_ms)
		FROM `+QueryLogTable+` WHERE cube = $1 AND rollup = '' GROUP BY levels ORDER BY sum(elapsed_ms) DESC LIMIT $2`, c.Name, limit)
	if err != nil {
		return nil, fmt.Errorf("advise: %w", err)
	}
	defer rows.Close()
	var out []Advice
	for rows.Next() {
		var levels, measures []any
		var a Advice
		if err := rows.Scan(&levels, &measures, &a.Queries, &a.TotalMS); err != nil {
			return nil, fmt.Errorf("advise: %w", err)
		}
		for _, l := range levels {
			if _, err := c.Level(fmt.Sprint(l)); err == nil {
				a.Levels = append(a.Levels, fmt.Sprint(l))
			}
		}
		for _, v := range measures {
			m, err := c.Measure(fmt.Sprint(v))
			switch {
			case err != nil:
			case m.SemiAdditive != "" || m.Agg == AggCountDistinct:
				a.Skipped = append(a.Skipped, m.Name)
			default:
				a.Measures = append(a.Measures, m.Name)
			}
		}
		sort.Strings(a.Measures)
		sort.Strings(a.Skipped)
		if len(a.Measures) > 0 {
			out = append(out, a)
		}
	}
	return out, rows.Err()
}
