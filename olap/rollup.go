package olap

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
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
	return rollupSQLWhere(c, r, "")
}

// rollupSQLWhere is RollupSQL over the base rows that where (SQL over the
// fact alias and the joins, "" for all) selects.
func rollupSQLWhere(c *Cube, r *Rollup, where string) (string, []any) {
	text, args, _ := rollupSQLJoins(c, r, where)
	return text, args
}

// rollupSQLJoins is rollupSQLWhere and the joins its base rows read.
func rollupSQLJoins(c *Cube, r *Rollup, where string) (string, []any, []*Join) {
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
	if where != "" {
		// RollupSQL's spec has no filters: baseSource wrote no WHERE.
		src += " WHERE " + where
	}
	text := "SELECT " + strings.Join(sel, ", ") + " FROM (" + src + ") AS s"
	if len(grp) > 0 {
		text += " GROUP BY " + strings.Join(grp, ", ")
	}
	return text, b.args, b.joins
}

// RefreshRollups brings every declared rollup of the model whose fact
// table (or view) exists up to the data version tx sees. A load calls it
// once it has committed, in a transaction of its own (etl.Options.AfterCommit;
// `ckm identity merge` inside its transaction): rollups record the data
// version they saw, so a cube query never takes one older than the data,
// and one already current is left alone.
//
// A rollup built at the data version just before the last run, whose inputs
// the run's changes can be traced in (see partitionLevel), is refreshed in
// place: only its periods that the run touched are deleted and computed
// again from the base tables (exact for every aggregate, distinct counts
// included, since a period's rows are computed whole). Every other rollup
// is rebuilt.
func RefreshRollups(ctx context.Context, tx *sql.Tx, model *Model) error {
	var cubes []*Cube
	var names []string
	for _, c := range model.Cubes {
		if len(c.Rollups) == 0 {
			continue
		}
		cubes = append(cubes, c)
		names = append(names, c.Fact)
		for _, r := range c.Rollups {
			names = append(names, r.Table(c))
		}
	}
	if len(cubes) == 0 {
		return nil
	}
	exists, err := existingRelations(ctx, tx, names)
	if err != nil {
		return fmt.Errorf("refresh rollups: %w", err)
	}
	st, err := readRollupStates(ctx, tx)
	if err != nil {
		return fmt.Errorf("refresh rollups: %w", err)
	}
	var touched *runDates // what the run changed, read once when a rollup needs it
	var done []engine.RollupCount
	for _, c := range cubes {
		if !exists[c.Fact] {
			continue
		}
		var full []string
		hash := ModelHash(c)
		for _, r := range c.Rollups {
			s, ok := st.rollups[c.Name+"\x00"+r.Name]
			kept := ok && exists[r.Table(c)] && s.hash == hash // materialized for this model
			if kept && s.version == st.version && st.version > 0 {
				// Current already (a re-run after a load whose refresh a
				// crash cut short finds the others so).
				continue
			}
			l := partitionLevel(c, r)
			if !kept || s.version != st.prev || st.version <= st.prev || l == nil {
				full = append(full, r.Name)
				continue
			}
			if touched == nil {
				if touched, err = readRunDates(ctx, tx, st.version); err != nil {
					return fmt.Errorf("refresh rollups: %w", err)
				}
				if touched.valid && len(touched.keys) > 0 {
					if touched.appended, err = appendedRun(ctx, tx, st.version); err != nil {
						return fmt.Errorf("refresh rollups: %w", err)
					}
				}
			}
			if !touched.valid {
				full = append(full, r.Name)
				continue
			}
			n, err := refreshPeriods(ctx, tx, c, r, l, touched, s.rows)
			if err != nil {
				return err
			}
			done = append(done, engine.RollupCount{Cube: c.Name, Name: r.Name, Rows: n})
		}
		if len(full) > 0 {
			if err := RefreshCubeRollups(ctx, tx, c, full); err != nil {
				return err
			}
		}
	}
	if err := engine.RecordRollupVersion(ctx, tx, st.version, done); err != nil {
		return fmt.Errorf("refresh rollups: %w", err)
	}
	return nil
}

