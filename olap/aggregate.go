package olap

import (
	"fmt"
	"strings"
)

// aggState carries what the aggregation layers share.
type aggState struct {
	rq     *resolved
	b      *binder
	rollup *Rollup
	levels []*Level
	sets   [][]int // level indexes per grouping set
	multi  bool    // GROUPING SETS rather than a plain GROUP BY
	// extraTotal marks a grand total added only for percent-of-total.
	extraTotal bool
	// inputs are the per-row inputs of the aggregates in a flat query,
	// which aggregates them directly (nil: from the source's columns).
	inputs map[*Measure]string
}

// compileAggregate compiles a query answered by aggregation (of the base
// tables, or of rollup when it is not nil): the cells, then the measures
// over them.
func compileAggregate(rq *resolved, rollup *Rollup) (*Compiled, error) {
	st := &aggState{rq: rq, b: &binder{}, rollup: rollup, levels: rq.levels()}
	st.groupingSets()
	if st.flat() {
		return st.compileFlat()
	}
	cells, err := st.cells(rq.filters)
	if err != nil {
		return nil, err
	}
	out := &Compiled{}
	o := &aggOuter{sel: st.levelColumns(out)}
	for i, m := range rq.requests {
		o.sel = append(o.sel, st.measureColumn(i, m, o)+" AS "+q(m.Name))
		out.Columns = append(out.Columns, Column{Name: m.Name, Kind: "measure"})
	}
	out.SQL, err = st.outerSQL(cells, o)
	if err != nil {
		return nil, err
	}
	out.Args = st.b.args
	return out, nil
}

// flat reports whether the query is a plain aggregation of the base
// tables: one grouping set and no subtotals, top-N, time, semi-additive or
// percent-of-total measures, nothing that needs the cells as a table.
func (st *aggState) flat() bool {
	rq := st.rq
	return st.rollup == nil && !st.multi && !rq.totals && rq.top == nil && !rq.hasTime() &&
		!rq.has(func(m *Measure) bool { return m.SemiAdditive != "" || m.PercentOfTotal != "" })
}

// compileFlat compiles a flat query to the one SELECT … GROUP BY over the
// fact and its joins that a person writes by hand, so that DuckDB plans it
// as it plans the hand-written SQL: no nested projections, no grouping id.
func (st *aggState) compileFlat() (*Compiled, error) {
	rq, c := st.rq, st.rq.c
	out := &Compiled{}
	st.levelColumns(out)
	var sel, group []string
	for _, l := range st.levels {
		sel = append(sel, c.levelExpr(l)+" AS "+q(labelCol(l)))
		group = append(group, c.keyExpr(l))
		if l.Key != "" {
			group = append(group, c.levelExpr(l))
		}
	}
	st.inputs = map[*Measure]string{}
	for _, m := range st.sourceSpec(rq.filters).measures {
		st.inputs[m] = measureInput(st.b, m)
	}
	for _, m := range rq.requests {
		e, err := st.aggExpr(m, "")
		if err != nil {
			return nil, err
		}
		sel = append(sel, e+" AS "+q(m.Name))
		out.Columns = append(out.Columns, Column{Name: m.Name, Kind: "measure"})
	}
	text := "SELECT " + strings.Join(sel, ", ") + " FROM " + baseFrom(st.b, c, sel, rq.filters)
	if len(group) > 0 {
		text += " GROUP BY " + strings.Join(group, ", ")
	}
	// Levels are ordered by their output column and key expression.
	if order := st.orderBy(func(l *Level) string { return q(labelCol(l)) }, c.keyExpr); order != "" {
		text += " ORDER BY " + order
	}
	if rq.limit > 0 {
		text += fmt.Sprintf(" LIMIT %d", rq.limit)
	}
	out.SQL, out.Args = text, st.b.args
	return out, nil
}

// aggOuter is the outer SELECT of an aggregation as it is built: its
// columns, the joins of period comparisons, the windows of running totals.
type aggOuter struct {
	sel, joins, windows []string
}

