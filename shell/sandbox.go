package shell

import (
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ckm-dev/ckm/privacy"
)

// ErrRefused is returned (wrapped) for a statement the analyst sandbox
// does not run.
var ErrRefused = errors.New("refused in an analyst session")

// The analyst sandbox. DuckDB's enable_external_access and
// lock_configuration are global to a database instance, and it has no
// per-connection read-only mode, so the shell vets each statement itself
// before it runs: DuckDB parses it (json_serialize_sql, which serializes
// only SELECT statements), and the tree must read nothing but the
// relations an analyst may read (privacy.AnalystMayRead and the masked
// views of schema analyst) through no table function but a few that read
// no files.

// sandboxTableFunctions are the table functions an analyst may call: they
// compute from their arguments and read neither files nor the catalog.
var sandboxTableFunctions = []string{"range", "generate_series", "unnest", "json_each", "json_tree", "repeat", "repeat_row"}

// sandboxDeniedFunctions are scalar functions with effects outside the
// query: sequences, the log, sleeping, the environment and settings.
var sandboxDeniedFunctions = []string{"nextval", "currval", "setval", "write_log", "sleep_ms", "pg_sleep",
	"getenv", "current_setting",
	// The vault's write functions, where a process registers them (a
	// load): a token oracle would let a session test guesses of ID numbers.
	"ckm_token", "ckm_seal", "ckm_seal_text", "ckm_new_customer_key",
	// The identity step's graph functions (etl/identity_labels.go), where
	// a process registers them: one changes a load's graph, the other
	// reads it.
	"ckm_label_edge", "ckm_label_of"}

// treeTableRefs are the kinds of FROM items the sandbox knows; any other
// (a future kind of table reference) is refused.
var treeTableRefs = []string{"BASE_TABLE", "JOIN", "SUBQUERY", "TABLE_FUNCTION", "EMPTY", "EXPRESSION_LIST", "SHOW_REF", "PIVOT"}

// vet returns nil if text only reads what the shell's principal may read,
// else an error wrapping ErrRefused that says what was refused and why.
func (s *Shell) vet(ctx context.Context, text string) error {
	return vet(ctx, s.conn, text, s.raw)
}

// Vet checks SQL that ckm runs for an analyst outside the shell — a mining
// command's --source query, a server's statement — as the analyst sandbox
// does: nil if text only reads relations an analyst may read, else an
// error wrapping ErrRefused. conn is any connection of the warehouse.
func Vet(ctx context.Context, conn *dbsql.Conn, text string) error {
	return vet(ctx, conn, text, false)
}

func vet(ctx context.Context, conn *dbsql.Conn, text string, raw bool) error {
	var out string
	if err := conn.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", text).Scan(&out); err != nil {
		return fmt.Errorf("vet statement: %w", err)
	}
	var tree struct {
		Error      bool              `json:"error"`
		Type       string            `json:"error_type"`
		Message    string            `json:"error_message"`
		Position   string            `json:"position"`
		Statements []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal([]byte(out), &tree); err != nil {
		return fmt.Errorf("vet statement: %w", err)
	}
	if tree.Error {
		if strings.Contains(tree.Message, "Only SELECT") {
			return refusal(text)
		}
		if tree.Type == "parser" {
			pos, err := strconv.Atoi(tree.Position)
			if err != nil {
				pos = -1
			}
			return &parseError{msg: tree.Message, text: text, pos: pos}
		}
		return fmt.Errorf("%w: the statement could not be checked (%s: %s)", ErrRefused, tree.Type, tree.Message)
	}
	cat, err := sandboxCatalogOf(ctx, conn)
	if err != nil {
		return err
	}
	for _, st := range tree.Statements {
		var node any
		if err := json.Unmarshal(st, &node); err != nil {
			return fmt.Errorf("vet statement: %w", err)
		}
		v := &vetter{cat: cat, raw: raw, ctes: map[string]bool{}, text: text}
		v.collectCTEs(node)
		if err := v.walk(node); err != nil {
			return err
		}
	}
	return nil
}

