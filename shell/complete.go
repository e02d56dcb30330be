package shell

import (
	"context"
	dbsql "database/sql"
	"fmt"
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
	return CompleteLine(line, pos, shellNames{s}, s.opts.Cubes)
}

// CompletionNames are the names Tab completion offers, from a catalog:
// the embedded shell's connection, or ckm serve for a REPL through it.
// Each returns what it has on an error (a slow catalog, a cancelled Tab).
type CompletionNames interface {
	// Relations are the tables and views a statement may name.
	Relations(ctx context.Context) []string
	// Columns are the columns of table, or of every relation when table
	// is not one (an alias).
	Columns(ctx context.Context, table string) []string
	// Functions are ckm's SQL functions.
	Functions(ctx context.Context) []string
	// Keywords are the SQL keywords.
	Keywords(ctx context.Context) []string
	// MineOperators are the names .mine takes.
	MineOperators(ctx context.Context) []string
}

// CompleteLine is Shell.Complete with names from n and cube names cubes.
func CompleteLine(line string, pos int, n CompletionNames, cubes []string) (words []string, prefixLen int) {
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
			options = cubes
		case fields[0] == ".mine":
			options = n.MineOperators(ctx)
		case fields[0] == ".mode":
			options = Modes
		case fields[0] == ".timer" || fields[0] == ".pii":
			options = []string{"on", "off"}
		case fields[0] == ".schema" || fields[0] == ".tables":
			options = n.Relations(ctx)
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
		return matching(n.Columns(ctx, table), col, false), len(col)
	}
	var cands []string
	cands = append(cands, n.Relations(ctx)...)
	cands = append(cands, n.Columns(ctx, "")...)
	cands = append(cands, n.Functions(ctx)...)
	words = matching(cands, word, false)
	words = append(words, matching(n.Keywords(ctx), word, true)...)
	return dedupe(words), len(word)
}

// shellNames are the embedded shell's names, from its connection.
type shellNames struct{ s *Shell }

func (n shellNames) Relations(ctx context.Context) []string {
	return n.s.catalogNames(ctx, relationNamesSQL)
}

const allColumnsSQL = `SELECT DISTINCT column_name FROM duckdb_columns() WHERE database_name IN (current_database(), 'temp')`

func (n shellNames) Columns(ctx context.Context, table string) []string {
	if table != "" {
		cols := n.s.catalogNames(ctx, allColumnsSQL+` AND lower(table_name) = lower(`+quoteLiteral(table)+`)`)
		if len(cols) > 0 {
			return cols
		}
	}
	return n.s.catalogNames(ctx, allColumnsSQL) // an alias, not a table: any column
}

func (n shellNames) Functions(ctx context.Context) []string {
	return n.s.cachedNames(ctx, ckmFunctionsSQL)
}

func (n shellNames) Keywords(ctx context.Context) []string {
	return n.s.cachedNames(ctx, `SELECT keyword_name FROM duckdb_keywords()`)
}

func (n shellNames) MineOperators(ctx context.Context) []string { return n.s.mineOperators(ctx) }

// MetaCommandHelp is the embedded shell's .help text: each meta-command
// with its arguments and what it does.
func MetaCommandHelp() string {
	var b strings.Builder
	for _, c := range metaCommands {
		fmt.Fprintf(&b, "%-28s %s\n", strings.TrimSpace("."+c.name+" "+c.args), c.help)
	}
	b.WriteString("\nEnd SQL statements with ';'. Statements may span lines.\n")
	return b.String()
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
	names, _ := queryNames(ctx, s.conn, q)
	return names
}

// queryNames runs q, a query of one text column, and returns its values
// (those read before an error, with the error).
func queryNames(ctx context.Context, conn *dbsql.Conn, q string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return out, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
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
