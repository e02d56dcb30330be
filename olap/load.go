package olap

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed cubes/*.yaml
var builtinCubes embed.FS

// ModelError is a mistake in a cube model: where it is and what to fix.
type ModelError struct {
	File  string
	Line  int
	Field string // e.g. measures[revenue].expr
	Msg   string
}

func (e *ModelError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// Model is a set of cubes by name.
type Model struct {
	Cubes []*Cube
}

// Cube returns the cube called name.
func (m *Model) Cube(name string) (*Cube, error) {
	for _, c := range m.Cubes {
		if c.Name == name {
			return c, nil
		}
	}
	names := make([]string, len(m.Cubes))
	for i, c := range m.Cubes {
		names[i] = c.Name
	}
	return nil, fmt.Errorf("no cube %q (cubes: %s)", name, strings.Join(names, ", "))
}

// Builtin returns the cubes shipped inside ckm: the CRM cubes (sales,
// interactions, campaigns) and the Star Schema Benchmark cube.
func Builtin() (*Model, error) {
	entries, err := builtinCubes.ReadDir("cubes")
	if err != nil {
		return nil, err
	}
	m := &Model{}
	for _, e := range entries {
		data, err := builtinCubes.ReadFile("cubes/" + e.Name())
		if err != nil {
			return nil, err
		}
		c, err := Parse("builtin:"+e.Name(), data)
		if err != nil {
			return nil, err
		}
		m.Cubes = append(m.Cubes, c)
	}
	return m, nil
}

// LoadDir adds the cubes of dir/*.yaml to m; a cube with the name of a
// builtin replaces it. A missing dir adds nothing.
func (m *Model) LoadDir(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("load cube: %w", err)
		}
		c, err := Parse(f, data)
		if err != nil {
			return err
		}
		m.Add(c)
	}
	return nil
}

// Add adds c, replacing a cube of the same name.
func (m *Model) Add(c *Cube) {
	for i, old := range m.Cubes {
		if old.Name == c.Name {
			m.Cubes[i] = c
			return
		}
	}
	m.Cubes = append(m.Cubes, c)
}

// Parse reads one cube from YAML and checks it on its own (names, references,
// expressions). Checks against the warehouse catalog are in Validate. All
// errors found are returned together, each a *ModelError.
func Parse(file string, data []byte) (*Cube, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &ModelError{File: file, Line: yamlErrLine(err), Msg: "bad YAML: " + err.Error()}
	}
	if len(doc.Content) == 0 {
		return nil, &ModelError{File: file, Line: 1, Msg: "empty cube file"}
	}
	c := &Cube{}
	if err := doc.Content[0].Decode(c); err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return nil, &ModelError{File: file, Line: le.line, Msg: le.msg}
		}
		return nil, &ModelError{File: file, Line: yamlErrLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	c.File = file
	c.Source = data
	if errs := c.resolve(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

var lineRE = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		var n int
		fmt.Sscan(m[1], &n)
		return n
	}
	return 1
}

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// factAlias is the alias of the fact table in compiled SQL; joins use their
// names, so a join may not be called this.
const factAlias = "fact"

// resolve links names to elements and checks everything that needs no
// warehouse.
func (c *Cube) resolve() []error {
	e := &modelErrors{file: c.File}
	if c.dropEmpty(e.bad) {
		return e.errs
	}
	if !nameRE.MatchString(c.Name) {
		e.bad(c.Pos, "name", "cube name %q must be lower-case letters, digits and _", c.Name)
	}
	if c.Fact == "" {
		e.bad(c.Pos, "fact", "missing: name the fact table")
	}
	c.resolveJoins(e)
	c.resolveDimensions(e)
	c.resolveMeasureNames(e)
	for _, m := range c.Measures {
		c.resolveMeasure(e, m)
	}
	e.errs = append(e.errs, c.checkCycles()...)
	c.resolveDrillThrough(e)
	c.resolveRollups(e)
	return e.errs
}

// modelErrors collects the errors found in one cube file.
type modelErrors struct {
	file string
	errs []error
}

// bad records an error at the line of field (its last part) within p.
func (e *modelErrors) bad(p Pos, field, format string, args ...any) {
	e.errs = append(e.errs, &ModelError{File: e.file, Line: p.FieldLine(lastField(field)), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// resolveJoins indexes the joins by name and checks each.
func (c *Cube) resolveJoins(e *modelErrors) {
	c.joins = map[string]*Join{}
	for i, j := range c.Joins {
		f := fmt.Sprintf("joins[%d]", i)
		switch {
		case !nameRE.MatchString(j.Name) || j.Name == factAlias:
			e.bad(j.Pos, f+".name", "join name %q must be lower-case letters, digits and _ (and not %q)", j.Name, factAlias)
		case c.joins[j.Name] != nil:
			e.bad(j.Pos, f+".name", "join %q declared twice", j.Name)
		}
		if j.Table == "" || j.FactKey == "" || j.Key == "" {
			e.bad(j.Pos, f, "a join needs table, fact_key and key")
		}
		if j.Kind != "" && j.Kind != "left" && j.Kind != "inner" {
			e.bad(j.Pos, f+".kind", "kind %q: want left or inner", j.Kind)
		}
		c.joins[j.Name] = j
	}
}

// resolveDimensions checks the dimensions and indexes their levels.
func (c *Cube) resolveDimensions(e *modelErrors) {
	c.levels = map[string]*Level{}
	dims := map[string]bool{}
	for i, d := range c.Dimensions {
		f := fmt.Sprintf("dimensions[%s]", d.Name)
		if !nameRE.MatchString(d.Name) {
			e.bad(d.Pos, fmt.Sprintf("dimensions[%d].name", i), "dimension name %q must be lower-case letters, digits and _", d.Name)
		}
		if dims[d.Name] {
			e.bad(d.Pos, f+".name", "dimension declared twice")
		}
		dims[d.Name] = true
		if d.Join != "" && c.joins[d.Join] == nil {
			e.bad(d.Pos, f+".join", "unknown join %q (joins: %s)", d.Join, strings.Join(c.joinNames(), ", "))
		}
		if d.Time != nil {
			if c.timeDim != nil {
				e.bad(d.Pos, f+".time", "only one dimension may be the time dimension (already %s)", c.timeDim.Name)
			}
			c.timeDim = d
		}
		c.resolveLevels(e, d, f)
	}
}

// resolveLevels adds the levels of dimension d (field f), linking each
// level of a hierarchy to its parent and child.
func (c *Cube) resolveLevels(e *modelErrors, d *Dimension, f string) {
	for hi, h := range d.Hierarchies {
		hf := fmt.Sprintf("%s.hierarchies[%d]", f, hi)
		if len(h.Levels) == 0 {
			e.bad(h.Pos, hf+".levels", "a hierarchy needs at least one level")
		}
		for li, l := range h.Levels {
			c.addLevel(e, d, l, fmt.Sprintf("%s.levels[%d]", hf, li), h, li)
			if li > 0 {
				l.parent = h.Levels[li-1]
				h.Levels[li-1].child = l
			}
		}
	}
	for ai, l := range d.Attributes {
		c.addLevel(e, d, l, fmt.Sprintf("%s.attributes[%d]", f, ai), nil, 0)
	}
}

// addLevel checks level l of dimension d (at depth of hierarchy h, or an
// attribute when h is nil) and indexes it by reference.
func (c *Cube) addLevel(e *modelErrors, d *Dimension, l *Level, field string, h *Hierarchy, depth int) {
	l.dim, l.hier, l.depth = d, h, depth
	if !nameRE.MatchString(l.Name) {
		e.bad(l.Pos, field+".name", "level name %q must be lower-case letters, digits and _", l.Name)
	}
	if l.Column == "" {
		e.bad(l.Pos, field+".column", "missing: name the column of level %s", l.Name)
	}
	if c.levels[l.Ref()] != nil {
		e.bad(l.Pos, field+".name", "level %s declared twice in dimension %s (level names are unique per dimension)", l.Name, d.Name)
	}
	switch l.Grain {
	case "":
	case "year", "quarter", "month", "day":
		if d.Time == nil {
			e.bad(l.Pos, field+".grain", "grain is only for levels of the time dimension (add time: to dimension %s)", d.Name)
		}
	default:
		e.bad(l.Pos, field+".grain", "grain %q: want year, quarter, month or day", l.Grain)
	}
	c.levels[l.Ref()] = l
}

// resolveMeasureNames indexes the measures by name, before any measure is
// resolved (measures refer to one another).
func (c *Cube) resolveMeasureNames(e *modelErrors) {
	c.measures = map[string]*Measure{}
	for _, m := range c.Measures {
		if c.measures[m.Name] != nil {
			e.bad(m.Pos, "measures["+m.Name+"].name", "measure declared twice")
		}
		if !nameRE.MatchString(m.Name) {
			e.bad(m.Pos, "measures["+m.Name+"].name", "measure name %q must be lower-case letters, digits and _", m.Name)
		}
		c.measures[m.Name] = m
	}
}

// resolveDrillThrough resolves the columns drill-through may show.
func (c *Cube) resolveDrillThrough(e *modelErrors) {
	if c.DrillThrough == nil {
		return
	}
	for i, tc := range c.DrillThrough.Columns {
		f := fmt.Sprintf("drill_through.columns[%d]", i)
		ref, err := c.columnRef(tc.Column)
		if err != nil {
			e.bad(tc.Pos, f+".column", "%v", err)
		}
		tc.expr = ref
		if tc.Name == "" {
			tc.Name = tc.Column
		}
		switch tc.PII {
		case "", "mobile", "id_number", "email", "name", "full":
		default:
			e.bad(tc.Pos, f+".pii", "pii %q: want mobile, id_number, email, name or full", tc.PII)
		}
	}
}

// resolveRollups resolves each rollup's levels (with their ancestors, each
// once) and checks its measures are aggregates of the cube.
func (c *Cube) resolveRollups(e *modelErrors) {
	for i, r := range c.Rollups {
		f := fmt.Sprintf("rollups[%d]", i)
		if !nameRE.MatchString(r.Name) {
			e.bad(r.Pos, f+".name", "rollup name %q must be lower-case letters, digits and _", r.Name)
		}
		seen := map[*Level]bool{}
		for _, ref := range r.Levels {
			l, err := c.Level(ref)
			if err != nil {
				e.bad(r.Pos, f+".levels", "%v", err)
				continue
			}
			for _, a := range ancestry(l) {
				if !seen[a] {
					seen[a] = true
					r.levels = append(r.levels, a)
				}
			}
		}
		for _, name := range r.Measures {
			m := c.measures[name]
			switch {
			case m == nil:
				e.bad(r.Pos, f+".measures", "unknown measure %q", name)
			case m.Agg == "":
				e.bad(r.Pos, f+".measures", "measure %q is computed from others; list the measures it uses instead", name)
			}
		}
	}
}

// dropEmpty reports empty list entries ("- " with nothing after it), which
// YAML decodes as nil; it returns true when any was found.
func (c *Cube) dropEmpty(bad func(p Pos, field, format string, args ...any)) bool {
	found := false
	check := func(n int, isNil func(i int) bool, p Pos, field string) {
		for i := 0; i < n; i++ {
			if isNil(i) {
				bad(p, field, "entry %d is empty", i)
				found = true
			}
		}
	}
	check(len(c.Joins), func(i int) bool { return c.Joins[i] == nil }, c.Pos, "joins")
	check(len(c.Dimensions), func(i int) bool { return c.Dimensions[i] == nil }, c.Pos, "dimensions")
	check(len(c.Measures), func(i int) bool { return c.Measures[i] == nil }, c.Pos, "measures")
	check(len(c.Rollups), func(i int) bool { return c.Rollups[i] == nil }, c.Pos, "rollups")
	for _, d := range c.Dimensions {
		if d == nil {
			continue
		}
		check(len(d.Hierarchies), func(i int) bool { return d.Hierarchies[i] == nil }, d.Pos, "dimensions["+d.Name+"].hierarchies")
		check(len(d.Attributes), func(i int) bool { return d.Attributes[i] == nil }, d.Pos, "dimensions["+d.Name+"].attributes")
		for _, h := range d.Hierarchies {
			if h != nil {
				check(len(h.Levels), func(i int) bool { return h.Levels[i] == nil }, h.Pos, "dimensions["+d.Name+"].hierarchies["+h.Name+"].levels")
			}
		}
	}
	for _, m := range c.Measures {
		if m != nil {
			check(len(m.Where), func(i int) bool { return m.Where[i] == nil }, m.Pos, "measures["+m.Name+"].where")
		}
	}
	if c.DrillThrough != nil {
		check(len(c.DrillThrough.Columns), func(i int) bool { return c.DrillThrough.Columns[i] == nil }, c.DrillThrough.Pos, "drill_through.columns")
	}
	return found
}

func lastField(f string) string {
	if i := strings.LastIndexByte(f, '.'); i >= 0 {
		return f[i+1:]
	}
	return f
}

// ancestry returns l's ancestors, coarsest first, then l.
func ancestry(l *Level) []*Level {
	var out []*Level
	for a := l; a != nil; a = a.parent {
		out = append([]*Level{a}, out...)
	}
	return out
}

func (c *Cube) joinNames() []string {
	var n []string
	for _, j := range c.Joins {
		n = append(n, j.Name)
	}
	return n
}

// columnRef resolves "column" (on the fact) or "join.column" to quoted SQL.
func (c *Cube) columnRef(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("missing column")
	}
	if alias, col, ok := strings.Cut(name, "."); ok {
		if c.joins[alias] == nil {
			return "", fmt.Errorf("%q: unknown join %q (joins: %s)", name, alias, strings.Join(c.joinNames(), ", "))
		}
		return quoteIdent(alias) + "." + quoteIdent(col), nil
	}
	return factAlias + "." + quoteIdent(name), nil
}

// resolveMeasure checks measure m, which is exactly one kind of measure:
// an aggregate, derived, a percent of total, or a time measure.
func (c *Cube) resolveMeasure(e *modelErrors, m *Measure) {
	f := "measures[" + m.Name + "]"
	kinds := 0
	for _, set := range []bool{m.Agg != "", m.Derived != "", m.PercentOfTotal != "", m.Time != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		e.bad(m.Pos, f, "a measure needs exactly one of agg, derived, percent_of_total or time")
		return
	}
	switch {
	case m.Agg != "":
		c.resolveAggregate(e, m, f)
	case m.Derived != "":
		c.resolveDerived(e, m, f)
	case m.PercentOfTotal != "":
		b := c.measures[m.PercentOfTotal]
		if b == nil {
			e.bad(m.Pos, f+".percent_of_total", "unknown measure %q", m.PercentOfTotal)
		} else if b.Agg == "" && b.Derived == "" {
			e.bad(m.Pos, f+".percent_of_total", "base %q must be an aggregate or derived measure", b.Name)
		}
		m.deps = []string{m.PercentOfTotal}
	case m.Time != nil:
		c.resolveTimeMeasure(e, m, f)
	}
}

// resolveAggregate checks an aggregate measure (field f): its function,
// expression, conditions and semi-additivity.
func (c *Cube) resolveAggregate(e *modelErrors, m *Measure, f string) {
	switch m.Agg {
	case AggSum, AggCount, AggCountDistinct, AggAvg, AggMin, AggMax:
	default:
		e.bad(m.Pos, f+".agg", "agg %q: want sum, count, count_distinct, avg, min or max", m.Agg)
	}
	if m.Expr == "" && m.Agg != AggCount {
		e.bad(m.Pos, f+".expr", "agg %s needs expr (a column or arithmetic of columns)", m.Agg)
	}
	if m.Expr != "" {
		toks, err := tokenizeExpr(m.Expr)
		if err == nil {
			m.expr, err = renderExpr(toks, c.columnRef)
		}
		if err != nil {
			e.bad(m.Pos, f+".expr", "%v", err)
		}
	}
	for i, cond := range m.Where {
		c.resolveCondition(e, cond, fmt.Sprintf("%s.where[%d]", f, i))
	}
	switch m.SemiAdditive {
	case "":
	case "last", "first", "average":
		if c.timeDim == nil || c.timeDim.Time.Date == "" {
			e.bad(m.Pos, f+".semi_additive", "semi-additive measures need a time dimension with a date column")
		}
		if m.Agg == AggAvg || m.Agg == AggMin || m.Agg == AggMax {
			e.bad(m.Pos, f+".semi_additive", "semi_additive applies to sum, count or count_distinct, not %s", m.Agg)
		}
	default:
		e.bad(m.Pos, f+".semi_additive", "semi_additive %q: want last, first or average", m.SemiAdditive)
	}
}

// resolveCondition resolves the column of an aggregate's condition (field
// cf) and checks its operator takes its values.
func (c *Cube) resolveCondition(e *modelErrors, cond *Condition, cf string) {
	ref, err := c.columnRef(cond.Column)
	if err != nil {
		e.bad(cond.Pos, cf+".column", "%v", err)
	}
	cond.expr = ref
	if cond.Value != nil {
		cond.Values = append([]any{cond.Value}, cond.Values...)
	}
	if err := checkOp(cond.Op, len(cond.Values)); err != nil {
		e.bad(cond.Pos, cf+".op", "%v", err)
	}
}

// resolveDerived renders a derived measure's expression over the measures
// it names, which become its dependencies.
func (c *Cube) resolveDerived(e *modelErrors, m *Measure, f string) {
	toks, err := tokenizeExpr(m.Derived)
	if err == nil {
		m.derived, err = renderExpr(toks, func(name string) (string, error) {
			if c.measures[name] == nil {
				return "", fmt.Errorf("unknown measure %q", name)
			}
			m.deps = append(m.deps, name)
			return "{" + name + "}", nil
		})
	}
	if err != nil {
		e.bad(m.Pos, f+".derived", "%v", err)
	}
}

// resolveTimeMeasure checks a time measure: a known aggregate or derived
// base, a time dimension, and exactly one of compare, to_date or rolling.
func (c *Cube) resolveTimeMeasure(e *modelErrors, m *Measure, f string) {
	t := m.Time
	b := c.measures[t.Base]
	if b == nil {
		e.bad(t.Pos, f+".time.base", "unknown measure %q", t.Base)
	} else if b.Agg == "" && b.Derived == "" {
		e.bad(t.Pos, f+".time.base", "base %q must be an aggregate or derived measure", b.Name)
	}
	if c.timeDim == nil {
		e.bad(t.Pos, f+".time", "time measures need a dimension with time: columns")
	}
	if n := timeKinds(e, t, f); n != 1 {
		e.bad(t.Pos, f+".time", "set exactly one of compare, to_date or rolling")
	}
	if (t.ToDate != "" || t.Rolling != 0) && b != nil && !additive(c, b) {
		e.bad(t.Pos, f+".time.base", "period-to-date and rolling sums need an additive base (sum or count), and %q is not", b.Name)
	}
	m.deps = []string{t.Base}
}

// timeKinds checks each of compare, to_date and rolling that t sets, and
// returns how many it sets.
func timeKinds(e *modelErrors, t *TimeIntel, f string) int {
	n := 0
	if t.Compare != "" {
		n++
		if t.Compare != "prior_period" && t.Compare != "last_year" {
			e.bad(t.Pos, f+".time.compare", "compare %q: want prior_period or last_year", t.Compare)
		}
		switch t.Output {
		case "", "value", "delta", "ratio":
		default:
			e.bad(t.Pos, f+".time.output", "output %q: want value, delta or ratio", t.Output)
		}
	}
	if t.ToDate != "" {
		n++
		if t.ToDate != "year" && t.ToDate != "quarter" && t.ToDate != "month" {
			e.bad(t.Pos, f+".time.to_date", "to_date %q: want year, quarter or month", t.ToDate)
		}
	}
	if t.Rolling != 0 {
		n++
		if t.Rolling < 1 {
			e.bad(t.Pos, f+".time.rolling", "rolling must be a positive number of periods")
		}
	}
	return n
}

// additive reports whether m's values can be summed across periods.
func additive(c *Cube, m *Measure) bool {
	return (m.Agg == AggSum || m.Agg == AggCount) && m.SemiAdditive == ""
}

func (c *Cube) checkCycles() []error {
	state := map[string]int{}
	var errs []error
	var visit func(m *Measure, path []string)
	visit = func(m *Measure, path []string) {
		if state[m.Name] == 2 {
			return
		}
		if state[m.Name] == 1 {
			errs = append(errs, &ModelError{File: c.File, Line: m.Line, Field: "measures[" + m.Name + "]",
				Msg: "measures refer to each other in a cycle: " + strings.Join(append(path, m.Name), " -> ")})
			return
		}
		state[m.Name] = 1
		for _, d := range m.deps {
			if dm := c.measures[d]; dm != nil {
				visit(dm, append(path, m.Name))
			}
		}
		state[m.Name] = 2
	}
	for _, m := range c.Measures {
		visit(m, nil)
	}
	return errs
}

// Level finds a level by "dimension.level" (or a bare level name when only
// one dimension has it).
func (c *Cube) Level(ref string) (*Level, error) {
	if l := c.levels[ref]; l != nil {
		return l, nil
	}
	if !strings.Contains(ref, ".") {
		var found []*Level
		for _, l := range c.levels {
			if l.Name == ref {
				found = append(found, l)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return nil, fmt.Errorf("level %q is ambiguous in cube %s: write dimension.level", ref, c.Name)
		}
	}
	return nil, fmt.Errorf("cube %s has no level %q (levels: %s)", c.Name, ref, strings.Join(c.LevelRefs(), ", "))
}

// LevelRefs lists the cube's levels as dimension.level, in model order.
func (c *Cube) LevelRefs() []string {
	var out []string
	for _, d := range c.Dimensions {
		for _, h := range d.Hierarchies {
			for _, l := range h.Levels {
				out = append(out, l.Ref())
			}
		}
		for _, l := range d.Attributes {
			out = append(out, l.Ref())
		}
	}
	return out
}

// Measure finds a measure by name.
func (c *Cube) Measure(name string) (*Measure, error) {
	if m := c.measures[name]; m != nil {
		return m, nil
	}
	var names []string
	for _, m := range c.Measures {
		names = append(names, m.Name)
	}
	return nil, fmt.Errorf("cube %s has no measure %q (measures: %s)", c.Name, name, strings.Join(names, ", "))
}

// checkOp checks a filter operator and its number of values.
func checkOp(op string, n int) error {
	switch op {
	case "eq", "ne", "lt", "le", "gt", "ge":
		if n != 1 {
			return fmt.Errorf("op %s takes one value, got %d", op, n)
		}
	case "in", "not_in":
		if n == 0 {
			return fmt.Errorf("op %s needs at least one value", op)
		}
	case "between":
		if n != 2 {
			return fmt.Errorf("op between takes two values, got %d", n)
		}
	case "is_null", "not_null":
		if n != 0 {
			return fmt.Errorf("op %s takes no value", op)
		}
	default:
		return fmt.Errorf("unknown op %q (want eq, ne, lt, le, gt, ge, in, not_in, between, is_null, not_null)", op)
	}
	return nil
}

// levelExpr is the SQL of a level's label column; keyExpr of its member key.
func (c *Cube) levelExpr(l *Level) string { return c.dimColumn(l.dim, l.Column) }

func (c *Cube) keyExpr(l *Level) string {
	if l.Key == "" {
		return c.levelExpr(l)
	}
	return c.dimColumn(l.dim, l.Key)
}

func (c *Cube) dimColumn(d *Dimension, col string) string {
	if d.Join == "" {
		return factAlias + "." + quoteIdent(col)
	}
	return quoteIdent(d.Join) + "." + quoteIdent(col)
}
