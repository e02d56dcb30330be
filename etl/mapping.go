package etl

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed mappings/*.yaml
var builtinMappings embed.FS

// Mapping says how one kind of source export becomes canonical fields of a
// target: which files it matches, their format, and which header (or JSON
// path) feeds each field.
type Mapping struct {
	Name     string `yaml:"name"`
	Target   string `yaml:"target"`  // customers | products | sales | interactions | campaigns | responses
	Channel  string `yaml:"channel"` // dim_channel code the records come from
	Pattern  string `yaml:"pattern"` // file name glob
	Format   string `yaml:"format"`  // csv | tsv | ndjson | json | parquet | xlsx; empty: detect
	Encoding string `yaml:"encoding"`
	Sheet    string `yaml:"sheet"`
	// Columns maps a canonical field to header aliases (delimited, XLSX,
	// Parquet) or to one dotted JSON path (NDJSON/JSON); in a delimited or
	// XLSX export also to a constant ({value: 1}) or an expression over
	// the export's columns ({sql: "price + freight"}).
	Columns map[string]Column `yaml:"columns"`
	// Items names a JSON array of line items; each item becomes a row, with
	// ItemColumns read from the item.
	Items       string            `yaml:"items"`
	ItemColumns map[string]Column `yaml:"item_columns"`
	// Joins are other files of the same export joined to each line of the
	// file Pattern matches (an order header file to its order items, a
	// customer file to the orders) by declared keys.
	Joins []Join `yaml:"joins"`
	// Corrections says what a changed sales line under a known key does
	// (a key with an explicit line number, seen before with other
	// content): "restate" (default) reverses the old line and loads the new
	// one; "reject" keeps the old line and rejects the new one. Either way
	// the ledger records it.
	Corrections string `yaml:"corrections"`
	// Cancelled says which sales lines belong to cancelled orders and what
	// becomes of them.
	Cancelled *Cancelled `yaml:"cancelled"`
	// Guests says what a sales line without any customer identity does:
	// "guest" loads it for the explicit guest member, "reject" rejects it
	// (no_customer_key). Empty: web orders are rejected, other lines load
	// for Unknown.
	Guests string `yaml:"guests"`

	origin     string // where the mapping was declared, for errors
	configured bool   // declared in ckm.yaml (precedes the built-in ones)
	// A join's file is read with a mapping of its own: joinOf is the
	// source it joins, join the declaration.
	joinOf *Mapping
	join   *Join
}

// Cancelled recognises the lines of cancelled orders: an order status in
// Status (compared case-insensitively) or an order id starting with
// OrderPrefix (an invoice number such as C536379). As says what they
// become: "return" (the default) loads them as returns (negative quantity,
// amount and freight), "exclude" rejects them (order_cancelled).
type Cancelled struct {
	Status      []string `yaml:"status"`
	OrderPrefix string   `yaml:"order_prefix"`
	As          string   `yaml:"as"`
}

// Guest policies of a sales source (Mapping.Guests).
const (
	GuestsGuest  = "guest"
	GuestsReject = "reject"
)

// Correction policies of a sales source (Mapping.Corrections).
const (
	CorrectionsRestate = "restate"
	CorrectionsReject  = "reject"
)

// Aliases is one header name or a list of them.
type Aliases []string

// Column is where a canonical field comes from: the first of its header
// aliases the file has (a header of a joined file is qualified by the
// join's name: orders.status), a constant, or a SQL expression over the
// columns of the export and its joins.
type Column struct {
	Aliases Aliases
	Value   *string // a constant
	SQL     string  // an expression
}

// derived reports whether the field is a constant or an expression.
func (c Column) derived() bool { return c.Value != nil || c.SQL != "" }

// UnmarshalYAML accepts a header name, a list of them, {value: V} or
// {sql: EXPR}.
func (c *Column) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		c.Aliases = Aliases{n.Value}
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		c.Aliases = s
		return nil
	case yaml.MappingNode:
		var v struct {
			Value *yaml.Node
			SQL   string
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k, val := n.Content[i].Value, n.Content[i+1]; k {
			case "value":
				v.Value = val
			case "sql":
				if val.Kind != yaml.ScalarNode {
					return fmt.Errorf("line %d: sql: want an expression", val.Line)
				}
				v.SQL = val.Value
			default:
				return fmt.Errorf("line %d: %q: want {value: CONSTANT} or {sql: EXPRESSION}", n.Content[i].Line, k)
			}
		}
		switch {
		case v.Value != nil && v.SQL != "":
			return fmt.Errorf("line %d: a field is a value or an sql expression, not both", n.Line)
		case v.Value != nil:
			if v.Value.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: value: want a scalar constant", n.Line)
			}
			val := v.Value.Value
			c.Value = &val
		case strings.TrimSpace(v.SQL) != "":
			c.SQL = v.SQL
		default:
			return fmt.Errorf("line %d: want {value: CONSTANT} or {sql: EXPRESSION}", n.Line)
		}
		return nil
	}
	return fmt.Errorf("line %d: want a header name, a list of names, {value: ...} or {sql: ...}", n.Line)
}

// Join is another file of an export joined to each line of a source's
// file: On maps columns of the file it joins to (the source's own file, or
// the join named From) to columns of this one. A line whose key is not
// found is rejected (join_missing) unless Optional; a key on several lines
// of the joined files is rejected after its first (join_key_repeated)
// unless Combine.
type Join struct {
	Name     string            `yaml:"name"`
	Pattern  string            `yaml:"pattern"`
	From     string            `yaml:"from"`
	On       map[string]string `yaml:"on"`
	Optional bool              `yaml:"optional"`
	// Combine joins every line of a key (the payments of an order) as one:
	// numbers summed, other values listed; no line is a repeated key.
	Combine  bool   `yaml:"combine"`
	Sheet    string `yaml:"sheet"`
	Encoding string `yaml:"encoding"`
}

// thisAlias is how expressions name the source's own file beside its joins.
const thisAlias = "this"

// raw reports whether the mapping stages whole records and derives its
// fields in SQL: it joins files, or has constants or expressions.
func (m *Mapping) raw() bool {
	if len(m.Joins) > 0 {
		return true
	}
	for _, c := range m.Columns {
		if c.derived() {
			return true
		}
	}
	return false
}

type mappingFile struct {
	Sources []Mapping `yaml:"sources"`
}

// DefaultMappings returns the mappings shipped inside ckm.
func DefaultMappings() ([]Mapping, error) {
	entries, err := builtinMappings.ReadDir("mappings")
	if err != nil {
		return nil, err
	}
	var all []Mapping
	for _, e := range entries {
		data, err := builtinMappings.ReadFile("mappings/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms, err := ParseMappings("built-in "+e.Name(), data)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	return all, nil
}

// LoadMappingFile reads a `sources:` list from a YAML file such as ckm.yaml.
func LoadMappingFile(path string) ([]Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	return ParseMappings(path, data)
}

// ParseMappings parses and validates a `sources:` document; origin names it
// in errors.
func ParseMappings(origin string, data []byte) ([]Mapping, error) {
	var f mappingFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	for i := range f.Sources {
		m := &f.Sources[i]
		m.origin = origin
		if err := m.validate(); err != nil {
			return nil, fmt.Errorf("%s: source %d (%s): %w", origin, i+1, m.Name, err)
		}
	}
	return f.Sources, nil
}

func (m *Mapping) validate() error {
	if m.Name == "" {
		return fmt.Errorf("name is required")
	}
	t, ok := targets[m.Target]
	if !ok {
		return fmt.Errorf("target %q: want one of %s", m.Target, strings.Join(targetNames(), ", "))
	}
	if m.Pattern == "" {
		return fmt.Errorf("pattern is required (a file name glob such as \"orders_*.csv\")")
	}
	if _, err := filepath.Match(m.Pattern, "x"); err != nil {
		return fmt.Errorf("pattern %q: %w", m.Pattern, err)
	}
	switch m.Format {
	case "", "csv", "tsv", "ndjson", "json", "parquet", "xlsx":
	default:
		return fmt.Errorf("format %q: want csv, tsv, ndjson, json, parquet or xlsx", m.Format)
	}
	fields := map[string]bool{}
	for f := range m.Columns {
		fields[f] = true
	}
	for f := range m.ItemColumns {
		fields[f] = true
	}
	for f := range fields {
		if !t.has(f) {
			return fmt.Errorf("column %q is not a field of target %s (fields: %s)", f, m.Target, strings.Join(t.fieldNames(), ", "))
		}
	}
	for _, f := range t.Fields {
		if f.Required && !fields[f.Name] {
			return fmt.Errorf("required field %q of target %s is not mapped", f.Name, m.Target)
		}
	}
	switch m.Corrections {
	case "":
		m.Corrections = CorrectionsRestate
	case CorrectionsRestate, CorrectionsReject:
	default:
		return fmt.Errorf("corrections %q: want %s or %s", m.Corrections, CorrectionsRestate, CorrectionsReject)
	}
	if c := m.Cancelled; c != nil {
		switch {
		case m.Target != "sales":
			return fmt.Errorf("cancelled: only a sales source has orders to cancel")
		case len(c.Status) == 0 && c.OrderPrefix == "":
			return fmt.Errorf("cancelled: give status (the cancelled statuses) or order_prefix (e.g. C)")
		}
		switch c.As {
		case "":
			c.As = "return"
		case "return", "exclude":
		default:
			return fmt.Errorf("cancelled.as %q: want return or exclude", c.As)
		}
	}
	switch m.Guests {
	case "", GuestsGuest, GuestsReject:
		if m.Guests != "" && m.Target != "sales" {
			return fmt.Errorf("guests: only a sales source has guests")
		}
	default:
		return fmt.Errorf("guests %q: want %s or %s", m.Guests, GuestsGuest, GuestsReject)
	}
	if len(m.ItemColumns) > 0 && m.Items == "" {
		return fmt.Errorf("item_columns need items: the JSON array holding the line items")
	}
	for f, c := range m.ItemColumns {
		if c.derived() {
			return fmt.Errorf("item column %q: constants and expressions need a delimited or XLSX export", f)
		}
	}
	if m.raw() {
		switch m.Format {
		case "", "csv", "tsv", "xlsx":
		default:
			return fmt.Errorf("format %s: joins, constants and expressions need a delimited or XLSX export", m.Format)
		}
		if m.Items != "" {
			return fmt.Errorf("joins, constants and expressions need a delimited or XLSX export, not JSON items")
		}
	}
	return m.validateJoins()
}

// validateJoins checks the joins' names, patterns and keys.
func (m *Mapping) validateJoins() error {
	names := map[string]bool{thisAlias: true}
	for i, j := range m.Joins {
		switch {
		case !isIdent(j.Name):
			return fmt.Errorf("join %d: name %q: want a name of letters, digits and _ (not starting with a digit)", i+1, j.Name)
		case names[j.Name]:
			return fmt.Errorf("join %s: the name is taken (%s names the source's own file)", j.Name, thisAlias)
		case j.Pattern == "":
			return fmt.Errorf("join %s: pattern is required", j.Name)
		case len(j.On) == 0:
			return fmt.Errorf("join %s: on is required: {column of %s: column of this file}", j.Name, cmpOr(j.From, thisAlias))
		}
		if _, err := filepath.Match(j.Pattern, "x"); err != nil {
			return fmt.Errorf("join %s: pattern %q: %w", j.Name, j.Pattern, err)
		}
		if j.Pattern == m.Pattern {
			return fmt.Errorf("join %s: pattern %q is the source's own", j.Name, j.Pattern)
		}
		if j.From != "" && !names[j.From] {
			return fmt.Errorf("join %s: from %q is not an earlier join (earlier: %s)", j.Name, j.From, strings.Join(sortedSet(names), ", "))
		}
		names[j.Name] = true
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortedSet(s map[string]bool) []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// isIdent reports whether s is a plain SQL identifier.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// fields returns the canonical fields this mapping fills, sorted.
func (m *Mapping) fields() []string {
	var out []string
	for f := range m.Columns {
		out = append(out, f)
	}
	for f := range m.ItemColumns {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// mergeMappings lays configured mappings over the built-in ones: a configured
// mapping with a built-in's name replaces it.
func mergeMappings(builtin, configured []Mapping) []Mapping {
	byName := map[string]int{}
	out := append([]Mapping(nil), builtin...)
	for i, m := range out {
		byName[m.Name] = i
	}
	for _, m := range configured {
		m.configured = true
		if i, ok := byName[m.Name]; ok {
			out[i] = m
			continue
		}
		byName[m.Name] = len(out)
		out = append(out, m)
	}
	return out
}

// match returns the first mapping whose pattern matches the file's base name
// (see claims for all of them).
func match(mappings []Mapping, path string) (*Mapping, bool) {
	cs := claims(mappings, path)
	if len(cs) == 0 {
		return nil, false
	}
	return cs[0], true
}

// claims returns the mappings that read the file at path: every configured
// source whose pattern (or one of whose joins' patterns) matches its base
// name — one file may feed several sources — and, when none does, the
// first built-in one. A join's claim is a mapping of its own (joinOf set).
func claims(mappings []Mapping, path string) []*Mapping {
	base := filepath.Base(path)
	var configured, builtin []*Mapping
	for i := range mappings {
		m := &mappings[i]
		var hit *Mapping
		if ok, _ := filepath.Match(m.Pattern, base); ok {
			hit = m
		}
		for k := range m.Joins {
			if ok, _ := filepath.Match(m.Joins[k].Pattern, base); ok && hit == nil {
				hit = m.joinMapping(k)
			}
		}
		switch {
		case hit == nil:
		case m.configured:
			configured = append(configured, hit)
		default:
			builtin = append(builtin, hit)
		}
	}
	if len(configured) > 0 {
		return configured
	}
	if len(builtin) > 0 {
		return builtin[:1]
	}
	return nil
}

// joinMapping is the mapping that reads the files of join k of m.
func (m *Mapping) joinMapping(k int) *Mapping {
	j := &m.Joins[k]
	return &Mapping{Name: m.Name + "." + j.Name, Target: m.Target, Channel: m.Channel, Pattern: j.Pattern,
		Encoding: j.Encoding, Sheet: j.Sheet, Corrections: m.Corrections, origin: m.origin, configured: m.configured,
		joinOf: m, join: j}
}
