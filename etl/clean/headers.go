package clean

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// FieldSpec describes a target field of a source mapping and the column
// headers it may appear under. Name and every alias are compared by
// HeaderKey, so "手机号", "手机号 " and "手机号（）" are one alias.
type FieldSpec struct {
	Name     string
	Aliases  []string
	Required bool
}

// HeaderError is a problem matching a file's header row to fields. Column
// positions are 1-based, as a user counts them.
type HeaderError struct {
	Rule    string   // header_missing, header_duplicate or header_ambiguous
	Field   string   // the field concerned (for header_ambiguous, the first of them)
	Fields  []string // header_ambiguous: every field the header matches
	Header  string   // the header as written (header_duplicate: the second one)
	Column  int      // its 1-based position (0 for header_missing)
	Other   string   // header_duplicate: the first header mapped to Field
	OtherAt int      // its 1-based position
	Aliases []string // header_missing: the names the field was looked for under
}

func (e *HeaderError) Error() string {
	switch e.Rule {
	case RuleHeaderMissing:
		return fmt.Sprintf("required column %q is missing: no header matches %s", e.Field, strings.Join(quoteAll(e.Aliases), ", "))
	case RuleHeaderDup:
		return fmt.Sprintf("duplicate column for %q: header %q (column %d) and header %q (column %d) both match it; remove or rename one",
			e.Field, e.Other, e.OtherAt, e.Header, e.Column)
	case RuleHeaderAmbiguous:
		return fmt.Sprintf("ambiguous header %q (column %d): it matches fields %s; fix the mapping's aliases",
			e.Header, e.Column, strings.Join(quoteAll(e.Fields), " and "))
	}
	return fmt.Sprintf("%s: header %q (column %d)", e.Rule, e.Header, e.Column)
}

func quoteAll(ss []string) []string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return q
}

// HeaderMatch is the result of matching a header row to fields.
type HeaderMatch struct {
	// Columns maps each field found to its 0-based column index.
	Columns map[string]int
	// Extra lists the 0-based indexes of columns that match no field, in
	// order; they are allowed and ignored by the loader.
	Extra []int
}

// MapHeaders matches a header row to fields and returns, for each field
// found, its 0-based column index. A header matches a field when its
// HeaderKey equals the key of the field's name or of one of its aliases.
// Columns matching no field are fine (see MatchHeaders for their list).
// The error, when not nil, joins one *HeaderError per problem: a required
// field with no column, two columns matching the same field, or a column
// matching more than one field.
func MapHeaders(headers []string, fields []FieldSpec) (map[string]int, error) {
	m, err := MatchHeaders(headers, fields)
	return m.Columns, err
}

// MatchHeaders is MapHeaders that also returns the unmatched columns.
func MatchHeaders(headers []string, fields []FieldSpec) (HeaderMatch, error) {
	byKey := map[string][]string{} // alias key → field names, in spec order
	for _, f := range fields {
		seen := map[string]bool{}
		for _, a := range append([]string{f.Name}, f.Aliases...) {
			k := HeaderKey(a)
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			byKey[k] = append(byKey[k], f.Name)
		}
	}
	match := HeaderMatch{Columns: map[string]int{}}
	var errs []error
	for i, h := range headers {
		names := byKey[HeaderKey(h)]
		switch {
		case len(names) == 0:
			match.Extra = append(match.Extra, i)
			continue
		case len(names) > 1:
			errs = append(errs, &HeaderError{Rule: RuleHeaderAmbiguous, Field: names[0], Fields: names, Header: h, Column: i + 1})
			continue
		}
		name := names[0]
		if j, dup := match.Columns[name]; dup {
			errs = append(errs, &HeaderError{Rule: RuleHeaderDup, Field: name, Header: h, Column: i + 1, Other: headers[j], OtherAt: j + 1})
			continue
		}
		match.Columns[name] = i
	}
	for _, f := range fields {
		if _, ok := match.Columns[f.Name]; ok || !f.Required || ambiguousField(errs, f.Name) {
			continue
		}
		errs = append(errs, &HeaderError{Rule: RuleHeaderMissing, Field: f.Name, Aliases: append([]string{f.Name}, f.Aliases...)})
	}
	sort.SliceStable(errs, func(a, b int) bool { return errColumn(errs[a]) < errColumn(errs[b]) })
	return match, errors.Join(errs...)
}

// ambiguousField reports whether a header matching field was already
// reported as ambiguous, so it is not also reported missing.
func ambiguousField(errs []error, field string) bool {
	for _, err := range errs {
		if he := err.(*HeaderError); he.Rule == RuleHeaderAmbiguous {
			for _, f := range he.Fields {
				if f == field {
					return true
				}
			}
		}
	}
	return false
}

// errColumn orders errors by column, missing fields last.
func errColumn(err error) int {
	if he := err.(*HeaderError); he.Column > 0 {
		return he.Column
	}
	return 1 << 30
}
