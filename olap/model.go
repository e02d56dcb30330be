package olap

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pos is where a model element was written: its line and the line of each of
// its fields, so errors can point at the exact spot.
type Pos struct {
	Line   int
	fields map[string]int
}

// FieldLine returns the line of field (the element's line if absent).
func (p Pos) FieldLine(field string) int {
	if l, ok := p.fields[field]; ok {
		return l
	}
	return p.Line
}

// Cube is one cube: a fact table, the dimensions joined to it and its measures.
type Cube struct {
	Name         string        `yaml:"name"`
	Title        string        `yaml:"title"`
	Fact         string        `yaml:"fact"`
	Joins        []*Join       `yaml:"joins"`
	Dimensions   []*Dimension  `yaml:"dimensions"`
	Measures     []*Measure    `yaml:"measures"`
	DrillThrough *DrillThrough `yaml:"drill_through"`
	Rollups      []*Rollup     `yaml:"rollups"`
	Pos          `yaml:"-"`

	// File is the YAML file the cube came from ("builtin:sales.yaml" for
	// the cubes shipped inside ckm).
	File string `yaml:"-"`
	// Source is the YAML text, hashed into the result cache key.
	Source []byte `yaml:"-"`

	joins    map[string]*Join
	levels   map[string]*Level
	measures map[string]*Measure
	timeDim  *Dimension
}

// Join joins a dimension table to the fact: fact.fact_key = table.key. Kind
// is "left" (default: facts are never dropped) or "inner" (when referential
// integrity is guaranteed, as in SSB).
type Join struct {
	Name    string `yaml:"name"`
	Table   string `yaml:"table"`
	FactKey string `yaml:"fact_key"`
	Key     string `yaml:"key"`
	Kind    string `yaml:"kind"`
	Pos     `yaml:"-"`
}

// Dimension groups levels of one join (or of the fact itself when Join is
// empty) into hierarchies and stand-alone attributes.
type Dimension struct {
	Name        string       `yaml:"name"`
	Join        string       `yaml:"join"`
	Time        *TimeColumns `yaml:"time"`
	Hierarchies []*Hierarchy `yaml:"hierarchies"`
	Attributes  []*Level     `yaml:"attributes"`
	Pos         `yaml:"-"`
}

// TimeColumns names the calendar columns of a time dimension, from which
// period ordinals for comparisons, period-to-date and rolling windows are
// computed.
type TimeColumns struct {
	Year    string `yaml:"year"`
	Quarter string `yaml:"quarter"`
	Month   string `yaml:"month"`
	Date    string `yaml:"date"`
	Pos     `yaml:"-"`
}

// Hierarchy is an ordered list of levels, coarsest first; each level must be
// functionally determined by the next (a child has one parent).
type Hierarchy struct {
	Name   string   `yaml:"name"`
	Levels []*Level `yaml:"levels"`
	Pos    `yaml:"-"`
}

// Level is one grouping column of a dimension. Key, when set, identifies
// members (e.g. a county code) and Column labels them.
type Level struct {
	Name   string `yaml:"name"`
	Column string `yaml:"column"`
	Key    string `yaml:"key"`
	Grain  string `yaml:"grain"` // year | quarter | month | day on a time dimension
	Pos    `yaml:"-"`

	dim    *Dimension
	hier   *Hierarchy
	depth  int // index in its hierarchy (0 for attributes)
	parent *Level
	child  *Level
}

// Ref is the level's name as queries write it: dimension.level.
func (l *Level) Ref() string { return l.dim.Name + "." + l.Name }

// Measure aggregation kinds.
const (
	AggSum           = "sum"
	AggCount         = "count"
	AggCountDistinct = "count_distinct"
	AggAvg           = "avg"
	AggMin           = "min"
	AggMax           = "max"
)

// Measure is an aggregate over the fact (Agg with Expr, optionally filtered
// and semi-additive over the date), or a measure computed from others:
// Derived (an arithmetic expression of measures), PercentOfTotal, or Time
// (comparison, period-to-date or rolling window of a base measure).
type Measure struct {
	Name           string       `yaml:"name"`
	Title          string       `yaml:"title"`
	Agg            string       `yaml:"agg"`
	Expr           string       `yaml:"expr"`
	Where          []*Condition `yaml:"where"`
	SemiAdditive   string       `yaml:"semi_additive"` // last | first | average
	Derived        string       `yaml:"derived"`
	PercentOfTotal string       `yaml:"percent_of_total"`
	Time           *TimeIntel   `yaml:"time"`
	Pos            `yaml:"-"`

	expr    string   // compiled SQL of Expr over the fact alias (or "")
	deps    []string // measures a derived expression uses
	derived string   // compiled derived expression with {measure} holes
}

// Condition is a fixed filter of a filtered measure. Values are bound as
// parameters like query filters.
type Condition struct {
	Column string `yaml:"column"`
	Op     string `yaml:"op"`
	Value  any    `yaml:"value"`
	Values []any  `yaml:"values"`
	Pos    `yaml:"-"`

	expr string
}

