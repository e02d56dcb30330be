package shell

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/ckm-dev/ckm/privacy"
)

// metaMine runs a mining table function: ".mine rfm as_of=2024-12-31
// window_days=365" is SELECT * FROM ckm_rfm(as_of := '2024-12-31',
// window_days := 365). The statement runs like a typed one — vetted by the
// analyst sandbox, masked on output. With no operator it lists them.
func (s *Shell) metaMine(ctx context.Context, _ string, args []string) error {
	if len(args) == 0 {
		return s.exec(ctx, item{Text: `SELECT function_name AS operator, string_agg(DISTINCT array_to_string(coalesce(parameters, []), ', '), ' | ') AS parameters
FROM duckdb_functions() WHERE function_type = 'table_macro' AND function_name LIKE 'ckm\_%' ESCAPE '\' AND database_name = current_database()
GROUP BY 1 ORDER BY 1`, trusted: true})
	}
	q, err := MineStatement(args[0], args[1:])
	if err != nil {
		return err
	}
	return s.exec(ctx, item{Text: q, Line: s.line})
}

var (
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	number     = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
)

// MineStatement writes the SELECT that .mine runs for an operator and its
// arguments: NAME=VALUE pairs become named arguments, other words
// positional ones; numbers, true, false and null stay literals, anything
// else becomes a string, and a [a,b] list a list of strings.
func MineStatement(operator string, args []string) (string, error) {
	name := strings.ToLower(operator)
	if !strings.HasPrefix(name, "ckm_") {
		name = "ckm_" + name
	}
	if !identifier.MatchString(name) {
		return "", fmt.Errorf(".mine %q: an operator is a name such as rfm, profit or churn (.mine lists them)", operator)
	}
	parts := make([]string, 0, len(args))
	for _, a := range args {
		k, v, named := strings.Cut(a, "=")
		if named && !identifier.MatchString(k) {
			named, v = false, a
		}
		if !named {
			v = a
		}
		lit := mineLiteral(v)
		if named {
			lit = k + " := " + lit
		}
		parts = append(parts, lit)
	}
	return "SELECT * FROM " + name + "(" + strings.Join(parts, ", ") + ")", nil
}

func mineLiteral(v string) string {
	if number.MatchString(v) {
		return v
	}
	switch strings.ToLower(v) {
	case "true", "false", "null":
		return strings.ToUpper(v)
	}
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		var items []string
		for _, e := range strings.Split(v[1:len(v)-1], ",") {
			if e = strings.TrimSpace(e); e != "" {
				items = append(items, quoteLiteral(e))
			}
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return quoteLiteral(v)
}

// metaCube answers .cube NAME [flags] through Options.Cube (ckm cube
// query's flags), masked like every result.
func (s *Shell) metaCube(ctx context.Context, _ string, args []string) error {
	if len(args) == 0 {
		if len(s.opts.Cubes) == 0 {
			return errors.New(".cube: no cubes here")
		}
		_, err := fmt.Fprintf(s.out, "cubes: %s\nusage: .cube NAME --measures M,.. --rows dimension.level,.. [--cols ..] [--where ..] [--totals] (as ckm cube query)\n", strings.Join(s.opts.Cubes, ", "))
		return err
	}
	if s.opts.Cube == nil {
		return errors.New(".cube: cube queries are not available in this shell")
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--allow-pii") {
			return errors.New(".cube: --allow-pii is for ckm cube query with --reveal REASON, not the shell")
		}
	}
	qctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cancel = nil
		s.mu.Unlock()
		cancel()
	}()
	names, rows, err := s.opts.Cube(qctx, args)
	if err != nil {
		if qctx.Err() != nil && ctx.Err() == nil {
			return ErrInterrupted
		}
		return err
	}
	cols := make([]Column, len(names))
	for i, n := range names {
		cols[i] = Column{Name: n, Type: "VARCHAR"}
		numeric := numericColumn(rows, i)
		if numeric {
			cols[i].Type = "DOUBLE"
		}
	}
	var m *privacy.RowMasker
	if !s.raw {
		m = privacy.NewRowMasker(names)
	}
	if s.mode == ModeJSON && s.opts.JSONDocument {
		// One JSON document for the whole -c or -f run.
		entry := docEntry{Line: s.line, Statement: ".cube " + strings.Join(args, " "), Columns: cols}
		keys := jsonKeys(cols)
		for _, r := range rows {
			vals := append([]any(nil), r...)
			if m != nil {
				m.Mask(vals)
			}
			obj, err := jsonObject(keys, cols, vals)
			if err != nil {
				return err
			}
			entry.Rows = append(entry.Rows, obj)
		}
		s.doc = append(s.doc, entry)
		return nil
	}
	rend := newRenderer(s.mode, s.out, s.opts.Limits)
	if err := rend.begin(cols); err != nil {
		return err
	}
	for _, r := range rows {
		vals := append([]any(nil), r...)
		if m != nil {
			m.Mask(vals)
		}
		if err := rend.row(vals); err != nil {
			return err
		}
	}
	return rend.end(int64(len(rows)))
}

// numericColumn reports whether every value of column i that is not NULL
// is a number (right-aligned in table mode).
func numericColumn(rows [][]any, i int) bool {
	seen := false
	for _, r := range rows {
		switch r[i].(type) {
		case nil:
		case json.Number, int, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64:
			seen = true
		default:
			return false
		}
	}
	return seen
}