// parseError is DuckDB's parser error, in DuckDB's words, for a statement
// the sandbox could not parse (so nothing runs), with the line and a caret
// under the position as DuckDB's own errors show them.
type parseError struct {
	msg  string
	text string
	pos  int // in characters of text; -1 unknown
}

func (e *parseError) Error() string {
	return "Parser Error: " + e.msg + caretLines(e.text, e.pos)
}

// caretLines draws "LINE n: text" and a caret under character pos of
// text, the way DuckDB marks an error's position ("" when pos is unknown).
func caretLines(text string, pos int) string {
	rs := []rune(text)
	if pos < 0 || pos > len(rs) {
		return ""
	}
	lineNo, lineStart := 1, 0
	for i := 0; i < pos; i++ {
		if rs[i] == '\n' {
			lineNo, lineStart = lineNo+1, i+1
		}
	}
	lineEnd := lineStart
	for lineEnd < len(rs) && rs[lineEnd] != '\n' {
		lineEnd++
	}
	prefix := fmt.Sprintf("LINE %d: ", lineNo)
	line := strings.ReplaceAll(string(rs[lineStart:lineEnd]), "\t", " ")
	col := DisplayWidth(strings.ReplaceAll(string(rs[lineStart:pos]), "\t", " "))
	return "\n\n" + prefix + line + "\n" + strings.Repeat(" ", len(prefix)+col) + "^"
}

// sandboxCatalog is what the vetter needs to know of the warehouse: its
// catalog name, the relations of schemas main and analyst, and ckm's table
// macros.
type sandboxCatalog struct {
	name    string
	main    map[string]bool
	analyst map[string]bool
	macros  map[string]bool
}

