package olap

import (
	"fmt"
	"sort"
	"strings"
)

// Column describes one output column of a compiled query.
type Column struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"` // level | tag | measure | column
	Level string `json:"level,omitempty"`
}

// Compiled is a query compiled to SQL: the text, its bound parameters, the
// output columns, and how it was routed.
type Compiled struct {
	SQL      string      `json:"sql"`
	Args     []any       `json:"args"`
	Columns  []Column    `json:"columns"`
	Rows     []string    `json:"rows,omitempty"` // row levels after drill/roll-up
	Cols     []string    `json:"cols,omitempty"` // column levels
	Rollup   string      `json:"rollup,omitempty"`
	Rejected []Rejection `json:"rejected,omitempty"`
}

// QueryError is a query that does not fit its cube (unknown level or
// measure, bad filter, …): the caller's mistake, not a failure.
type QueryError struct{ Err error }

func (e *QueryError) Error() string { return e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

// Rejection says why a rollup could not answer a query.
type Rejection struct {
	Rollup string `json:"rollup"`
	Reason string `json:"reason"`
}

// RollupInfo describes a materialized, up-to-date rollup table.
type RollupInfo struct {
	Rows int64
}

// Compile compiles q against cube c over the base tables. It is a pure
// function: identifiers come only from the model and every value of q is a
// bound parameter ($1, $2, … in the returned args).
func Compile(c *Cube, q Query) (string, []any, error) {
	p, err := Plan(c, q, nil)
	if err != nil {
		return "", nil, err
	}
	return p.SQL, p.Args, nil
}

// Plan compiles q like Compile and routes it to the smallest rollup among
// available (materialized and fresh, by rollup name) that answers it
// exactly, recording why each other rollup was rejected.
func Plan(c *Cube, q Query, available map[string]RollupInfo) (*Compiled, error) {
	rq, err := resolveQuery(c, q)
	if err != nil {
		return nil, &QueryError{Err: err}
	}
	if rq.through != nil {
		out, err := compileThrough(rq)
		if err != nil {
			return nil, &QueryError{Err: err}
		}
		return out, nil
	}
	var chosen *Rollup
	var rejected []Rejection
	if !q.NoRollups {
		chosen, rejected = chooseRollup(rq, available)
	}
	out, err := compileAggregate(rq, chosen)
	if err != nil {
		return nil, &QueryError{Err: err}
	}
	out.Rejected = rejected
	if chosen != nil {
		out.Rollup = chosen.Name
	}
	return out, nil
}

// resolved is a query with every name bound to the model.
type resolved struct {
	c        *Cube
	rows     []*Level
	cols     []*Level
	filters  []rfilter
	requests []*Measure // in output order
	closure  []*Measure // every measure needed, dependencies first
	totals   bool
	top      *rtop
	order    []rorder
	limit    int
	through  *Through
	allowPII bool
}

type rfilter struct {
	l    *Level
	op   string
	vals []any
}

type rtop struct {
	l     *Level
	n     int
	by    *Measure
	other bool
}

type rorder struct {
	level   *Level
	measure *Measure
	desc    bool
}

// resolveQuery binds every name of q to the model of c, checking the query
// as it goes.
func resolveQuery(c *Cube, q Query) (*resolved, error) {
	if q.Cube != "" && q.Cube != c.Name {
		return nil, fmt.Errorf("query is for cube %q, not %q", q.Cube, c.Name)
	}
	q, err := navigate(c, q)
	if err != nil {
		return nil, err
	}
	r := &queryResolver{
		rq:     &resolved{c: c, totals: q.Totals, limit: q.Limit, through: q.Through, allowPII: q.AllowPII},
		seen:   map[*Level]string{},
		needed: map[*Measure]bool{},
	}
	if err := r.axes(q); err != nil {
		return nil, err
	}
	if err := r.filters(q.Where); err != nil {
		return nil, err
	}
	if q.Through != nil {
		if q.Through.Limit < 0 || q.Through.Offset < 0 {
			return nil, fmt.Errorf("through: offset and limit must not be negative")
		}
		return r.rq, nil
	}
	steps := []func(Query) error{r.measures, r.timeLevels, r.top, r.order}
	for _, step := range steps {
		if err := step(q); err != nil {
			return nil, err
		}
	}
	if q.Limit < 0 {
		return nil, fmt.Errorf("limit must not be negative")
	}
	return r.rq, nil
}

// navigate applies the query's drill-down and roll-up to it.
func navigate(c *Cube, q Query) (Query, error) {
	var err error
	if q.Drill != nil {
		if q, err = DrillDown(c, q, *q.Drill); err != nil {
			return q, err
		}
	}
	if q.RollUp != "" {
		if q, err = RollUp(c, q, q.RollUp); err != nil {
			return q, err
		}
	}
	return q, nil
}

// queryResolver is resolveQuery at work: the query resolved so far, where
// each level of rows and cols sits, and the measures in its closure.
type queryResolver struct {
	rq     *resolved
	seen   map[*Level]string // level -> "rows" or "cols"
	needed map[*Measure]bool // in rq.closure
}

// axes resolves the levels of rows and cols; a level may be on one only.
func (r *queryResolver) axes(q Query) error {
	var err error
	if r.rq.rows, err = r.levels(q.Rows, "rows"); err != nil {
		return err
	}
	r.rq.cols, err = r.levels(q.Cols, "cols")
	return err
}

func (r *queryResolver) levels(refs []string, where string) ([]*Level, error) {
	var out []*Level
	for _, ref := range refs {
		l, err := r.rq.c.Level(ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if prev, dup := r.seen[l]; dup {
			return nil, fmt.Errorf("%s: level %s is already in %s", where, l.Ref(), prev)
		}
		r.seen[l] = where
		out = append(out, l)
	}
	return out, nil
}

// filters resolves the where clause: known levels, operators with their
// number of values, and values of plain types only.
func (r *queryResolver) filters(where []Filter) error {
	for i, f := range where {
		l, err := r.rq.c.Level(f.Level)
		if err != nil {
			return fmt.Errorf("where[%d]: %w", i, err)
		}
		if err := checkOp(f.Op, len(f.Values)); err != nil {
			return fmt.Errorf("where[%d] (%s): %w", i, f.Level, err)
		}
		for _, v := range f.Values {
			switch v.(type) {
			case string, bool, int, int32, int64, float64, float32, uint, uint32, uint64, int8, int16, uint8, uint16, nil:
			default:
				return fmt.Errorf("where[%d] (%s): value %v of type %T: want a string, number or boolean", i, f.Level, v, v)
			}
		}
		r.rq.filters = append(r.rq.filters, rfilter{l: l, op: f.Op, vals: f.Values})
	}
	return nil
}

// measures resolves the requested measures, each once, and adds them to
// the closure.
func (r *queryResolver) measures(q Query) error {
	c := r.rq.c
	if len(q.Measures) == 0 {
		return fmt.Errorf("no measures: name at least one of %s", strings.Join(measureNames(c), ", "))
	}
	for _, name := range q.Measures {
		m, err := c.Measure(name)
		if err != nil {
			return err
		}
		if r.requested(m) {
			return fmt.Errorf("measure %s asked twice", name)
		}
		r.rq.requests = append(r.rq.requests, m)
		if err := r.need(m); err != nil {
			return err
		}
	}
	return nil
}

func (r *queryResolver) requested(m *Measure) bool {
	for _, req := range r.rq.requests {
		if req == m {
			return true
		}
	}
	return false
}

// need adds m to the closure after its dependencies.
func (r *queryResolver) need(m *Measure) error {
	if r.needed[m] {
		return nil
	}
	r.needed[m] = true
	for _, d := range m.deps {
		dm := r.rq.c.measures[d]
		if m.Derived != "" && (dm.PercentOfTotal != "" || dm.Time != nil) {
			return fmt.Errorf("measure %s: derived measures may use aggregate or derived measures, not %s", m.Name, dm.Name)
		}
		if err := r.need(dm); err != nil {
			return err
		}
	}
	r.rq.closure = append(r.rq.closure, m)
	return nil
}

// timeLevels checks that time measures have a time level to compare
// periods of, fine enough for their period-to-date sums.
func (r *queryResolver) timeLevels(Query) error {
	rq := r.rq
	if rq.hasTime() && len(rq.timeLevels()) == 0 {
		return fmt.Errorf("time measures compare periods: put a level with a grain (e.g. date.year, date.month) in rows or cols")
	}
	for _, m := range rq.closure {
		if m.Time != nil && m.Time.ToDate != "" {
			if grainRank[rq.timeLevels()[0].Grain] < grainRank[m.Time.ToDate] {
				return fmt.Errorf("measure %s sums %s-to-date: put a time level at %s or finer in rows or cols", m.Name, m.Time.ToDate, m.Time.ToDate)
			}
		}
	}
	return nil
}

// top resolves a top-N: a level on the axes, ranked by a plain aggregate
// or derived measure (added to the closure).
func (r *queryResolver) top(q Query) error {
	if q.Top == nil {
		return nil
	}
	c := r.rq.c
	l, err := c.Level(q.Top.Level)
	if err != nil {
		return fmt.Errorf("top: %w", err)
	}
	if _, ok := r.seen[l]; !ok {
		return fmt.Errorf("top: level %s must be in rows or cols", l.Ref())
	}
	by, err := c.Measure(q.Top.By)
	if err != nil {
		return fmt.Errorf("top: %w", err)
	}
	if by.Agg == "" && by.Derived == "" || by.SemiAdditive != "" {
		return fmt.Errorf("top: rank by a plain aggregate or derived measure, not %s", by.Name)
	}
	if q.Top.N < 1 {
		return fmt.Errorf("top: n must be at least 1")
	}
	if err := r.need(by); err != nil {
		return err
	}
	r.rq.top = &rtop{l: l, n: q.Top.N, by: by, other: q.Top.Other}
	return nil
}

// order resolves the order keys: a requested measure, or a level on the
// axes.
func (r *queryResolver) order(q Query) error {
	c := r.rq.c
	for _, o := range q.Order {
		if m, err := c.Measure(o.Key); err == nil {
			if !r.requested(m) {
				return fmt.Errorf("order: measure %s is not in the query's measures", o.Key)
			}
			r.rq.order = append(r.rq.order, rorder{measure: m, desc: o.Desc})
			continue
		}
		l, err := c.Level(o.Key)
		if err != nil {
			return fmt.Errorf("order: %q is neither a measure nor a level of cube %s", o.Key, c.Name)
		}
		if _, ok := r.seen[l]; !ok {
			return fmt.Errorf("order: level %s is not in rows or cols", l.Ref())
		}
		r.rq.order = append(r.rq.order, rorder{level: l, desc: o.Desc})
	}
	return nil
}

func measureNames(c *Cube) []string {
	var n []string
	for _, m := range c.Measures {
		n = append(n, m.Name)
	}
	return n
}

var grainRank = map[string]int{"year": 1, "quarter": 2, "month": 3, "day": 4}

func (rq *resolved) levels() []*Level { return append(append([]*Level{}, rq.rows...), rq.cols...) }

// timeLevels returns the grain levels of the query, finest first.
func (rq *resolved) timeLevels() []*Level {
	var out []*Level
	for _, l := range rq.levels() {
		if l.Grain != "" {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return grainRank[out[i].Grain] > grainRank[out[j].Grain] })
	return out
}

func (rq *resolved) hasTime() bool {
	for _, m := range rq.closure {
		if m.Time != nil {
			return true
		}
	}
	return false
}

func (rq *resolved) has(pred func(*Measure) bool) bool {
	for _, m := range rq.closure {
		if pred(m) {
			return true
		}
	}
	return false
}

// binder numbers bound parameters.
type binder struct {
	args []any
	// joins are the joins baseFrom rendered, in order (what a query's
	// base rows read besides the fact).
	joins []*Join
}

func (b *binder) bind(v any) string {
	b.args = append(b.args, v)
	return fmt.Sprintf("$%d", len(b.args))
}

func filterSQL(b *binder, expr, op string, vals []any) string {
	switch op {
	case "eq":
		return expr + " = " + b.bind(vals[0])
	case "ne":
		return expr + " <> " + b.bind(vals[0])
	case "lt":
		return expr + " < " + b.bind(vals[0])
	case "le":
		return expr + " <= " + b.bind(vals[0])
	case "gt":
		return expr + " > " + b.bind(vals[0])
	case "ge":
		return expr + " >= " + b.bind(vals[0])
	case "between":
		return expr + " BETWEEN " + b.bind(vals[0]) + " AND " + b.bind(vals[1])
	case "in", "not_in":
		ps := make([]string, len(vals))
		for i, v := range vals {
			ps[i] = b.bind(v)
		}
		kw := " IN ("
		if op == "not_in" {
			kw = " NOT IN ("
		}
		return expr + kw + strings.Join(ps, ", ") + ")"
	case "is_null":
		return expr + " IS NULL"
	case "not_null":
		return expr + " IS NOT NULL"
	}
	panic("olap: unchecked filter op " + op) // checkOp ran in resolveQuery
}

// Column names inside the compiled SQL.
func keyCol(l *Level) string {
	if l.Key == "" {
		return l.Ref()
	}
	return l.Ref() + "#key"
}
func labelCol(l *Level) string   { return l.Ref() }
func inputCol(m *Measure) string { return "m:" + m.Name }
func q(name string) string       { return quoteIdent(name) }

// measureInput is the per-row value a measure aggregates, filters applied.
func measureInput(b *binder, m *Measure) string {
	v := m.expr
	if v == "" {
		v = "1"
	}
	if len(m.Where) == 0 {
		return v
	}
	conds := make([]string, len(m.Where))
	for i, w := range m.Where {
		conds[i] = filterSQL(b, w.expr, w.Op, w.Values)
	}
	return "CASE WHEN " + strings.Join(conds, " AND ") + " THEN " + v + " END"
}

// srcSpec is what the innermost projection must provide.
type srcSpec struct {
	levels    []*Level
	measures  []*Measure // aggregate measures whose inputs are needed
	filters   []rfilter
	date      bool // "_date" for semi-additive measures
	timeGrain []string
	toDate    []string
}

// baseSource renders the projection over the fact and its joins.
func baseSource(b *binder, c *Cube, s srcSpec) string {
	var sel []string
	for _, l := range s.levels {
		if l.Key != "" {
			sel = append(sel, c.keyExpr(l)+" AS "+q(keyCol(l)))
		}
		sel = append(sel, c.levelExpr(l)+" AS "+q(labelCol(l)))
	}
	for _, m := range s.measures {
		sel = append(sel, measureInput(b, m)+" AS "+q(inputCol(m)))
	}
	if s.date || len(s.timeGrain) > 0 {
		t := c.timeDim.Time
		date := c.dimColumn(c.timeDim, t.Date)
		if s.date {
			sel = append(sel, date+" AS "+q("_date"))
		}
		y, qu, mo := c.dimColumn(c.timeDim, t.Year), c.dimColumn(c.timeDim, t.Quarter), c.dimColumn(c.timeDim, t.Month)
		for _, g := range s.timeGrain {
			ord, ly := periodOrdinal(g, y, qu, mo, date)
			sel = append(sel, ord+" AS "+q("_ord:"+g), ly+" AS "+q("_ly:"+g))
		}
		for _, g := range s.toDate {
			ord, _ := periodOrdinal(g, y, qu, mo, date)
			sel = append(sel, ord+" AS "+q("_ptd:"+g))
		}
	}
	if len(sel) == 0 {
		sel = []string{"1 AS " + q("_one")}
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM " + baseFrom(b, c, sel, s.filters)
}

// baseFrom renders the fact, the joins that sel or the filters read, and
// the filters: what follows FROM in a query of the base tables.
func baseFrom(b *binder, c *Cube, sel []string, filters []rfilter) string {
	var where []string
	for _, f := range filters {
		where = append(where, filterSQL(b, c.levelExpr(f.l), f.op, f.vals))
	}
	cols := strings.Join(sel, ", ")
	text := quoteIdent(c.Fact) + " AS " + factAlias
	for _, j := range c.Joins {
		if !strings.Contains(cols, quoteIdent(j.Name)+".") && !whereUses(where, j) {
			continue
		}
		kw := " LEFT JOIN "
		if j.Kind == "inner" {
			kw = " JOIN "
		}
		text += kw + quoteIdent(j.Table) + " AS " + quoteIdent(j.Name) + " ON " + factAlias + "." + quoteIdent(j.FactKey) + " = " + quoteIdent(j.Name) + "." + quoteIdent(j.Key)
		b.joins = append(b.joins, j)
	}
	if len(where) > 0 {
		text += " WHERE " + strings.Join(where, " AND ")
	}
	return text
}

func whereUses(where []string, j *Join) bool {
	for _, w := range where {
		if strings.Contains(w, quoteIdent(j.Name)+".") {
			return true
		}
	}
	return false
}

// periodOrdinal returns SQL numbering the periods of a grain consecutively,
// and the ordinal of the same period one year earlier.
func periodOrdinal(grain, y, qu, mo, date string) (ord, lastYear string) {
	switch grain {
	case "year":
		return y, y + " - 1"
	case "quarter":
		o := "(" + y + " * 4 + " + qu + " - 1)"
		return o, o + " - 4"
	case "month":
		o := "(" + y + " * 12 + " + mo + " - 1)"
		return o, o + " - 12"
	default:
		return "(" + date + " - DATE '1970-01-01')", "(CAST(" + date + " - INTERVAL 1 YEAR AS DATE) - DATE '1970-01-01')"
	}
}