// TimeIntel derives a measure from Base along the query's time level:
// Compare (prior_period | last_year) with Output (value | delta | ratio), or
// ToDate (year | quarter | month), or Rolling (number of periods summed).
type TimeIntel struct {
	Base    string `yaml:"base"`
	Compare string `yaml:"compare"`
	Output  string `yaml:"output"`
	ToDate  string `yaml:"to_date"`
	Rolling int    `yaml:"rolling"`
	Pos     `yaml:"-"`
}

// DrillThrough whitelists the base-row columns a drill-through may show;
// columns marked PII are masked unless the caller's role allows raw values.
type DrillThrough struct {
	Columns []*ThroughColumn `yaml:"columns"`
	Pos     `yaml:"-"`
}

// ThroughColumn is one drill-through column: a fact column or join.column,
// with PII one of "", mobile, id_number, email, name, full.
type ThroughColumn struct {
	Name   string `yaml:"name"`
	Column string `yaml:"column"`
	PII    string `yaml:"pii"`
	Pos    `yaml:"-"`

	expr string
}

// Rollup declares an aggregate table at the grain of Levels (their ancestors
// are stored too) holding the components of Measures.
type Rollup struct {
	Name     string   `yaml:"name"`
	Levels   []string `yaml:"levels"`
	Measures []string `yaml:"measures"`
	Pos      `yaml:"-"`

	levels []*Level // declared levels with their ancestors, in hierarchy order
}

// Table is the warehouse table that materializes the rollup.
func (r *Rollup) Table(c *Cube) string { return "olap_rollup_" + c.Name + "_" + r.Name }

// decodeStrict decodes a mapping node into v (a pointer to a struct with yaml
// tags), rejecting unknown keys, and returns the element's position.
func decodeStrict(n *yaml.Node, v any, what string) (Pos, error) {
	pos := Pos{Line: n.Line, fields: map[string]int{}}
	if n.Kind != yaml.MappingNode {
		return pos, &lineError{n.Line, fmt.Sprintf("%s must be a mapping, got %s", what, nodeKind(n))}
	}
	known := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			known[tag] = true
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !known[k.Value] {
			names := make([]string, 0, len(known))
			for name := range known {
				names = append(names, name)
			}
			sort.Strings(names)
			return pos, &lineError{k.Line, fmt.Sprintf("unknown field %q in %s (known: %s)", k.Value, what, strings.Join(names, ", "))}
		}
		pos.fields[k.Value] = k.Line
	}
	if err := n.Decode(v); err != nil {
		return pos, fmt.Errorf("%s: %w", what, err)
	}
	return pos, nil
}

// lineError is a decoding error at a YAML line.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// UnmarshalYAML implementations record positions and reject unknown fields.

func (c *Cube) UnmarshalYAML(n *yaml.Node) error {
	type raw Cube
	p, err := decodeStrict(n, (*raw)(c), "cube")
	c.Pos = p
	return err
}

func (j *Join) UnmarshalYAML(n *yaml.Node) error {
	type raw Join
	p, err := decodeStrict(n, (*raw)(j), "join")
	j.Pos = p
	return err
}

func (d *Dimension) UnmarshalYAML(n *yaml.Node) error {
	type raw Dimension
	p, err := decodeStrict(n, (*raw)(d), "dimension")
	d.Pos = p
	return err
}

func (t *TimeColumns) UnmarshalYAML(n *yaml.Node) error {
	type raw TimeColumns
	p, err := decodeStrict(n, (*raw)(t), "time")
	t.Pos = p
	return err
}

func (h *Hierarchy) UnmarshalYAML(n *yaml.Node) error {
	type raw Hierarchy
	p, err := decodeStrict(n, (*raw)(h), "hierarchy")
	h.Pos = p
	return err
}

func (l *Level) UnmarshalYAML(n *yaml.Node) error {
	type raw Level
	p, err := decodeStrict(n, (*raw)(l), "level")
	l.Pos = p
	return err
}

func (m *Measure) UnmarshalYAML(n *yaml.Node) error {
	type raw Measure
	p, err := decodeStrict(n, (*raw)(m), "measure")
	m.Pos = p
	return err
}

func (c *Condition) UnmarshalYAML(n *yaml.Node) error {
	type raw Condition
	p, err := decodeStrict(n, (*raw)(c), "condition")
	c.Pos = p
	return err
}

func (t *TimeIntel) UnmarshalYAML(n *yaml.Node) error {
	type raw TimeIntel
	p, err := decodeStrict(n, (*raw)(t), "time")
	t.Pos = p
	return err
}

func (d *DrillThrough) UnmarshalYAML(n *yaml.Node) error {
	type raw DrillThrough
	p, err := decodeStrict(n, (*raw)(d), "drill_through")
	d.Pos = p
	return err
}

func (t *ThroughColumn) UnmarshalYAML(n *yaml.Node) error {
	type raw ThroughColumn
	p, err := decodeStrict(n, (*raw)(t), "drill-through column")
	t.Pos = p
	return err
}

func (r *Rollup) UnmarshalYAML(n *yaml.Node) error {
	type raw Rollup
	p, err := decodeStrict(n, (*raw)(r), "rollup")
	r.Pos = p
	return err
}