// CreateEmptyRollups materializes the rollups a load refreshes in place
// (those with a partitionLevel) in a warehouse without sales yet: empty, at
// data version 0, so that its first load refreshes them as every later one
// does instead of creating their tables. Other rollups, a warehouse with
// sales or a committed run, and rollups materialized already are left
// alone.
func CreateEmptyRollups(ctx context.Context, tx *sql.Tx, model *Model) error {
	var fresh bool
	if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM fact_sales) AND NOT EXISTS (SELECT 1 FROM etl_run WHERE status = 'committed')
		AND NOT EXISTS (SELECT 1 FROM `+RollupStateTable+`)`).Scan(&fresh); err != nil || !fresh {
		return err
	}
	for _, c := range model.Cubes {
		var names []string
		for _, r := range c.Rollups {
			if partitionLevel(c, r) != nil {
				names = append(names, r.Name)
			}
		}
		if len(names) > 0 {
			if err := RefreshCubeRollups(ctx, tx, c, names); err != nil {
				return err
			}
		}
	}
	return nil
}

// existingRelations tells which of names are tables or views of the main
// schema, in one read of the catalog.
func existingRelations(ctx context.Context, q engine.Querier, names []string) (map[string]bool, error) {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = sqlString(n)
	}
	rows, err := q.QueryContext(ctx, `SELECT name FROM (SELECT table_name AS name FROM duckdb_tables() WHERE schema_name = 'main'
		UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'main') WHERE name IN (`+strings.Join(quoted, ", ")+`)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// rollupStates are the registry's rollups and the data versions a refresh
// goes from and to.
type rollupStates struct {
	// version is the data version tx sees (the last committed run, or the
	// run being committed when called inside it); prev the committed run
	// before it (0: none). Refreshing in place relies on every change to
	// the sales being made under a run (readRunDates); writers without one
	// (an admin's SQL) mark the rollups stale (engine.RecordChange).
	version, prev int64
	rollups       map[string]rollupState // by cube + "\x00" + rollup
}

type rollupState struct {
	hash          string
	version, rows int64
}