// groupingSets decides the grouping sets: every subtotal of rows by columns
// under totals, else the one set of all levels (and the grand total when
// a measure is a percent of it).
func (st *aggState) groupingSets() {
	rq := st.rq
	nr, nc := len(rq.rows), len(rq.cols)
	if rq.totals {
		for i := nr; i >= 0; i-- {
			for j := nc; j >= 0; j-- {
				var set []int
				for k := 0; k < i; k++ {
					set = append(set, k)
				}
				for k := 0; k < j; k++ {
					set = append(set, nr+k)
				}
				st.sets = append(st.sets, set)
			}
		}
	} else {
		var set []int
		for k := range st.levels {
			set = append(set, k)
		}
		st.sets = [][]int{set}
		if len(st.levels) > 0 && rq.has(func(m *Measure) bool { return m.PercentOfTotal != "" }) {
			st.sets = append(st.sets, nil)
			st.extraTotal = true
		}
	}
	st.multi = len(st.sets) > 1
}

// comparisonFilters splits the filters for period comparisons: removable
// are the time filters at or above the finest time level, which the
// comparison cells ignore (a previous period lies outside them); kept are
// the others, or all of them when none is removable.
func (rq *resolved) comparisonFilters() (kept, removable []rfilter) {
	if !rq.hasTime() {
		return rq.filters, nil
	}
	finest := grainRank[rq.timeLevels()[0].Grain]
	for _, f := range rq.filters {
		if f.l.Grain != "" && grainRank[f.l.Grain] <= finest {
			removable = append(removable, f)
		} else {
			kept = append(kept, f)
		}
	}
	if len(removable) == 0 {
		kept = rq.filters
	}
	return kept, removable
}

// levelColumns lists the level (and under totals, the tag) columns of the
// outer SELECT, and describes them in out.
func (st *aggState) levelColumns(out *Compiled) []string {
	rq := st.rq
	for _, l := range rq.rows {
		out.Rows = append(out.Rows, l.Ref())
	}
	for _, l := range rq.cols {
		out.Cols = append(out.Cols, l.Ref())
	}
	var sel []string
	for _, l := range st.levels {
		sel = append(sel, "c."+q(labelCol(l))+" AS "+q(l.Ref()))
		out.Columns = append(out.Columns, Column{Name: l.Ref(), Kind: "level", Level: l.Ref()})
	}
	if rq.totals {
		if len(rq.rows) > 0 {
			sel = append(sel, "c."+q("_row_level"))
			out.Columns = append(out.Columns, Column{Name: "_row_level", Kind: "tag"})
		}
		if len(rq.cols) > 0 {
			sel = append(sel, "c."+q("_col_level"))
			out.Columns = append(out.Columns, Column{Name: "_col_level", Kind: "tag"})
		}
	}
	return sel
}

// fullGID is the grouping id of the grand total.
func (st *aggState) fullGID() int { return (1 << len(st.levels)) - 1 }

// sameNonTime joins a cell under alias to the cell c of the same grouping
// set and members of every level but time.
func (st *aggState) sameNonTime(alias string) string {
	conds := []string{alias + "._gid = c._gid"}
	for _, l := range st.levels {
		if l.Grain == "" {
			conds = append(conds, alias+"."+q(keyCol(l))+" IS NOT DISTINCT FROM c."+q(keyCol(l)))
		}
	}
	return strings.Join(conds, " AND ")
}

// nonTimePartition partitions cells under alias by grouping set and the
// members of every level but time.
func (st *aggState) nonTimePartition(alias string) string {
	p := []string{alias + "._gid"}
	for _, l := range st.levels {
		if l.Grain == "" {
			p = append(p, alias+"."+q(keyCol(l)))
		}
	}
	return strings.Join(p, ", ")
}

// measureColumn is the outer expression of the i-th requested measure,
// adding to o the join or window it reads.
func (st *aggState) measureColumn(i int, m *Measure, o *aggOuter) string {
	switch {
	case m.PercentOfTotal != "":
		base := "c." + q(m.PercentOfTotal)
		return fmt.Sprintf("100.0 * %s / NULLIF(MAX(CASE WHEN c._gid = %d THEN %s END) OVER (), 0)", base, st.fullGID(), base)
	case m.Time != nil && m.Time.Compare != "":
		return st.comparisonColumn(i, m, o)
	case m.Time != nil:
		return st.runningColumn(m, o)
	}
	return "c." + q(m.Name)
}

