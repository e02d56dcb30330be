package olap

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Query is one cube question. The same struct is read from JSON and built
// from CLI flags.
type Query struct {
	Cube     string   `json:"cube"`
	Measures []string `json:"measures"`
	Rows     []string `json:"rows,omitempty"` // levels as dimension.level
	Cols     []string `json:"cols,omitempty"` // levels pivoted onto columns
	Where    []Filter `json:"where,omitempty"`
	// Totals adds subtotals along the row and column levels and the grand
	// total (GROUPING SETS), each row tagged with its level.
	Totals  bool     `json:"totals,omitempty"`
	Drill   *Drill   `json:"drill,omitempty"`
	RollUp  string   `json:"roll_up,omitempty"` // a level to roll up to its parent
	Top     *Top     `json:"top,omitempty"`
	Order   []Order  `json:"order,omitempty"`
	Limit   int      `json:"limit,omitempty"`
	Through *Through `json:"through,omitempty"`
	// AllowPII lets drill-through show raw PII columns (the caller's role).
	AllowPII bool `json:"allow_pii,omitempty"`
	// NoRollups answers from the base tables even when a rollup could.
	NoRollups bool `json:"no_rollups,omitempty"`
}

// Filter slices or dices on a level: Op is eq, ne, lt, le, gt, ge, in,
// not_in, between, is_null or not_null. Values are bound as parameters.
type Filter struct {
	Level  string `json:"level"`
	Op     string `json:"op"`
	Values []any  `json:"values,omitempty"`
}

// Drill drills down from Level (in rows or cols) to its child level, or to
// To when set; with Member, only that member of Level is expanded.
type Drill struct {
	Level  string `json:"level"`
	Member any    `json:"member,omitempty"`
	To     string `json:"to,omitempty"`
}

// Top keeps the N members of Level with the largest By measure within each
// group of the levels before it, folding the rest into an "Other" member
// when Other is set (without it the rest are dropped, and subtotals then
// cover the kept members only).
type Top struct {
	Level string `json:"level"`
	N     int    `json:"n"`
	By    string `json:"by"`
	Other bool   `json:"other,omitempty"`
}

// Order sorts by a measure or a level.
type Order struct {
	Key  string `json:"key"`
	Desc bool   `json:"desc,omitempty"`
}

// Through asks for the base rows behind a cell (the cell is given by Where):
// whitelisted Columns (all when empty), one page of Limit rows from Offset.
type Through struct {
	Columns []string `json:"columns,omitempty"`
	Offset  int      `json:"offset,omitempty"`
	Limit   int      `json:"limit,omitempty"`
}

// ParseQuery reads a query from JSON, rejecting unknown fields.
func ParseQuery(data []byte) (Query, error) {
	var q Query
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return q, fmt.Errorf("parse query: %w", err)
	}
	return q, nil
}