// readRollupStates reads the registry and the data versions a refresh
// goes from and to.
func readRollupStates(ctx context.Context, q engine.Querier) (*rollupStates, error) {
	st := &rollupStates{rollups: map[string]rollupState{}}
	var err error
	if st.version, st.prev, err = engine.DataVersionsTx(ctx, q); err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT cube, rollup, model_hash, data_version, row_count FROM `+RollupStateTable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var cube, name, hash string
		var version, n sql.NullInt64
		if err := rows.Scan(&cube, &name, &hash, &version, &n); err != nil {
			return nil, err
		}
		if version.Valid && n.Valid {
			st.rollups[cube+"\x00"+name] = rollupState{hash: hash, version: version.Int64, rows: n.Int64}
		}
	}
	return st, rows.Err()
}

// traceableJoins are the dimension tables (joined on these keys) whose
// changes in a run the partial refresh can trace to the sales they affect:
// dim_date and dim_channel never change after the migrations; a product a
// run adds or updates carries the run's id (etl_run_id), so the periods
// of its sales are refreshed; dim_region changes only with the load's
// region table, and a load that changes regions a warehouse's sales use
// marks every rollup stale (engine.InvalidateRollups), so they are rebuilt.
var traceableJoins = map[string]string{
	"dim_date":    "date_key",
	"dim_region":  "region_key",
	"dim_product": "product_key",
	"dim_channel": "channel_key",
}

// partitionLevel returns the level of r by whose periods r can be
// refreshed in part, or nil when it must be rebuilt: the fact is the sales
// (whose every change in a run readRunDates finds), every table r's SQL
// joins is traceable, and r has a level of dim_date (the finest, to
// recompute least).
func partitionLevel(c *Cube, r *Rollup) *Level {
	if c.Fact != "fact_sales_current" && c.Fact != "fact_sales" {
		return nil
	}
	_, _, joins := rollupSQLJoins(c, r, "")
	for _, j := range joins {
		if key, ok := traceableJoins[j.Table]; !ok || j.Key != key || j.FactKey != key {
			return nil
		}
	}
	var best *Level
	for _, l := range r.levels {
		if l.dim.Join == "" {
			continue
		}
		if j := c.joins[l.dim.Join]; j == nil || j.Table != "dim_date" || j.Key != "date_key" || j.FactKey != "date_key" {
			continue
		}
		if best == nil || l.depth > best.depth {
			best = l
		}
	}
	return best
}

// runDates are the date keys of every sales line a run changed, and
// their region keys.
type runDates struct {
	keys []int64
	// valid is false when a changed line's date is not a calendar day of
	// dim_date (a special member, or none): its period has no label a
	// partial refresh can select, so the rollups are rebuilt.
	valid bool
	// regions are the changed lines' region keys; regionsValid is false
	// when a changed line has none (NULL), and then the periods are
	// refreshed in every region.
	regions      []int64
	regionsValid bool
	// appended is the run when every line it changed is one it added and
	// its only change (appendedRun), else 0: the rollups then take its
	// lines' aggregates added to theirs (addAppended).
	appended int64
}

// readRunDates finds the dates (and regions) of the sales lines run
// changed: the lines it added (reversals included) or restated, the lines
// of products it added or updated, and the lines of customers it merged or
// split (or undid a merge of), whose customer_id may have moved.
func readRunDates(ctx context.Context, q engine.Querier, run int64) (*runDates, error) {
	rows, err := q.QueryContext(ctx, `WITH moved AS (
			SELECT survivor AS customer_id FROM customer_merge WHERE run_id = $1 OR undone_run = $1
			UNION SELECT other FROM customer_merge WHERE run_id = $1 OR undone_run = $1),
		keys AS (
			-- One select per way a run touches a line, not one filter
			-- of ORs: each can skip row groups by its column's min/max
			-- (the OR form read the whole table: 115-175 ms of a 5 M
			-- line refresh against 10-11 ms).
			SELECT date_key, region_key FROM fact_sales WHERE etl_run_id = $1
			UNION SELECT date_key, region_key FROM fact_sales WHERE restated_by_run = $1
			UNION SELECT date_key, region_key FROM fact_sales WHERE product_key IN (SELECT product_key FROM dim_product WHERE etl_run_id = $1)
			UNION SELECT date_key, region_key FROM fact_sales WHERE customer_id IN (SELECT customer_id FROM moved))
		SELECT k.date_key, d.date_key IS NOT NULL AND k.date_key > 0, k.region_key
		FROM keys k LEFT JOIN dim_date d ON d.date_key = k.date_key`, run)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &runDates{valid: true, regionsValid: true}
	days, regions := map[int64]bool{}, map[int64]bool{}
	for rows.Next() {
		var key, region sql.NullInt64
		var day bool
		if err := rows.Scan(&key, &day, &region); err != nil {
			return nil, err
		}
		if !region.Valid {
			out.regionsValid = false
		} else if !regions[region.Int64] {
			regions[region.Int64] = true
			out.regions = append(out.regions, region.Int64)
		}
		if !key.Valid || !day {
			out.valid = false
			continue
		}
		if !days[key.Int64] {
			days[key.Int64] = true
			out.keys = append(out.keys, key.Int64)
		}
	}
	return out, rows.Err()
}

// regionLevel returns r's deepest level of dim_region (joined on
// region_key), or nil. A region's labels change only with the load's
// region table, which marks the rollups stale when it does
// (etl/region.LoadDim), so between two refreshes a line's region label is
// fixed.
func regionLevel(c *Cube, r *Rollup) *Level {
	var best *Level
	for _, l := range r.levels {
		if l.dim.Join == "" {
			continue
		}
		if j := c.joins[l.dim.Join]; j == nil || j.Table != "dim_region" || j.Key != "region_key" || j.FactKey != "region_key" {
			continue
		}
		if best == nil || l.depth > best.depth {
			best = l
		}
	}
	return best
}

// refreshPeriods recomputes the periods of level l (a dim_date level of r)
// that hold one of the run's date keys: their rows of r's table are deleted
// and computed again from the base tables. When r has a level of
// dim_region and every changed line's region has a label there, only the
// rows of those labels are (a daily load into three years of sales
// recomputed a whole year of every province for year_province). It
// returns r's rows afterwards (rowsBefore, less those deleted, plus those
// inserted).
func refreshPeriods(ctx context.Context, tx *sql.Tx, c *Cube, r *Rollup, l *Level, touched *runDates, rowsBefore int64) (int64, error) {
	keys := touched.keys
	if len(keys) == 0 {
		return rowsBefore, nil
	}
	if touched.appended > 0 && addByDelta {
		if n, ok, err := addAppended(ctx, tx, c, r, touched, rowsBefore); ok || err != nil {
			return n, err
		}
	}
	list := make([]string, len(keys))
	for i, k := range keys {
		list[i] = strconv.FormatInt(k, 10)
	}
	col := quoteIdent(l.Column)
	periods := "SELECT " + col + " FROM dim_date WHERE date_key IN (" + strings.Join(list, ", ") + ")"
	days := "SELECT date_key FROM dim_date WHERE " + col + " IN (" + periods + ")"
	deleteWhere := quoteIdent(labelCol(l)) + " IN (" + periods + ")"
	where := factAlias + "." + quoteIdent("date_key") + " IN (" + days + ")"
	if rl := regionLevel(c, r); rl != nil && touched.regionsValid && len(touched.regions) > 0 {
		rlist := make([]string, len(touched.regions))
		for i, k := range touched.regions {
			rlist[i] = strconv.FormatInt(k, 10)
		}
		rcol := quoteIdent(rl.Column)
		// Every region is in dim_region with a label: a line whose region
		// is not (or has no label) sits under a NULL label, which no IN
		// selects; then the periods are refreshed in every region.
		var labelled bool
		if err := tx.QueryRowContext(ctx, `SELECT count(`+rcol+`) = `+strconv.Itoa(len(rlist))+` FROM dim_region WHERE region_key IN (`+strings.Join(rlist, ", ")+`)`).Scan(&labelled); err != nil {
			return 0, fmt.Errorf("refresh rollup %s.%s: %w", c.Name, r.Name, err)
		}
		if labelled {
			labels := "SELECT " + rcol + " FROM dim_region WHERE region_key IN (" + strings.Join(rlist, ", ") + ")"
			deleteWhere += " AND " + quoteIdent(labelCol(rl)) + " IN (" + labels + ")"
			where += " AND " + factAlias + "." + quoteIdent("region_key") + " IN (SELECT region_key FROM dim_region WHERE " + rcol + " IN (" + labels + "))"
		}
	}
	text, args := rollupSQLWhere(c, r, where)
	n, err := engine.ReplaceRollupRows(ctx, tx, engine.Rollup{Cube: c.Name, Name: r.Name, Table: r.Table(c), ModelHash: ModelHash(c)},
		rowsBefore, deleteWhere, text, args...)
	if err != nil {
		return 0, fmt.Errorf("refresh rollup %s.%s: %w", c.Name, r.Name, err)
	}
	return n, nil
}

// addByDelta: a run that only added lines is added to the rollups
// (addAppended) rather than its periods recomputed. (A variable: tests
// turn it off to test the recomputation.)
var addByDelta = true

// appendedMinLines is the size of fact_sales from which a run that only
// added lines is added to the rollups: below a row group of lines,
// recomputing the touched periods costs less than the delta's statements
// (a 10-line load into a new warehouse: its refresh ~33 ms recomputed
// against ~39 ms added, medians of 8). (A variable: tests lower it.)
var appendedMinLines int64 = 122_880

// appendedRun returns run when all the run did to the sales is add lines
// of its own (no line restated or reversed, no product of its changed
// under another run's lines, no customer merged, split or unmerged), at
// most appendedValues of them (no distinct count can then have more
// values; a large load is recomputed without first copying its lines),
// and fact_sales holds more than appendedMinLines, else 0. Each select
// can skip row groups by its column's min/max.
func appendedRun(ctx context.Context, tx *sql.Tx, run int64) (int64, error) {
	if lines, err := engine.SalesLines(ctx, tx); err != nil || lines <= appendedMinLines {
		return 0, err
	}
	var only bool
	err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM fact_sales WHERE etl_run_id = $1) <= $2
		AND NOT EXISTS (SELECT 1 FROM fact_sales WHERE restated_by_run = $1)
		AND NOT EXISTS (SELECT 1 FROM fact_sales WHERE etl_run_id = $1 AND is_reversal)
		AND NOT EXISTS (SELECT 1 FROM customer_merge WHERE run_id = $1 OR undone_run = $1)
		AND NOT EXISTS (SELECT 1 FROM fact_sales WHERE etl_run_id IS DISTINCT FROM $1
			AND product_key IN (SELECT product_key FROM dim_product WHERE etl_run_id = $1))`, run, appendedValues).Scan(&only)
	if err != nil || !only {
		return 0, err
	}
	return run, nil
}

