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

func resolveQuery(c *Cube, q Query) (*resolved, error) {
	if q.Cube != "" && q.Cube != c.Name {
		return nil, fmt.Errorf("query is for cube %q, not %q", q.Cube, c.Name)
	}
	var err error
	if q.Drill != nil {
		if q, err = DrillDown(c, q, *q.Drill); err != nil {
			return nil, err
		}
	}
	if q.RollUp != "" {
		if q, err = RollUp(c, q, q.RollUp); err != nil {
			return nil, err
		}
	}
	rq := &resolved{c: c, totals: q.Totals, limit: q.Limit, through: q.Through, allowPII: q.AllowPII}
	seen := map[*Level]string{}
	levels := func(refs []string, where string) ([]*Level, error) {
		var out []*Level
		for _, r := range refs {
			l, err := c.Level(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if prev, dup := seen[l]; dup {
				return nil, fmt.Errorf("%s: level %s is already in %s", where, l.Ref(), prev)
			}
			seen[l] = where
			out = append(out, l)
		}
		return out, nil
	}
	if rq.rows, err = levels(q.Rows, "rows"); err != nil {
		return nil, err
	}
	if rq.cols, err = levels(q.Cols, "cols"); err != nil {
		return nil, err
	}
	for i, f := range q.Where {
		l, err := c.Level(f.Level)
		if err != nil {
			return nil, fmt.Errorf("where[%d]: %w", i, err)
		}
		if err := checkOp(f.Op, len(f.Values)); err != nil {
			return nil, fmt.Errorf("where[%d] (%s): %w", i, f.Level, err)
		}
		for _, v := range f.Values {
			switch v.(type) {
			case string, bool, int, int32, int64, float64, float32, uint, uint32, uint64, int8, int16, uint8, uint16, nil:
			default:
				return nil, fmt.Errorf("where[%d] (%s): value %v of type %T: want a string, number or boolean", i, f.Level, v, v)
			}
		}
		rq.filters = append(rq.filters, rfilter{l: l, op: f.Op, vals: f.Values})
	}
	if q.Through != nil {
		if q.Through.Limit < 0 || q.Through.Offset < 0 {
			return nil, fmt.Errorf("through: offset and limit must not be negative")
		}
		return rq, nil
	}
	if len(q.Measures) == 0 {
		return nil, fmt.Errorf("no measures: name at least one of %s", strings.Join(measureNames(c), ", "))
	}
	state := map[*Measure]int{}
	var add func(m *Measure) error
	add = func(m *Measure) error {
		if state[m] == 2 {
			return nil
		}
		state[m] = 2
		for _, d := range m.deps {
			dm := c.measures[d]
			if m.Derived != "" && (dm.PercentOfTotal != "" || dm.Time != nil) {
				return fmt.Errorf("measure %s: derived measures may use aggregate or derived measures, not %s", m.Name, dm.Name)
			}
			if err := add(dm); err != nil {
				return err
			}
		}
		rq.closure = append(rq.closure, m)
		return nil
	}
	for _, name := range q.Measures {
		m, err := c.Measure(name)
		if err != nil {
			return nil, err
		}
		for _, r := range rq.requests {
			if r == m {
				return nil, fmt.Errorf("measure %s asked twice", name)
			}
		}
		rq.requests = append(rq.requests, m)
		if err := add(m); err != nil {
			return nil, err
		}
	}
	if rq.hasTime() && len(rq.timeLevels()) == 0 {
		return nil, fmt.Errorf("time measures compare periods: put a level with a grain (e.g. date.year, date.month) in rows or cols")
	}
	for _, m := range rq.closure {
		if m.Time != nil && m.Time.ToDate != "" {
			if grainRank[rq.timeLevels()[0].Grain] < grainRank[m.Time.ToDate] {
				return nil, fmt.Errorf("measure %s sums %s-to-date: put a time level at %s or finer in rows or cols", m.Name, m.Time.ToDate, m.Time.ToDate)
			}
		}
	}
	if q.Top != nil {
		l, err := c.Level(q.Top.Level)
		if err != nil {
			return nil, fmt.Errorf("top: %w", err)
		}
		if _, ok := seen[l]; !ok {
			return nil, fmt.Errorf("top: level %s must be in rows or cols", l.Ref())
		}
		by, err := c.Measure(q.Top.By)
		if err != nil {
			return nil, fmt.Errorf("top: %w", err)
		}
		if by.Agg == "" && by.Derived == "" || by.SemiAdditive != "" {
			return nil, fmt.Errorf("top: rank by a plain aggregate or derived measure, not %s", by.Name)
		}
		if q.Top.N < 1 {
			return nil, fmt.Errorf("top: n must be at least 1")
		}
		if err := add(by); err != nil {
			return nil, err
		}
		rq.top = &rtop{l: l, n: q.Top.N, by: by, other: q.Top.Other}
	}
	for _, o := range q.Order {
		if m, err := c.Measure(o.Key); err == nil {
			found := false
			for _, r := range rq.requests {
				found = found || r == m
			}
			if !found {
				return nil, fmt.Errorf("order: measure %s is not in the query's measures", o.Key)
			}
			rq.order = append(rq.order, rorder{measure: m, desc: o.Desc})
			continue
		}
		l, err := c.Level(o.Key)
		if err != nil {
			return nil, fmt.Errorf("order: %q is neither a measure nor a level of cube %s", o.Key, c.Name)
		}
		if _, ok := seen[l]; !ok {
			return nil, fmt.Errorf("order: level %s is not in rows or cols", l.Ref())
		}
		rq.order = append(rq.order, rorder{level: l, desc: o.Desc})
	}
	if q.Limit < 0 {
		return nil, fmt.Errorf("limit must not be negative")
	}
	return rq, nil
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
type binder struct{ args []any }

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
	var sel, where []string
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
	for _, f := range s.filters {
		where = append(where, filterSQL(b, c.levelExpr(f.l), f.op, f.vals))
	}
	if len(sel) == 0 {
		sel = []string{"1 AS " + q("_one")}
	}
	text := strings.Join(sel, ", ") + " FROM " + quoteIdent(c.Fact) + " AS " + factAlias
	for _, j := range c.Joins {
		if !strings.Contains(text, quoteIdent(j.Name)+".") && !whereUses(where, j) {
			continue
		}
		kw := " LEFT JOIN "
		if j.Kind == "inner" {
			kw = " JOIN "
		}
		text += kw + quoteIdent(j.Table) + " AS " + quoteIdent(j.Name) + " ON " + factAlias + "." + quoteIdent(j.FactKey) + " = " + quoteIdent(j.Name) + "." + quoteIdent(j.Key)
	}
	if len(where) > 0 {
		text += " WHERE " + strings.Join(where, " AND ")
	}
	return "SELECT " + text
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