// comparisonColumn compares a measure with the previous period (or the
// same period last year), read from a joined reference cell.
func (st *aggState) comparisonColumn(i int, m *Measure, o *aggOuter) string {
	alias := fmt.Sprintf("p%d", i)
	shift := "c._ord - 1"
	if m.Time.Compare == "last_year" {
		shift = "c._ly"
	}
	o.joins = append(o.joins, fmt.Sprintf("LEFT JOIN ref AS %s ON %s AND %s._ord = %s", alias, st.sameNonTime(alias), alias, shift))
	cur, prev := "c."+q(m.Time.Base), alias+"."+q(m.Time.Base)
	switch m.Time.Output {
	case "delta":
		return cur + " - " + prev
	case "ratio":
		return "CAST(" + cur + " AS DOUBLE) / NULLIF(CAST(" + prev + " AS DOUBLE), 0)"
	}
	return prev
}

// runningColumn is a period-to-date or rolling total of a measure, a
// window over the reference cells.
func (st *aggState) runningColumn(m *Measure, o *aggOuter) string {
	w := "w:" + m.Name
	var frame string
	if m.Time.ToDate != "" {
		frame = fmt.Sprintf("PARTITION BY %s, r.%s ORDER BY r._ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW", st.nonTimePartition("r"), q("_ptd:"+m.Time.ToDate))
	} else {
		frame = fmt.Sprintf("PARTITION BY %s ORDER BY r._ord RANGE BETWEEN %d PRECEDING AND CURRENT ROW", st.nonTimePartition("r"), m.Time.Rolling-1)
	}
	o.windows = append(o.windows, fmt.Sprintf("SUM(r.%s) OVER (%s) AS %s", q(m.Time.Base), frame, q(w)))
	cond := "c._ord IS NOT NULL"
	if m.Time.ToDate != "" {
		cond += " AND c." + q("_ptd:"+m.Time.ToDate) + " IS NOT NULL"
	}
	return fmt.Sprintf("CASE WHEN %s THEN w.%s END", cond, q(w))
}

// outerSQL writes the whole statement: the cells (with the reference cells
// of time measures as common table expressions), the outer SELECT of o,
// and its filter, order and limit.
func (st *aggState) outerSQL(cells string, o *aggOuter) (string, error) {
	rq := st.rq
	var sqlText strings.Builder
	from := "(" + cells + ") AS c"
	if rq.hasTime() {
		with, err := st.timeCTEs(cells, o)
		if err != nil {
			return "", err
		}
		sqlText.WriteString(with + " ")
		from = "cells AS c"
	}
	sqlText.WriteString("SELECT " + strings.Join(o.sel, ", ") + " FROM " + from)
	for _, j := range o.joins {
		sqlText.WriteString(" " + j)
	}
	if st.extraTotal {
		// QUALIFY filters after the window that reads the grand total.
		sqlText.WriteString(fmt.Sprintf(" QUALIFY c._gid <> %d", st.fullGID()))
	}
	cellCol := func(col func(*Level) string) func(*Level) string {
		return func(l *Level) string { return "c." + q(col(l)) }
	}
	if order := st.orderBy(cellCol(labelCol), cellCol(keyCol)); order != "" {
		sqlText.WriteString(" ORDER BY " + order)
	}
	if rq.limit > 0 {
		sqlText.WriteString(fmt.Sprintf(" LIMIT %d", rq.limit))
	}
	return sqlText.String(), nil
}