// appendedValues bounds the distinct values of one distinct-count measure
// in a run's lines that addAppended looks up among the earlier lines (as
// a list of literals, which DuckDB filters the fact table's scan by: as a
// subquery it built a hash table of every line, 1.2 s at 4.9 M lines
// against 0.05 s), and the lines a run may add to be added to the rollups
// (appendedRun); a run with more is recomputed. (A variable: tests lower
// it.)
var appendedValues = 10_000

// addAppended refreshes r after a run that only added lines
// (runDates.appended): the aggregates of the run's lines, cell by cell,
// are added to r's rows (sums, counts and an average's parts added, the
// least and greatest kept), and a cell r lacks is inserted. A distinct
// count grows by the run's values that no earlier line of the cell holds:
// only the earlier lines holding one of the run's values are read, not
// every line of the touched periods (a daily load into a year of sales
// recomputed the year's distinct orders and customers of every province it
// sold in). It returns r's rows afterwards, and false (having changed
// nothing) when the run's values are too many or of a type it does not
// write as literals, or a distinct count's input reads a joined table, or
// the base rows' SQL does not read the fact table as it expects: then the
// periods are recomputed.
func addAppended(ctx context.Context, tx *sql.Tx, c *Cube, r *Rollup, touched *runDates, rowsBefore int64) (int64, bool, error) {
	spec := srcSpec{levels: r.levels}
	for _, name := range r.Measures {
		spec.measures = append(spec.measures, c.measures[name])
	}
	var cells, sel []string // the cell's columns; the delta's columns, in r's order
	for _, l := range r.levels {
		if l.Key != "" {
			cells = append(cells, q(keyCol(l)))
		}
		cells = append(cells, q(labelCol(l)))
	}
	sel = append(sel, prefixed("d.", cells)...)
	run := strconv.FormatInt(touched.appended, 10)
	const added, delta = "ckm_rollup_added", "ckm_rollup_delta"
	b := &binder{}
	if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+added+" AS "+baseSource(b, c, spec)+
		" WHERE "+factAlias+"."+quoteIdent("etl_run_id")+" = "+run, b.args...); err != nil {
		return 0, false, fmt.Errorf("refresh rollup %s.%s: %w", c.Name, r.Name, err)
	}
	drop := func() { tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+added+"; DROP TABLE IF EXISTS "+delta) }
	defer drop()
	b = &binder{}
	var ctes, aggs, joins []string
	combine := map[string]string{} // stored column -> SQL of it from the old (t) and the run's (x)
	sum := func(c string) string {
		return fmt.Sprintf("CASE WHEN t.%[1]s IS NULL THEN x.%[1]s WHEN x.%[1]s IS NULL THEN t.%[1]s ELSE t.%[1]s + x.%[1]s END", q(c))
	}
	keep := func(c, fn string) string {
		return fmt.Sprintf("CASE WHEN t.%[1]s IS NULL THEN x.%[1]s WHEN x.%[1]s IS NULL THEN t.%[1]s ELSE %[2]s(t.%[1]s, x.%[1]s) END", q(c), fn)
	}
	for i, m := range spec.measures {
		in, col := q(inputCol(m)), inputCol(m)
		switch m.Agg {
		case AggSum:
			aggs = append(aggs, "SUM("+in+") AS "+in)
			sel = append(sel, "d."+in)
			combine[col] = sum(col)
		case AggCount:
			aggs = append(aggs, "COUNT("+in+") AS "+in)
			sel = append(sel, "d."+in)
			combine[col] = "t." + in + " + x." + in
		case AggMin:
			aggs = append(aggs, "MIN("+in+") AS "+in)
			sel = append(sel, "d."+in)
			combine[col] = keep(col, "least")
		case AggMax:
			aggs = append(aggs, "MAX("+in+") AS "+in)
			sel = append(sel, "d."+in)
			combine[col] = keep(col, "greatest")
		case AggAvg:
			s, n := q(col+"#s"), q(col+"#n")
			aggs = append(aggs, "SUM("+in+") AS "+s, "COUNT("+in+") AS "+n)
			sel = append(sel, "d."+s, "d."+n)
			combine[col+"#s"], combine[col+"#n"] = sum(col+"#s"), "t."+n+" + x."+n
		case AggCountDistinct:
			// The run's distinct values of each cell, less those an
			// earlier line of the cell holds; the earlier lines read are
			// those whose input is one of the run's values.
			expr := measureInput(b, m)
			for _, j := range c.Joins {
				if strings.Contains(expr, quoteIdent(j.Name)+".") {
					return 0, false, nil
				}
			}
			list, ok, err := literalValues(ctx, tx, "SELECT DISTINCT "+in+" FROM "+added+" WHERE "+in+" IS NOT NULL")
			if err != nil || !ok {
				return 0, false, err
			}
			nv, inc := fmt.Sprintf("nv%d", i), fmt.Sprintf("inc%d", i)
			ctes = append(ctes, nv+" AS (SELECT DISTINCT "+strings.Join(cells, ", ")+", "+in+" FROM "+added+" WHERE "+in+" IS NOT NULL)")
			if list == "" {
				sel = append(sel, "0 AS "+in)
			} else {
				// The earlier lines' fact table, filtered by the values.
				fact := " FROM " + quoteIdent(c.Fact) + " AS " + factAlias
				src := baseSource(b, c, spec)
				if !strings.Contains(src, fact) {
					return 0, false, nil
				}
				old := strings.Replace(src, fact, " FROM (SELECT *"+fact+" WHERE ("+expr+") IN ("+list+")) AS "+factAlias, 1) +
					" WHERE " + factAlias + "." + quoteIdent("etl_run_id") + " IS DISTINCT FROM " + run
				ctes = append(ctes, inc+" AS (SELECT "+strings.Join(prefixed("v.", cells), ", ")+", count(*) AS k FROM "+nv+" AS v ANTI JOIN ("+old+") AS o ON "+
					cellsMatch("o.", "v.", cells)+" AND o."+in+" = v."+in+" GROUP BY ALL)")
				joins = append(joins, " LEFT JOIN "+inc+" ON "+cellsMatch(inc+".", "d.", cells))
				sel = append(sel, "coalesce("+inc+".k, 0) AS "+in)
			}
			combine[col] = "t." + in + " + x." + in
		}
	}
	if len(aggs) == 0 {
		aggs = []string{"count(*) AS " + q("_n")}
	}
	ctes = append(ctes, "d AS (SELECT "+strings.Join(cells, ", ")+", "+strings.Join(aggs, ", ")+" FROM "+added+" GROUP BY ALL)")
	table := quoteIdent(r.Table(c))
	stmts := []string{"CREATE OR REPLACE TEMP TABLE " + delta + " AS WITH " + strings.Join(ctes, ",\n") +
		"\nSELECT " + strings.Join(sel, ", ") + " FROM d" + strings.Join(joins, "")}
	var sets []string
	for _, col := range storedMeasureCols(spec.measures) {
		sets = append(sets, q(col)+" = "+combine[col])
	}
	if len(sets) > 0 {
		stmts = append(stmts, "UPDATE "+table+" AS t SET "+strings.Join(sets, ", ")+" FROM "+delta+" AS x WHERE "+cellsMatch("t.", "x.", cells))
	}
	stmts = append(stmts, "INSERT INTO "+table+" SELECT * FROM "+delta+" AS x WHERE NOT EXISTS (SELECT 1 FROM "+table+" AS t WHERE "+cellsMatch("t.", "x.", cells)+")")
	rows := rowsBefore
	for i, st := range stmts {
		var args []any
		if i == 0 {
			args = b.args
		}
		res, err := tx.ExecContext(ctx, st, args...)
		if err != nil {
			return 0, false, fmt.Errorf("refresh rollup %s.%s: %w", c.Name, r.Name, err)
		}
		if i == len(stmts)-1 { // the INSERT of the cells r lacked
			n, err := res.RowsAffected()
			if err != nil {
				return 0, false, err
			}
			rows += n
		}
	}
	return rows, true, nil
}

