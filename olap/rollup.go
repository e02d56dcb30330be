package olap

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// RollupStateTable records each materialized rollup: the model hash and data
// version it was built from and its size. A rollup whose cube changed or
// whose data version is behind the warehouse's is stale and never used.
// The engine's migrations create it; engine.CreateRollupTable writes it.
const RollupStateTable = engine.RollupRegistry

// ModelHash identifies a cube's definition (its YAML text).
func ModelHash(c *Cube) string {
	sum := sha256.Sum256(c.Source)
	return hex.EncodeToString(sum[:8])
}

// chooseRollup picks the smallest available rollup that answers rq exactly
// and says why every other declared rollup was not used.
func chooseRollup(rq *resolved, available map[string]RollupInfo) (*Rollup, []Rejection) {
	var best *Rollup
	var bestRows int64
	var rejected []Rejection
	var candidates []*Rollup
	for _, r := range rq.c.Rollups {
		if reason := rollupCannot(rq, r); reason != "" {
			rejected = append(rejected, Rejection{Rollup: r.Name, Reason: reason})
			continue
		}
		info, ok := available[r.Name]
		if !ok {
			rejected = append(rejected, Rejection{Rollup: r.Name, Reason: "not materialized or stale (data or model changed since it was built; run `ckm cube refresh`)"})
			continue
		}
		candidates = append(candidates, r)
		if best == nil || info.Rows < bestRows {
			best, bestRows = r, info.Rows
		}
	}
	for _, r := range candidates {
		if r != best {
			rejected = append(rejected, Rejection{Rollup: r.Name, Reason: fmt.Sprintf("answers exactly but has %d rows, more than %s (%d)", available[r.Name].Rows, best.Name, bestRows)})
		}
	}
	return best, rejected
}

// rollupCannot returns why r cannot answer rq exactly ("" when it can).
func rollupCannot(rq *resolved, r *Rollup) string {
	in := map[*Level]bool{}
	for _, l := range r.levels {
		in[l] = true
	}
	for _, l := range rq.levels() {
		if !in[l] {
			return "level " + l.Ref() + " is not in the rollup"
		}
	}
	for _, f := range rq.filters {
		if !in[f.l] {
			return "filter on " + f.l.Ref() + ", which is not in the rollup"
		}
	}
	stored := map[string]bool{}
	for _, m := range r.Measures {
		stored[m] = true
	}
	for _, m := range rq.closure {
		switch {
		case m.Time != nil:
			return "time measure " + m.Name + " needs the calendar columns of the base rows"
		case m.Agg == "":
			continue
		case !stored[m.Name]:
			return "measure " + m.Name + " is not stored in the rollup"
		case m.SemiAdditive != "" && m.Agg == AggCountDistinct:
			return "semi-additive distinct count " + m.Name + " needs the daily base rows"
		case m.SemiAdditive != "" && dayLevel(r) == nil:
			return "semi-additive measure " + m.Name + " needs a rollup at daily grain (a level with grain: day)"
		case m.Agg == AggCountDistinct:
			if rq.totals {
				return "distinct count " + m.Name + " cannot be re-added into subtotals"
			}
			if rq.top != nil && rq.top.other {
				return "distinct count " + m.Name + " cannot be re-added into an Other member"
			}
			grain := map[*Level]bool{}
			for _, l := range rq.levels() {
				for _, a := range ancestry(l) {
					grain[a] = true
				}
			}
			if len(grain) != len(r.levels) {
				return "distinct count " + m.Name + " is exact only at the rollup's grain (" + strings.Join(r.Levels, ", ") + ")"
			}
		}
	}
	return ""
}

// dayLevel returns the rollup's level of daily grain, if any.
func dayLevel(r *Rollup) *Level {
	for _, l := range r.levels {
		if l.Grain == "day" {
			return l
		}
	}
	return nil
}

// rollupSource renders the projection over a rollup table.
func rollupSource(b *binder, c *Cube, r *Rollup, s srcSpec) (string, []string) {
	var sel, cols, where []string
	add := func(col string) {
		sel = append(sel, "r."+q(col))
		cols = append(cols, col)
	}
	for _, l := range s.levels {
		if l.Key != "" {
			add(keyCol(l))
		}
		add(labelCol(l))
	}
	for _, m := range s.measures {
		if m.Agg == AggAvg {
			add(inputCol(m) + "#s")
			add(inputCol(m) + "#n")
		} else {
			add(inputCol(m))
		}
	}
	if s.date {
		// rollupCannot let semi-additive measures through only at daily grain.
		sel = append(sel, "r."+q(labelCol(dayLevel(r)))+" AS _date")
		cols = append(cols, "_date")
	}
	for _, f := range s.filters {
		where = append(where, filterSQL(b, "r."+q(labelCol(f.l)), f.op, f.vals))
	}
	if len(sel) == 0 {
		sel = []string{"1 AS " + q("_one")}
	}
	text := "SELECT " + strings.Join(sel, ", ") + " FROM " + quoteIdent(r.Table(c)) + " AS r"
	if len(where) > 0 {
		text += " WHERE " + strings.Join(where, " AND ")
	}
	return text, cols
}