// timeCTEs is the WITH clause of a query with time measures: the cells,
// the reference cells comparisons read (the cells again, without the time
// filters that would exclude the previous period), and the running-total
// windows over them, joined in o.
func (st *aggState) timeCTEs(cells string, o *aggOuter) (string, error) {
	var b strings.Builder
	b.WriteString("WITH cells AS (" + cells + ")")
	ref := "cells"
	if kept, removable := st.rq.comparisonFilters(); len(removable) > 0 {
		refCells, err := st.cells(kept)
		if err != nil {
			return "", err
		}
		b.WriteString(", ref_cells AS (" + refCells + ")")
		ref = "ref_cells"
	}
	b.WriteString(", ref AS (SELECT * FROM " + ref + ")")
	if len(o.windows) > 0 {
		b.WriteString(", refw AS (SELECT r.*, " + strings.Join(o.windows, ", ") + " FROM ref AS r)")
		o.joins = append(o.joins, "LEFT JOIN refw AS w ON "+st.sameNonTime("w")+" AND w._ord IS NOT DISTINCT FROM c._ord")
	}
	return b.String(), nil
}

// orderBy sorts subtotals before their members, members by label (or by
// rank under top-N), and applies the query's order keys; label and key
// are how the order refers to a level's label and key.
func (st *aggState) orderBy(label, key func(*Level) string) string {
	rq := st.rq
	var user []string
	for _, o := range rq.order {
		dir := ""
		if o.desc {
			dir = " DESC"
		}
		if o.measure != nil {
			user = append(user, q(o.measure.Name)+dir)
		} else {
			user = append(user, label(o.level)+dir)
		}
	}
	var terms []string
	levelTerms := func(l *Level) {
		if rq.top != nil && rq.top.l == l {
			terms = append(terms, "c._rank")
		}
		terms = append(terms, label(l))
		if l.Key != "" {
			terms = append(terms, key(l))
		}
	}
	if !rq.totals {
		terms = append(terms, user...)
		for _, l := range st.levels {
			levelTerms(l)
		}
		return strings.Join(terms, ", ")
	}
	placed := false
	for i, l := range st.levels {
		terms = append(terms, "c."+q("g:"+l.Ref())+" DESC")
		if !placed && (i == len(rq.rows)-1 || len(rq.rows) == 0) {
			terms = append(terms, user...)
			placed = true
		}
		levelTerms(l)
	}
	if !placed {
		terms = append(terms, user...)
	}
	return strings.Join(terms, ", ")
}

// cells renders the aggregation: one row per member combination of each
// grouping set, with the measures of the closure.
func (st *aggState) cells(filters []rfilter) (string, error) {
	rq := st.rq
	spec := st.sourceSpec(filters)
	var src string
	var srcCols []string
	if st.rollup != nil {
		src, srcCols = rollupSource(st.b, rq.c, st.rollup, spec)
	} else {
		src = baseSource(st.b, rq.c, spec)
		srcCols = baseColumns(spec)
	}
	from := "(" + src + ") AS s"
	prefix := ""
	if rq.top != nil {
		prefix, from = st.topN(src, srcCols)
	}
	if spec.date && rq.has(func(m *Measure) bool { return m.SemiAdditive == "last" || m.SemiAdditive == "first" }) {
		from = st.periodEnds(from)
	}
	sel := st.groupingColumns()
	if rq.top != nil {
		sel = append(sel, "MIN(s._rank) AS _rank")
	}
	for _, m := range rq.closure {
		if m.Agg == "" && m.Derived == "" {
			continue
		}
		e, err := st.aggExpr(m, "s")
		if err != nil {
			return "", err
		}
		sel = append(sel, e+" AS "+q(m.Name))
	}
	if rq.hasTime() && len(rq.timeLevels()) > 0 {
		sel = append(sel, st.timeColumns(spec.toDate)...)
	}
	return prefix + "SELECT " + strings.Join(sel, ", ") + " FROM " + from + st.groupBy(), nil
}