// literalValues runs query (one column) and returns its values as a list
// of SQL literals, or false when there are more than appendedValues or
// one is neither text nor an integer.
func literalValues(ctx context.Context, tx *sql.Tx, query string) (string, bool, error) {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return "", false, err
	}
	defer rows.Close()
	var lits []string
	for rows.Next() {
		if len(lits) == appendedValues {
			return "", false, nil
		}
		var v any
		if err := rows.Scan(&v); err != nil {
			return "", false, err
		}
		switch x := v.(type) {
		case string:
			lits = append(lits, sqlString(x))
		case int64:
			lits = append(lits, strconv.FormatInt(x, 10))
		case int32:
			lits = append(lits, strconv.FormatInt(int64(x), 10))
		default:
			return "", false, nil
		}
	}
	return strings.Join(lits, ", "), true, rows.Err()
}

// storedMeasureCols are the columns measures take in a rollup table, in
// its order (an average as its sum and count).
func storedMeasureCols(ms []*Measure) []string {
	var out []string
	for _, m := range ms {
		if m.Agg == AggAvg {
			out = append(out, inputCol(m)+"#s", inputCol(m)+"#n")
		} else {
			out = append(out, inputCol(m))
		}
	}
	return out
}

// prefixed is cols each prefixed with p.
func prefixed(p string, cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = p + c
	}
	return out
}

// cellsMatch is SQL that holds when a's and b's cells are the same (NULL
// labels matching NULL).
func cellsMatch(a, b string, cells []string) string {
	if len(cells) == 0 {
		return "true"
	}
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = a + c + " IS NOT DISTINCT FROM " + b + c
	}
	return strings.Join(parts, " AND ")
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