// RollupSQL returns the SELECT that computes rollup r from the base tables,
// and its bound parameters.
func RollupSQL(c *Cube, r *Rollup) (string, []any) {
	b := &binder{}
	spec := srcSpec{levels: r.levels}
	for _, name := range r.Measures {
		spec.measures = append(spec.measures, c.measures[name])
	}
	var sel, grp []string
	for _, l := range r.levels {
		if l.Key != "" {
			sel = append(sel, "s."+q(keyCol(l)))
			grp = append(grp, "s."+q(keyCol(l)))
		}
		sel = append(sel, "s."+q(labelCol(l)))
		grp = append(grp, "s."+q(labelCol(l)))
	}
	for _, m := range spec.measures {
		in := "s." + q(inputCol(m))
		switch m.Agg {
		case AggSum:
			sel = append(sel, "SUM("+in+") AS "+q(inputCol(m)))
		case AggCount:
			sel = append(sel, "COUNT("+in+") AS "+q(inputCol(m)))
		case AggCountDistinct:
			sel = append(sel, "COUNT(DISTINCT "+in+") AS "+q(inputCol(m)))
		case AggMin:
			sel = append(sel, "MIN("+in+") AS "+q(inputCol(m)))
		case AggMax:
			sel = append(sel, "MAX("+in+") AS "+q(inputCol(m)))
		case AggAvg:
			sel = append(sel, "SUM("+in+") AS "+q(inputCol(m)+"#s"), "COUNT("+in+") AS "+q(inputCol(m)+"#n"))
		}
	}
	src := baseSource(b, c, spec)
	text := "SELECT " + strings.Join(sel, ", ") + " FROM (" + src + ") AS s"
	if len(grp) > 0 {
		text += " GROUP BY " + strings.Join(grp, ", ")
	}
	return text, b.args
}

// RefreshRollups rebuilds every declared rollup of the model whose fact
// table (or view) exists, inside tx, so an ETL load and its rollups commit together.
// Call it after the load's etl_run row is written: rollups record the data
// version they saw.
func RefreshRollups(ctx context.Context, tx *sql.Tx, model *Model) error {
	for _, c := range model.Cubes {
		if len(c.Rollups) == 0 {
			continue
		}
		var n int64
		if err := scanOne(ctx, tx, `SELECT count(*) FROM (SELECT table_name AS name FROM duckdb_tables() WHERE schema_name = 'main'
			UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'main') WHERE name = `+sqlString(c.Fact), &n); err != nil {
			return fmt.Errorf("refresh rollups: %w", err)
		}
		if n == 0 {
			continue
		}
		if err := RefreshCubeRollups(ctx, tx, c, nil); err != nil {
			return err
		}
	}
	return nil
}

// RefreshCubeRollups rebuilds the named rollups of c (all when names is
// empty) with db, which should be a transaction.
func RefreshCubeRollups(ctx context.Context, db engine.Querier, c *Cube, names []string) error {
	for _, r := range c.Rollups {
		if len(names) > 0 && !contains(names, r.Name) {
			continue
		}
		text, args := RollupSQL(c, r)
		if _, err := engine.CreateRollupTable(ctx, db, engine.Rollup{Cube: c.Name, Name: r.Name, Table: r.Table(c), ModelHash: ModelHash(c)}, text, args...); err != nil {
			return fmt.Errorf("refresh rollup %s.%s: %w", c.Name, r.Name, err)
		}
	}
	return nil
}

// AvailableRollups returns c's rollups that are materialized for the
// current model and data version.
func AvailableRollups(ctx context.Context, db engine.Querier, c *Cube, dataVersion int64) (map[string]RollupInfo, error) {
	out := map[string]RollupInfo{}
	var n int64
	if err := scanOne(ctx, db, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = '`+RollupStateTable+`'`, &n); err != nil || n == 0 {
		return out, err
	}
	rows, err := db.QueryContext(ctx, `SELECT rollup, row_count FROM `+RollupStateTable+` WHERE cube = $1 AND model_hash = $2 AND data_version = $3`, c.Name, ModelHash(c), dataVersion)
	if err != nil {
		return nil, fmt.Errorf("available rollups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var info RollupInfo
		if err := rows.Scan(&name, &info.Rows); err != nil {
			return nil, err
		}
		out[name] = info
	}
	return out, rows.Err()
}

// RollupNames lists the declared rollups of c, sorted.
func RollupNames(c *Cube) []string {
	var n []string
	for _, r := range c.Rollups {
		n = append(n, r.Name)
	}
	sort.Strings(n)
	return n
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