// sourceSpec says what the source of the cells must provide: the levels,
// the filters, the input of each aggregate, dates for semi-additive
// measures, and the period columns of time measures.
func (st *aggState) sourceSpec(filters []rfilter) srcSpec {
	rq := st.rq
	spec := srcSpec{levels: st.levels, filters: filters}
	for _, m := range rq.closure {
		if m.Agg != "" {
			spec.measures = append(spec.measures, m)
			if m.SemiAdditive != "" {
				spec.date = true
			}
		}
		if m.Time != nil && m.Time.ToDate != "" && !contains(spec.toDate, m.Time.ToDate) {
			spec.toDate = append(spec.toDate, m.Time.ToDate)
		}
	}
	if rq.hasTime() {
		for _, l := range rq.timeLevels() {
			spec.timeGrain = append(spec.timeGrain, l.Grain)
		}
	}
	return spec
}

// periodEnds marks, per grouping set, the source rows on the last and the
// first date of the set's members, which semi-additive measures read.
func (st *aggState) periodEnds(from string) string {
	var wins []string
	for k, set := range st.sets {
		var part []string
		for _, i := range set {
			part = append(part, "s."+q(keyCol(st.levels[i])))
		}
		over := "OVER ()"
		if len(part) > 0 {
			over = "OVER (PARTITION BY " + strings.Join(part, ", ") + ")"
		}
		wins = append(wins,
			fmt.Sprintf("s._date = max(s._date) %s AS %s", over, q(fmt.Sprintf("_last:%d", k))),
			fmt.Sprintf("s._date = min(s._date) %s AS %s", over, q(fmt.Sprintf("_first:%d", k))))
	}
	return "(SELECT s.*, " + strings.Join(wins, ", ") + " FROM " + from + ") AS s"
}

// groupingColumns lists the level columns of the cells, the grouping id,
// and under totals the grouping flags and row and column level tags.
func (st *aggState) groupingColumns() []string {
	rq := st.rq
	var sel, keys []string
	for _, l := range st.levels {
		keys = append(keys, "s."+q(keyCol(l)))
		if l.Key != "" {
			sel = append(sel, "s."+q(keyCol(l)))
		}
		sel = append(sel, "s."+q(labelCol(l)))
	}
	gidExpr := "0"
	if st.multi {
		gidExpr = "GROUPING_ID(" + strings.Join(keys, ", ") + ")"
	}
	sel = append(sel, gidExpr+" AS _gid")
	if !rq.totals {
		return sel
	}
	for _, l := range st.levels {
		sel = append(sel, "GROUPING(s."+q(keyCol(l))+") AS "+q("g:"+l.Ref()))
	}
	for _, axis := range []struct {
		levels []*Level
		name   string
	}{{rq.rows, "_row_level"}, {rq.cols, "_col_level"}} {
		if len(axis.levels) > 0 {
			sel = append(sel, levelTag(axis.levels, axis.name))
		}
	}
	return sel
}

// levelTag names the finest of levels a cell is grouped by, or "total".
func levelTag(levels []*Level, name string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for i := len(levels) - 1; i >= 0; i-- {
		b.WriteString(" WHEN GROUPING(s." + q(keyCol(levels[i])) + ") = 0 THEN '" + levels[i].Ref() + "'")
	}
	b.WriteString(" ELSE 'total' END AS " + q(name))
	return b.String()
}

// timeColumns are the period columns of the cells time measures read: the
// period's order, the same period last year, and the period-to-date keys,
// each of the finest time level a grouping set has.
func (st *aggState) timeColumns(toDate []string) []string {
	timeLevels := st.rq.timeLevels()
	pick := func(col func(l *Level) string, ok func(l *Level) bool) string {
		if !st.multi {
			if ok(timeLevels[0]) {
				return "MIN(s." + q(col(timeLevels[0])) + ")"
			}
			return "NULL"
		}
		var b strings.Builder
		b.WriteString("CASE")
		n := 0
		for _, l := range timeLevels {
			if ok(l) {
				b.WriteString(" WHEN GROUPING(s." + q(keyCol(l)) + ") = 0 THEN MIN(s." + q(col(l)) + ")")
				n++
			}
		}
		if n == 0 {
			return "NULL"
		}
		return b.String() + " END"
	}
	all := func(*Level) bool { return true }
	sel := []string{
		pick(func(l *Level) string { return "_ord:" + l.Grain }, all) + " AS _ord",
		pick(func(l *Level) string { return "_ly:" + l.Grain }, all) + " AS _ly",
	}
	for _, g := range toDate {
		sel = append(sel, pick(func(*Level) string { return "_ptd:" + g }, func(l *Level) bool { return grainRank[l.Grain] >= grainRank[g] })+" AS "+q("_ptd:"+g))
	}
	return sel
}

