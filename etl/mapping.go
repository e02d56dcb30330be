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
	// Parquet) or to one dotted JSON path (NDJSON/JSON).
	Columns map[string]Aliases `yaml:"columns"`
	// Items names a JSON array of line items; each item becomes a row, with
	// ItemColumns read from the item.
	Items       string             `yaml:"items"`
	ItemColumns map[string]Aliases `yaml:"item_columns"`
	// Corrections says what a changed sales line under a known key does
	// (a key with an explicit line number, seen before with other
	// content): "restate" (default) reverses the old line and loads the new
	// one; "reject" keeps the old line and rejects the new one. Either way
	// the ledger records it.
	Corrections string `yaml:"corrections"`

	origin string // where the mapping was declared, for errors
}

// Correction policies of a sales source (Mapping.Corrections).
const (
	CorrectionsRestate = "restate"
	CorrectionsReject  = "reject"
)

// Aliases is one header name or a list of them.
type Aliases []string

// UnmarshalYAML accepts a scalar or a sequence.
func (a *Aliases) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*a = Aliases{n.Value}
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*a = s
		return nil
	}
	return fmt.Errorf("line %d: want a header name or a list of names", n.Line)
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
	if len(m.ItemColumns) > 0 && m.Items == "" {
		return fmt.Errorf("item_columns need items: the JSON array holding the line items")
	}
	return nil
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
		if i, ok := byName[m.Name]; ok {
			out[i] = m
			continue
		}
		byName[m.Name] = len(out)
		out = append(out, m)
	}
	return out
}

// match returns the mapping whose pattern matches the file's base name.
func match(mappings []Mapping, path string) (*Mapping, bool) {
	base := filepath.Base(path)
	for i := range mappings {
		if ok, _ := filepath.Match(mappings[i].Pattern, base); ok {
			return &mappings[i], true
		}
	}
	return nil, false
}