func sandboxCatalogOf(ctx context.Context, conn *dbsql.Conn) (*sandboxCatalog, error) {
	c := &sandboxCatalog{main: map[string]bool{}, analyst: map[string]bool{}}
	var path dbsql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT current_database(), (SELECT path FROM duckdb_databases() WHERE database_name = current_database())").Scan(&c.name, &path); err != nil {
		return nil, fmt.Errorf("vet statement: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT schema_name, lower(table_name) FROM duckdb_tables() WHERE database_name = current_database()
		UNION ALL SELECT schema_name, lower(view_name) FROM duckdb_views() WHERE database_name = current_database() AND NOT internal`)
	if err != nil {
		return nil, fmt.Errorf("vet statement: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			return nil, err
		}
		switch schema {
		case "main":
			c.main[name] = true
		case privacy.AnalystSchema:
			c.analyst[name] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if c.macros, err = tableMacros(ctx, conn, path.String); err != nil {
		return nil, err
	}
	return c, nil
}

// macroCache holds the ckm table macros of each warehouse file this
// process vetted statements on, read once: duckdb_functions() lists every
// function DuckDB has (~23 ms a call here), which every analyst statement
// of the shell and of ckm serve paid. The macros change only when a
// migration runs; a warehouse migrated by another process while this one
// runs keeps its old list here, which can only refuse a new macro (the
// list allows calls, it never hides a relation). An in-memory warehouse
// (no path) is read each time.
var macroCache sync.Map // path → map[string]bool

func tableMacros(ctx context.Context, conn *dbsql.Conn, path string) (map[string]bool, error) {
	if path != "" {
		if m, ok := macroCache.Load(path); ok {
			return m.(map[string]bool), nil
		}
	}
	// The list .mine completes from: ckm's table macros.
	names, err := queryNames(ctx, conn, mineOperatorsSQL)
	if err != nil {
		return nil, fmt.Errorf("vet statement: %w", err)
	}
	m := map[string]bool{}
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	if path != "" {
		macroCache.Store(path, m)
	}
	return m, nil
}

// vetter walks one statement's parsed tree.
type vetter struct {
	cat  *sandboxCatalog
	raw  bool // a steward revealing: the base tables are readable too
	ctes map[string]bool
	text string // the statement, for the position of a refusal
}

// refusedAt is a refusal with the line and a caret under what was refused,
// as a parser error shows its position.
type refusedAt struct {
	err  error
	text string
	pos  int // in characters of text
}

func (e *refusedAt) Error() string { return e.err.Error() + caretLines(e.text, e.pos) }
func (e *refusedAt) Unwrap() error { return e.err }

// at places err at node n's query_location (a byte offset into the
// statement; absent or "unset" leaves err as it is).
func (v *vetter) at(n map[string]any, err error) error {
	loc, ok := n["query_location"].(float64)
	if err == nil || !ok || loc < 0 || loc >= float64(len(v.text)) {
		return err
	}
	return &refusedAt{err: err, text: v.text, pos: utf8.RuneCountInString(v.text[:int(loc)])}
}

// collectCTEs finds the names the statement's WITH clauses define.
func (v *vetter) collectCTEs(x any) {
	switch n := x.(type) {
	case map[string]any:
		if cm, ok := n["cte_map"].(map[string]any); ok {
			if entries, ok := cm["map"].([]any); ok {
				for _, e := range entries {
					if em, ok := e.(map[string]any); ok {
						if k, ok := em["key"].(string); ok {
							v.ctes[strings.ToLower(k)] = true
						}
					}
				}
			}
		}
		for _, c := range n {
			v.collectCTEs(c)
		}
	case []any:
		for _, c := range n {
			v.collectCTEs(c)
		}
	}
}

func (v *vetter) walk(x any) error {
	switch n := x.(type) {
	case map[string]any:
		if err := v.check(n); err != nil {
			return err
		}
		for _, c := range n {
			if err := v.walk(c); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range n {
			if err := v.walk(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// check vets one node: table references and function calls.
func (v *vetter) check(n map[string]any) error {
	typ, _ := n["type"].(string)
	if class, ok := n["class"].(string); ok {
		if class == "FUNCTION" {
			name := strings.ToLower(str(n["function_name"]))
			if slices.Contains(sandboxDeniedFunctions, name) {
				return v.at(n, fmt.Errorf("%w: function %s has effects outside the query or reads settings", ErrRefused, name))
			}
		}
		return nil
	}
	if _, isRef := n["sample"]; !isRef || typ == "" || strings.HasSuffix(typ, "_NODE") {
		return nil
	}
	if !slices.Contains(treeTableRefs, typ) {
		return v.at(n, fmt.Errorf("%w: a %s in FROM cannot be checked", ErrRefused, strings.ToLower(typ)))
	}
	switch typ {
	case "TABLE_FUNCTION":
		f, _ := n["function"].(map[string]any)
		name := strings.ToLower(str(f["function_name"]))
		if slices.Contains(sandboxTableFunctions, name) || v.cat.macros[name] && str(f["schema"]) == "" && str(f["catalog"]) == "" {
			return nil
		}
		return v.at(n, fmt.Errorf("%w: table function %s (an analyst reads the warehouse's relations, not files or the catalog)", ErrRefused, name))
	case "BASE_TABLE":
		return v.at(n, v.checkTable(str(n["catalog_name"]), str(n["schema_name"]), str(n["table_name"])))
	}
	return nil
}

// checkTable vets one relation named in FROM.
func (v *vetter) checkTable(catalog, schema, table string) error {
	name := strings.ToLower(table)
	qualified := strings.Trim(strings.Join([]string{catalog, schema, table}, "."), ".")
	refuse := func() error {
		return fmt.Errorf("%w: %q is not a relation an analyst may read (an analyst reads the dimensions, facts and knowledge base, personal data only through the masked views of schema %s, and no files)",
			ErrRefused, qualified, privacy.AnalystSchema)
	}
	if catalog != "" && !strings.EqualFold(catalog, v.cat.name) {
		return refuse() // another database, system or temp
	}
	switch strings.ToLower(schema) {
	case "":
		if v.ctes[name] {
			if v.cat.main[name] && !v.mayReadMain(name) || v.cat.analyst[name] {
				return fmt.Errorf("%w: a WITH query may not take the name of relation %s", ErrRefused, name)
			}
			return nil
		}
		if !v.raw && v.cat.analyst[name] {
			return nil
		}
		if v.cat.main[name] && v.mayReadMain(name) {
			return nil
		}
		if v.raw && v.cat.analyst[name] {
			return nil
		}
	case "main":
		if v.cat.main[name] && v.mayReadMain(name) {
			return nil
		}
	case privacy.AnalystSchema:
		if v.cat.analyst[name] {
			return nil
		}
	case "information_schema", "pg_catalog":
		return nil // names and types of relations, no data
	}
	return refuse()
}

func (v *vetter) mayReadMain(name string) bool {
	return v.raw || privacy.AnalystMayRead(name)
}

func str(x any) string {
	s, _ := x.(string)
	return s
}

// refusal explains why a statement that is not a query is refused, naming
// its kind from its first keyword (after comments and parentheses) — of
// the first statement in text that is not a query.
func refusal(text string) error {
	var sp splitter
	var items []item
	for _, l := range strings.Split(text, "\n") {
		items = append(items, sp.Feed(l)...)
	}
	if it, ok := sp.Flush(); ok {
		items = append(items, it)
	}
	kw := ""
	for _, it := range items {
		k := firstKeyword(it.Text)
		if !slices.Contains([]string{"SELECT", "WITH", "FROM", "VALUES", "TABLE", "SHOW", "DESCRIBE", "SUMMARIZE", ""}, k) {
			kw = k
			break
		}
	}
	why := "an analyst session runs queries (SELECT) only"
	switch kw {
	case "COPY", "EXPORT", "IMPORT":
		why = "it reads or writes files; the lake is written by ckm export"
	case "ATTACH", "DETACH", "USE":
		why = "an analyst session reads this warehouse only"
	case "INSTALL", "LOAD", "FORCE", "UNINSTALL":
		why = "extensions are not installed or loaded by analysts"
	case "SET", "RESET", "PRAGMA":
		why = "settings are fixed for an analyst session"
	case "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "DROP", "CREATE", "ALTER", "COMMENT",
		"VACUUM", "CHECKPOINT", "ANALYZE", "UPSERT":
		why = "an analyst session is read-only; ckm's own commands load and change the warehouse"
	case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT":
		why = "an analyst session is read-only and needs no transactions"
	case "CALL", "EXECUTE", "PREPARE", "DEALLOCATE":
		why = "an analyst session runs queries (SELECT) only"
	case "":
		kw = "this statement"
	}
	return fmt.Errorf("%w: %s is not allowed: %s", ErrRefused, kw, why)
}

// firstKeyword returns the first word of a statement in upper case,
// skipping white space, comments and opening parentheses.
func firstKeyword(s string) string {
	for {
		s = strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '(' })
		switch {
		case strings.HasPrefix(s, "--"):
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				s = s[i+1:]
				continue
			}
			return ""
		case strings.HasPrefix(s, "/*"):
			depth, i := 0, 0
			for i < len(s) {
				if strings.HasPrefix(s[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(s[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
			s = s[i:]
			continue
		}
		end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' })
		if end < 0 {
			end = len(s)
		}
		return strings.ToUpper(s[:end])
	}
}

// lockDown applies DuckDB's global switches for a process that serves one
// analyst only (a local ckm sql): no file system access and no settings
// changed from here on, whatever a statement tries.
func lockDown(ctx context.Context, conn *dbsql.Conn) error {
	for _, q := range []string{"SET enable_external_access = false", "SET lock_configuration = true"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("lock down: %w", err)
		}
	}
	return nil
}