// ParseFilter reads a CLI filter: "level=v", "level!=v", "level<v",
// "level<=v", "level>v", "level>=v", "level in a,b,c", "level not in a,b",
// "level between a,b", "level is null", "level is not null". Values stay
// strings; DuckDB casts them to the column's type as bound parameters.
func ParseFilter(s string) (Filter, error) {
	s = strings.TrimSpace(s)
	lower := asciiLower(s) // same byte offsets as s, unlike strings.ToLower
	for _, w := range []struct{ word, op string }{{" not in ", "not_in"}, {" in ", "in"}, {" between ", "between"}} {
		if i := strings.Index(lower, w.word); i > 0 {
			vals := splitValues(s[i+len(w.word):])
			f := Filter{Level: strings.TrimSpace(s[:i]), Op: w.op, Values: vals}
			return f, checkOp(f.Op, len(vals))
		}
	}
	if strings.HasSuffix(lower, " is not null") {
		return Filter{Level: strings.TrimSpace(s[:len(s)-len(" is not null")]), Op: "not_null"}, nil
	}
	if strings.HasSuffix(lower, " is null") {
		return Filter{Level: strings.TrimSpace(s[:len(s)-len(" is null")]), Op: "is_null"}, nil
	}
	for _, o := range []struct{ sym, op string }{{"!=", "ne"}, {">=", "ge"}, {"<=", "le"}, {"=", "eq"}, {"<", "lt"}, {">", "gt"}} {
		if i := strings.Index(s, o.sym); i > 0 {
			return Filter{Level: strings.TrimSpace(s[:i]), Op: o.op, Values: []any{strings.TrimSpace(s[i+len(o.sym):])}}, nil
		}
	}
	return Filter{}, fmt.Errorf("filter %q: want level=value, level in a,b, level between a,b, level<value …", s)
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func splitValues(s string) []any {
	var out []any
	for _, v := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

// ParseTop reads a CLI top-N: "level:N:measure" with an optional ":other".
func ParseTop(s string) (*Top, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 || len(parts) > 4 {
		return nil, fmt.Errorf("top %q: want level:N:measure[:other]", s)
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 1 {
		return nil, fmt.Errorf("top %q: N must be a positive number", s)
	}
	t := &Top{Level: parts[0], N: n, By: parts[2]}
	if len(parts) == 4 {
		if parts[3] != "other" {
			return nil, fmt.Errorf("top %q: the fourth part may only be \"other\"", s)
		}
		t.Other = true
	}
	return t, nil
}

// ParseDrill reads a CLI drill: "level[=member][>to_level]".
func ParseDrill(s string) (*Drill, error) {
	d := &Drill{}
	if i := strings.Index(s, ">"); i >= 0 {
		d.To = strings.TrimSpace(s[i+1:])
		s = s[:i]
	}
	if lvl, member, ok := strings.Cut(s, "="); ok {
		d.Level, d.Member = strings.TrimSpace(lvl), strings.TrimSpace(member)
	} else {
		d.Level = strings.TrimSpace(s)
	}
	if d.Level == "" {
		return nil, fmt.Errorf("drill %q: want level[=member][>to_level]", s)
	}
	return d, nil
}

// ParseOrder reads "key" or "key desc" / "-key".
func ParseOrder(s string) Order {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return Order{Key: s[1:], Desc: true}
	}
	if k, ok := strings.CutSuffix(s, " desc"); ok {
		return Order{Key: strings.TrimSpace(k), Desc: true}
	}
	k, _ := strings.CutSuffix(s, " asc")
	return Order{Key: strings.TrimSpace(k)}
}

// DrillDown returns q drilled down as Drill describes: the child (or To)
// level is added after the drilled level, and a member, when given, becomes
// a filter.
func DrillDown(c *Cube, q Query, d Drill) (Query, error) {
	l, err := c.Level(d.Level)
	if err != nil {
		return q, fmt.Errorf("drill: %w", err)
	}
	target := l.child
	if d.To != "" {
		if target, err = c.Level(d.To); err != nil {
			return q, fmt.Errorf("drill: %w", err)
		}
		if target.hier == nil || target.hier != l.hier || target.depth <= l.depth {
			return q, fmt.Errorf("drill: %s is not below %s in a hierarchy", target.Ref(), l.Ref())
		}
	}
	if target == nil {
		return q, fmt.Errorf("drill: %s is the finest level of its hierarchy; nothing to drill into", l.Ref())
	}
	out := q
	out.Drill = nil
	placed := false
	insert := func(list []string) []string {
		var res []string
		for _, r := range list {
			res = append(res, r)
			if rl, err := c.Level(r); err == nil && rl == l {
				res = append(res, target.Ref())
				placed = true
			}
		}
		return res
	}
	out.Rows = insert(q.Rows)
	out.Cols = insert(q.Cols)
	if !placed {
		return q, fmt.Errorf("drill: level %s is not in the query's rows or cols", l.Ref())
	}
	if d.Member != nil {
		out.Where = append(append([]Filter(nil), q.Where...), Filter{Level: l.Ref(), Op: "eq", Values: []any{d.Member}})
	}
	return out, nil
}

// RollUp returns q with level replaced by its parent, or removed when the
// parent is already in the query.
func RollUp(c *Cube, q Query, level string) (Query, error) {
	l, err := c.Level(level)
	if err != nil {
		return q, fmt.Errorf("roll up: %w", err)
	}
	out := q
	out.RollUp = ""
	found := false
	has := func(list []string, x *Level) bool {
		for _, r := range list {
			if rl, err := c.Level(r); err == nil && rl == x {
				return true
			}
		}
		return false
	}
	replace := func(list []string) []string {
		var res []string
		for _, r := range list {
			if rl, err := c.Level(r); err == nil && rl == l {
				found = true
				if l.parent != nil && !has(q.Rows, l.parent) && !has(q.Cols, l.parent) {
					res = append(res, l.parent.Ref())
				}
				continue
			}
			res = append(res, r)
		}
		return res
	}
	out.Rows = replace(q.Rows)
	out.Cols = replace(q.Cols)
	if !found {
		return q, fmt.Errorf("roll up: level %s is not in the query's rows or cols", l.Ref())
	}
	return out, nil
}
