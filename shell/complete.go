package shell

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Complete returns the completions of the word that ends at byte pos of
// line, and how many bytes of line (before pos) that word takes: the
// meta-commands after a leading dot; cube names after .cube, operators
// after .mine, modes after .mode; the columns of a table after "table.";
// else SQL keywords, tables and views, columns and ckm's functions. Names
// come from the catalog each time, so new tables complete at once.
func (s *Shell) Complete(line string, pos int) (words []string, prefixLen int) {
	if pos < 0 || pos > len(line) {
		pos = len(line)
	}
	head := line[:pos]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	if t := strings.TrimLeft(head, " \t"); strings.HasPrefix(t, ".") {
		fields := strings.Fields(t)
		word, arg := "", len(fields)
		if !strings.HasSuffix(t, " ") && !strings.HasSuffix(t, "\t") {
			word, arg = fields[len(fields)-1], len(fields)-1
		}
		var options []string
		switch {
		case arg == 0:
			for _, c := range metaCommands {
				options = append(options, "."+c.name)
			}
		case arg > 1:
		case fields[0] == ".cube":
			options = s.opts.Cubes
		case fields[0] == ".mine":
			options = s.mineOperators(ctx)
		case fields[0] == ".mode":
			options = Modes
		case fields[0] == ".timer" || fields[0] == ".pii":
			options = []string{"on", "off"}
		case fields[0] == ".schema" || fields[0] == ".tables":
			options = s.catalogNames(ctx, relationNamesSQL)
		}
		return matching(options, word, false), len(word)
	}
	start := len(head)
	for start > 0 && (isIdent(head[start-1]) || head[start-1] == '.') {
		start--
	}
	word := head[start:]

	// table.column
	if dot := strings.LastIndexByte(word, '.'); dot >= 0 {
		table, col := word[:dot], word[dot+1:]
		if i := strings.LastIndexByte(table, '.'); i >= 0 {
			table = table[i+1:] // schema.table.column
		}
		cols := s.catalogNames(ctx, `SELECT DISTINCT column_name FROM duckdb_columns() WHERE database_name IN (current_database(), 'temp') AND lower(table_name) = lower(`+quoteLiteral(table)+`)`)
		if len(cols) == 0 {
			// An alias, not a table: any column.
			cols = s.catalogNames(ctx, `SELECT DISTINCT column_name FROM duckdb_columns() WHERE database_name IN (current_database(), 'temp')`)
		}
		return matching(cols, col, false), len(col)
	}
	var cands []string
	cands = append(cands, s.catalogNames(ctx, relationNamesSQL)...)
	cands = append(cands, s.catalogNames(ctx, `SELECT DISTINCT column_name FROM duckdb_columns() WHERE database_name IN (current_database(), 'temp')`)...)
	cands = append(cands, s.cachedNames(ctx, ckmFunctionsSQL)...)
	words = matching(cands, word, false)
	words = append(words, matching(s.cachedNames(ctx, `SELECT keyword_name FROM duckdb_keywords()`), word, true)...)
	return dedupe(words), len(word)
}

// relationNamesSQL lists the tables and views a statement may name.
const relationNamesSQL = `SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() OR temporary
UNION SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal`

// mineOperators are the names .mine takes: ckm's table macros without
// their ckm_ prefix.
func (s *Shell) mineOperators(ctx context.Context) []string {
	var ops []string
	for _, f := range s.cachedNames(ctx, mineOperatorsSQL) {
		ops = append(ops, strings.TrimPrefix(f, "ckm_"))
	}
	return ops
}

const mineOperatorsSQL = `SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'table_macro' AND function_name LIKE 'ckm\_%' ESCAPE '\' AND database_name = current_database() ORDER BY 1`

const ckmFunctionsSQL = `SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name LIKE 'ckm\_%' ESCAPE '\'`

// cachedNames is catalogNames once per session, for the lists that do not
// change while the shell runs (ckm's functions are registered before it
// starts) and are slow to list: duckdb_functions() takes about 100 ms.
func (s *Shell) cachedNames(ctx context.Context, q string) []string {
	s.mu.Lock()
	names, ok := s.completions[q]
	s.mu.Unlock()
	if ok {
		return names
	}
	names = s.catalogNames(ctx, q)
	if ctx.Err() == nil {
		s.mu.Lock()
		if s.completions == nil {
			s.completions = map[string][]string{}
		}
		s.completions[q] = names
		s.mu.Unlock()
	}
	return names
}

// catalogNames runs a query of one text column over the catalog; on any
// error (a cancelled Tab) it returns what it has.
func (s *Shell) catalogNames(ctx context.Context, q string) []string {
	rows, err := s.conn.QueryContext(ctx, q)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			out = append(out, n)
		}
	}
	return out
}

// matching returns the candidates that start with prefix, ignoring case.
// Keywords come in the case the prefix is typed in (upper when it is
// empty or upper case).
func matching(cands []string, prefix string, keyword bool) []string {
	var out []string
	lower := strings.ToLower(prefix)
	upper := prefix == "" || strings.IndexFunc(prefix, unicode.IsLower) < 0
	for _, c := range cands {
		if !strings.HasPrefix(strings.ToLower(c), lower) {
			continue
		}
		if keyword {
			if upper {
				c = strings.ToUpper(c)
			} else {
				c = strings.ToLower(c)
			}
		}
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func dedupe(words []string) []string {
	sort.Strings(words)
	return slices.Compact(words)
}

// quoteLiteral writes s as a SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