// groupBy is the GROUP BY clause of the cells: the grouping sets, or the
// plain grouping by every level (none without levels).
func (st *aggState) groupBy() string {
	groupCols := func(set []int) string {
		var cols []string
		for _, i := range set {
			l := st.levels[i]
			cols = append(cols, "s."+q(keyCol(l)))
			if l.Key != "" {
				cols = append(cols, "s."+q(labelCol(l)))
			}
		}
		return strings.Join(cols, ", ")
	}
	if st.multi {
		var sets []string
		for _, set := range st.sets {
			sets = append(sets, "("+groupCols(set)+")")
		}
		return " GROUP BY GROUPING SETS (" + strings.Join(sets, ", ") + ")"
	}
	if len(st.levels) == 0 {
		return ""
	}
	all := make([]int, len(st.levels))
	for i := range all {
		all[i] = i
	}
	return " GROUP BY " + groupCols(all)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// baseColumns lists the columns baseSource produces.
func baseColumns(s srcSpec) []string {
	var cols []string
	for _, l := range s.levels {
		if l.Key != "" {
			cols = append(cols, keyCol(l))
		}
		cols = append(cols, labelCol(l))
	}
	for _, m := range s.measures {
		cols = append(cols, inputCol(m))
	}
	if s.date {
		cols = append(cols, "_date")
	}
	for _, g := range s.timeGrain {
		cols = append(cols, "_ord:"+g, "_ly:"+g)
	}
	for _, g := range s.toDate {
		cols = append(cols, "_ptd:"+g)
	}
	return cols
}

// aggExpr is the aggregate SQL of an aggregate or derived measure over the
// source alias, for the base tables or a rollup.
func (st *aggState) aggExpr(m *Measure, s string) (string, error) {
	if m.Derived != "" {
		text := m.derived
		for _, d := range m.deps {
			e, err := st.aggExpr(st.rq.c.measures[d], s)
			if err != nil {
				return "", err
			}
			text = strings.ReplaceAll(text, "{"+d+"}", "("+e+")")
		}
		return text, nil
	}
	in := s + "." + q(inputCol(m))
	if st.inputs != nil {
		in = st.inputs[m]
	}
	var base string
	if st.rollup != nil {
		// Rollup cells hold partial aggregates that add up; a semi-additive
		// measure reaches here only at daily grain (see rollupCannot).
		switch m.Agg {
		case AggSum:
			base = "SUM(" + in + ")"
		case AggCount, AggCountDistinct:
			base = "CAST(SUM(" + in + ") AS BIGINT)"
		case AggMin:
			return "MIN(" + in + ")", nil
		case AggMax:
			return "MAX(" + in + ")", nil
		case AggAvg:
			return "CAST(SUM(" + s + "." + q(inputCol(m)+"#s") + ") AS DOUBLE) / NULLIF(CAST(SUM(" + s + "." + q(inputCol(m)+"#n") + ") AS DOUBLE), 0)", nil
		}
	} else {
		switch m.Agg {
		case AggSum:
			base = "SUM(" + in + ")"
		case AggCount:
			base = "COUNT(" + in + ")"
		case AggCountDistinct:
			base = "COUNT(DISTINCT " + in + ")"
		case AggMin:
			base = "MIN(" + in + ")"
		case AggMax:
			base = "MAX(" + in + ")"
		case AggAvg:
			return "CAST(SUM(" + in + ") AS DOUBLE) / NULLIF(CAST(COUNT(" + in + ") AS DOUBLE), 0)", nil
		}
	}
	switch m.SemiAdditive {
	case "average":
		if m.Agg == AggCountDistinct {
			return "", fmt.Errorf("measure %s: a daily average of a distinct count is not supported; use last or first", m.Name)
		}
		return "CAST(" + base + " AS DOUBLE) / NULLIF(COUNT(DISTINCT " + s + "._date), 0)", nil
	case "last", "first":
		if !st.multi {
			return base + " FILTER (WHERE " + s + "." + q("_"+m.SemiAdditive+":0") + ")", nil
		}
		var keys []string
		for _, l := range st.levels {
			keys = append(keys, s+"."+q(keyCol(l)))
		}
		var b strings.Builder
		b.WriteString("CASE GROUPING_ID(" + strings.Join(keys, ", ") + ")")
		for k, set := range st.sets {
			b.WriteString(fmt.Sprintf(" WHEN %d THEN %s FILTER (WHERE %s.%s)", st.gid(set), base, s, q(fmt.Sprintf("_%s:%d", m.SemiAdditive, k))))
		}
		b.WriteString(" END")
		return b.String(), nil
	}
	return base, nil
}

// gid is GROUPING_ID's value for a grouping set: bit (n-1-i) set when
// level i is rolled up.
func (st *aggState) gid(set []int) int {
	in := map[int]bool{}
	for _, i := range set {
		in[i] = true
	}
	n, g := len(st.levels), 0
	for i := 0; i < n; i++ {
		if !in[i] {
			g |= 1 << (n - 1 - i)
		}
	}
	return g
}

// topN ranks the members of the top level within the levels before it and
// keeps the first N, folding the others into "Other" when asked. It returns
// the CTE prefix and the FROM clause for the aggregation.
func (st *aggState) topN(src string, srcCols []string) (string, string) {
	t := st.rq.top
	list := st.rq.rows
	if !containsLevel(list, t.l) {
		list = st.rq.cols
	}
	var part []*Level
	for _, l := range list {
		if l == t.l {
			break
		}
		part = append(part, l)
	}
	var pk, grp, on []string
	for _, l := range part {
		pk = append(pk, "s."+q(keyCol(l)))
	}
	grp = append(append(grp, pk...), "s."+q(keyCol(t.l)))
	for _, l := range append(part, t.l) {
		on = append(on, "t."+q(keyCol(l))+" IS NOT DISTINCT FROM s."+q(keyCol(l)))
	}
	by, _ := st.aggExpr(t.by, "s") // resolveQuery allowed only plain measures
	over := "ORDER BY " + by + " DESC NULLS LAST, s." + q(keyCol(t.l))
	if len(pk) > 0 {
		over = "PARTITION BY " + strings.Join(pk, ", ") + " " + over
	}
	selRank := append([]string(nil), grp...)
	ranked := fmt.Sprintf("ranked AS (SELECT %s, row_number() OVER (%s) AS _rn FROM src AS s GROUP BY %s)",
		strings.Join(selRank, ", "), over, strings.Join(grp, ", "))
	var cols []string
	n := st.b.bind(t.n)
	for _, c := range srcCols {
		switch {
		case t.other && c == keyCol(t.l) && t.l.Key != "":
			cols = append(cols, fmt.Sprintf("CASE WHEN t._rn <= %s THEN s.%s END AS %s", n, q(c), q(c)))
		case t.other && c == labelCol(t.l):
			cols = append(cols, fmt.Sprintf("CASE WHEN t._rn <= %s THEN CAST(s.%s AS VARCHAR) ELSE 'Other' END AS %s", n, q(c), q(c)))
		default:
			cols = append(cols, "s."+q(c))
		}
	}
	cols = append(cols, fmt.Sprintf("LEAST(t._rn, %s + 1) AS _rank", n))
	topped := "(SELECT " + strings.Join(cols, ", ") + " FROM src AS s JOIN ranked AS t ON " + strings.Join(on, " AND ")
	if !t.other {
		topped += " WHERE t._rn <= " + n
	}
	topped += ") AS s"
	return "WITH src AS (" + src + "), " + ranked + " ", topped
}

func containsLevel(list []*Level, l *Level) bool {
	for _, x := range list {
		if x == l {
			return true
		}
	}
	return false
}
