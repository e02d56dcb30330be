package serve

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ckm-dev/ckm/privacy"
)

// The catalog layer. DuckDB cannot run the catalog queries of psql and
// PostgreSQL drivers (no pg_get_userbyid; OPERATOR(pg_catalog.~) does not
// parse), so the server recognises a bounded set of them and answers them
// itself from DuckDB's catalog, showing a principal only the relations it
// may read (an analyst: the masked views of schema analyst and the tables
// privacy.AnalystMayRead). Each rule is one entry of catalogRules, matched
// against the statement with white space collapsed and in lower case;
// what no rule matches runs in DuckDB as any statement (vetted for an
// analyst). The rules follow psql 15 (\dt, \dv, \d, \d[+] NAME, \l, \dn, \du) and
// what JDBC and pgx send when they connect (SET of client settings, SHOW
// of server settings, version()).

// catalogAnswer is how the server answers a recognised catalog query.
type catalogAnswer struct {
	fixed *fixedResult
	tag   string // the command tag of an answer without rows (SET)
}

// catalogRule recognises one kind of catalog query and answers it.
type catalogRule struct {
	name   string
	match  func(q string) bool
	answer func(ctx context.Context, cc *catalogContext, q string) (catalogAnswer, error)
}

// catalogContext is what an answer may read: the session's connection
// and principal.
type catalogContext struct {
	conn      *sql.Conn
	principal privacy.Principal
	users     map[string]User
}

var catalogRules = []catalogRule{
	{"psql list relations (\\dt, \\dv, \\d)", matchAll(`from pg_catalog.pg_class c`, `c.relkind in (`, `as "owner"`), listRelations},
	{"psql find relation (\\d NAME)", matchAll(`select c.oid, n.nspname, c.relname from pg_catalog.pg_class c`), findRelation},
	{"psql relation details (\\d NAME)", matchAll(`select c.relchecks, c.relkind`, `where c.oid = '`), relationDetails},
	{"psql columns (\\d NAME)", matchAll(`from pg_catalog.pg_attribute a`, `where a.attrelid = '`, `a.attnum > 0`), describeColumns},
	{"psql table footers (\\d NAME: indexes, constraints, policies, statistics, publications, inheritance)", matchFooter, emptyAnswer},
	{"psql list roles (\\du)", matchAll(`select r.rolname, r.rolsuper`, `from pg_catalog.pg_roles r`), listRoles},
	{"psql list databases (\\l)", matchAll(`from pg_catalog.pg_database d`, `as "name"`), listDatabases},
	{"psql list functions (\\df [PATTERN])", matchAll(`from pg_catalog.pg_proc p`, `as "argument data types"`), listFunctions},
	{"psql list schemas (\\dn)", matchAll(`from pg_catalog.pg_namespace n`, `as "name"`, `as "owner"`), listSchemas},
	{"client setting (SET extra_float_digits, application_name, ...)", matchRegexp(`^set (session )?(extra_float_digits|application_name|datestyle|client_encoding|client_min_messages|intervalstyle|timezone|time zone|bytea_output|statement_timeout|lock_timeout|idle_in_transaction_session_timeout|standard_conforming_strings|join_collapse_limit|geqo)\b`), setClientSetting},
	{"server setting (SHOW ...)", matchRegexp(`^show (` + strings.Join(settingNames(), "|") + `)$`), showSetting},
	{"ckm sql's names (Tab, .tables, .schema through the server)", func(q string) bool { return q == normalizeQuery(CatalogNamesQuery) }, catalogNames},
	{"version()", matchRegexp(`^select (pg_catalog\.)?version\(\)( as "?version"?)?$`), serverVersionRow},
}

// serverSettings are the settings SHOW answers, as PostgreSQL 15 names
// them.
var serverSettings = map[string]string{
	"server_version": "15.0", "server_version_num": "150000", "server_encoding": "UTF8", "client_encoding": "UTF8",
	"standard_conforming_strings": "on", "datestyle": "ISO, MDY", "intervalstyle": "postgres", "timezone": "UTC",
	"integer_datetimes": "on", "max_identifier_length": "63", "transaction_isolation": "serializable",
	"default_transaction_isolation": "serializable", "transaction_read_only": "off", "is_superuser": "off",
	"lc_collate": "C", "lc_ctype": "C",
}

func settingNames() []string {
	names := make([]string, 0, len(serverSettings)+1)
	for n := range serverSettings {
		names = append(names, n)
	}
	sort.Strings(names)
	return append(names, "transaction isolation level")
}

// normalizeQuery collapses white space and lowers the case, and drops a
// final semicolon, for matching.
func normalizeQuery(q string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.ToLower(strings.Join(strings.Fields(q), " ")), ";"))
}

func matchAll(parts ...string) func(string) bool {
	return func(q string) bool {
		for _, p := range parts {
			if !strings.Contains(q, p) {
				return false
			}
		}
		return true
	}
}

// matchRegexp compiles re on first use, not when the package starts:
// every ckm command links serve, and only a server matches.
func matchRegexp(re string) func(string) bool {
	r := sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(re) })
	return func(q string) bool { return r().MatchString(q) }
}

// footerCatalogs are the catalogs of the extra sections psql's \d shows for
// a table; ckm has none of them, so each query answers no rows.
var footerCatalogs = []string{"pg_catalog.pg_index", "pg_catalog.pg_constraint", "pg_catalog.pg_policy", "pg_catalog.pg_statistic_ext",
	"pg_catalog.pg_publication", "pg_catalog.pg_inherits", "pg_catalog.pg_trigger", "pg_catalog.pg_rewrite", "pg_catalog.pg_partitioned_table"}

var oidLiteral = regexp.MustCompile(`'(\d+)'`)

func matchFooter(q string) bool {
	if !strings.HasPrefix(q, "select ") || !oidLiteral.MatchString(q) {
		return false
	}
	for _, c := range footerCatalogs {
		if strings.Contains(q, c) {
			return true
		}
	}
	return false
}

// answerCatalog answers a recognised catalog query; ok is false for any
// other statement.
func answerCatalog(ctx context.Context, conn *sql.Conn, text string, p privacy.Principal, users map[string]User) (catalogAnswer, bool, error) {
	q := normalizeQuery(text)
	for _, r := range catalogRules {
		if r.match(q) {
			ans, err := r.answer(ctx, &catalogContext{conn: conn, principal: p, users: users}, q)
			if err != nil {
				return catalogAnswer{}, true, fmt.Errorf("catalog (%s): %w", r.name, err)
			}
			return ans, true, nil
		}
	}
	return catalogAnswer{}, false, nil
}

func textColumns(names ...string) []column {
	cols := make([]column, len(names))
	for i, n := range names {
		cols[i] = column{Name: n, OID: pgtype.TextOID}
	}
	return cols
}

// relation is a table or view of the warehouse.
type relation struct {
	oid    int64
	schema string
	name   string
	kind   string // r table, v view
}

// relations returns the relations cc's principal may read, in the order
// its names resolve (search path first), each only once per name if only
// visible ones are wanted.
func (cc *catalogContext) relations(ctx context.Context) ([]relation, error) {
	rows, err := cc.conn.QueryContext(ctx, `SELECT table_oid, schema_name, table_name, 'r' FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary AND NOT internal
		UNION ALL SELECT view_oid, schema_name, view_name, 'v' FROM duckdb_views() WHERE database_name = current_database() AND NOT temporary AND NOT internal
		ORDER BY 2, 3`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []relation
	for rows.Next() {
		var r relation
		if err := rows.Scan(&r.oid, &r.schema, &r.name, &r.kind); err != nil {
			return nil, err
		}
		if cc.mayRead(r) {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// mayRead says whether the principal may read relation r.
func (cc *catalogContext) mayRead(r relation) bool {
	if !cc.principal.Sandboxed() {
		return true
	}
	return r.schema == privacy.AnalystSchema || r.schema == "main" && privacy.AnalystMayRead(r.name)
}

// searchPath is the principal's search path: the schemas whose relations
// a bare name finds, in order.
func (cc *catalogContext) searchPath() []string {
	if cc.principal.Sandboxed() {
		return []string{privacy.AnalystSchema, "main"}
	}
	return []string{"main"}
}

// visible keeps the relations a bare name reaches (pg_table_is_visible):
// in a schema of the search path, not shadowed by an earlier one.
func (cc *catalogContext) visible(rels []relation) []relation {
	path := cc.searchPath()
	best := map[string]int{}
	for _, r := range rels {
		i := slices.Index(path, r.schema)
		if i < 0 {
			continue
		}
		if j, ok := best[r.name]; !ok || i < j {
			best[r.name] = i
		}
	}
	var out []relation
	for _, r := range rels {
		if i, ok := best[r.name]; ok && path[i] == r.schema {
			out = append(out, r)
		}
	}
	return out
}

var (
	relkindList    = regexp.MustCompile(`c\.relkind in \(([^)]*)\)`)
	relnamePattern = regexp.MustCompile(`c\.relname operator\(pg_catalog\.~\) '((?:[^']|'')*)'`)
	nspnamePattern = regexp.MustCompile(`n\.nspname operator\(pg_catalog\.~\) '((?:[^']|'')*)'`)
)

// patternFilter returns a test of names against psql's anchored regular
// expression of re's first group in q (all names when absent).
func patternFilter(re *regexp.Regexp, q string) (func(string) bool, error) {
	m := re.FindStringSubmatch(q)
	if m == nil {
		return func(string) bool { return true }, nil
	}
	r, err := regexp.Compile(strings.ReplaceAll(m[1], "''", "'"))
	if err != nil {
		return nil, fmt.Errorf("name pattern %q: %w", m[1], err)
	}
	return r.MatchString, nil
}

// listRelations answers \dt, \dv and \d: Schema, Name, Type, Owner.
func listRelations(ctx context.Context, cc *catalogContext, q string) (catalogAnswer, error) {
	kinds := map[string]bool{}
	if m := relkindList.FindStringSubmatch(q); m != nil {
		for _, k := range strings.Split(m[1], ",") {
			kinds[strings.Trim(strings.TrimSpace(k), "'")] = true
		}
	}
	nameOK, err := patternFilter(relnamePattern, q)
	if err != nil {
		return catalogAnswer{}, err
	}
	schemaOK, err := patternFilter(nspnamePattern, q)
	if err != nil {
		return catalogAnswer{}, err
	}
	rels, err := cc.relations(ctx)
	if err != nil {
		return catalogAnswer{}, err
	}
	if !nspnamePattern.MatchString(q) {
		rels = cc.visible(rels)
	}
	res := &fixedResult{cols: textColumns("Schema", "Name", "Type", "Owner")}
	for _, r := range rels {
		if !kinds[r.kind] || !nameOK(r.name) || !schemaOK(r.schema) {
			continue
		}
		typ := map[string]string{"r": "table", "v": "view"}[r.kind]
		res.rows = append(res.rows, []any{r.schema, r.name, typ, "ckm"})
	}
	return catalogAnswer{fixed: res}, nil
}

// findRelation answers the first query of \d NAME: oid, schema and name of
// each visible relation the pattern matches.
func findRelation(ctx context.Context, cc *catalogContext, q string) (catalogAnswer, error) {
	nameOK, err := patternFilter(relnamePattern, q)
	if err != nil {
		return catalogAnswer{}, err
	}
	schemaOK, err := patternFilter(nspnamePattern, q)
	if err != nil {
		return catalogAnswer{}, err
	}
	rels, err := cc.relations(ctx)
	if err != nil {
		return catalogAnswer{}, err
	}
	if !nspnamePattern.MatchString(q) {
		rels = cc.visible(rels)
	}
	res := &fixedResult{cols: textColumns("oid", "nspname", "relname")}
	for _, r := range rels {
		if nameOK(r.name) && schemaOK(r.schema) {
			res.rows = append(res.rows, []any{strconv.FormatInt(r.oid, 10), r.schema, r.name})
		}
	}
	return catalogAnswer{fixed: res}, nil
}

// relationByOID finds the readable relation of the oid literal in q.
func (cc *catalogContext) relationByOID(ctx context.Context, q string) (*relation, error) {
	m := oidLiteral.FindStringSubmatch(q)
	if m == nil {
		return nil, nil
	}
	oid, _ := strconv.ParseInt(m[1], 10, 64)
	rels, err := cc.relations(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rels {
		if r.oid == oid {
			return &r, nil
		}
	}
	return nil, nil
}

// relationDetails answers the second query of \d NAME (psql 15's fifteen
// columns): no checks, indexes, rules or triggers; a table or a view.
func relationDetails(ctx context.Context, cc *catalogContext, q string) (catalogAnswer, error) {
	r, err := cc.relationByOID(ctx, q)
	if err != nil {
		return catalogAnswer{}, err
	}
	res := &fixedResult{cols: textColumns("relchecks", "relkind", "relhasindex", "relhasrules", "relhastriggers", "relrowsecurity",
		"relforcerowsecurity", "relhasoids", "relispartition", "reloptions", "reltablespace", "reloftype", "relpersistence", "relreplident", "amname")}
	if r != nil {
		res.rows = append(res.rows, []any{"0", r.kind, "f", "f", "f", "f", "f", "f", "f", "", "0", "", "p", "d", ""})
	}
	return catalogAnswer{fixed: res}, nil
}

// describeColumns answers the column query of \d NAME: name, type as
// PostgreSQL spells it, default, not null, collation, identity, generated.
func describeColumns(ctx context.Context, cc *catalogContext, q string) (catalogAnswer, error) {
	r, err := cc.relationByOID(ctx, q)
	if err != nil {
		return catalogAnswer{}, err
	}
	names := []string{"attname", "format_type", "default", "attnotnull", "attcollation", "attidentity", "attgenerated"}
	// \d+ asks for storage, compression, statistics target and the
	// column's comment as well.
	var verbose []string
	for _, extra := range []string{"attstorage", "attcompression", "attstattarget", "col_description"} {
		if strings.Contains(q, extra) {
			verbose = append(verbose, extra)
		}
	}
	res := &fixedResult{cols: textColumns(append(names, verbose...)...)}
	if r == nil {
		return catalogAnswer{fixed: res}, nil
	}
	rows, err := cc.conn.QueryContext(ctx, `SELECT column_name, data_type, column_default, is_nullable, comment FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index`, r.schema, r.name)
	if err != nil {
		return catalogAnswer{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, typ string
		var def, comment sql.NullString
		var nullable bool
		if err := rows.Scan(&name, &typ, &def, &nullable, &comment); err != nil {
			return catalogAnswer{}, err
		}
		var d any
		if def.Valid {
			d = def.String
		}
		notNull := "f"
		if !nullable {
			notNull = "t"
		}
		row := []any{name, pgTypeName(typ), d, notNull, nil, "", ""}
		for _, extra := range verbose {
			switch extra {
			case "attstorage":
				row = append(row, "p")
			case "attcompression":
				row = append(row, "")
			case "attstattarget":
				row = append(row, nil)
			case "col_description":
				var c any
				if comment.Valid && comment.String != "" {
					c = comment.String
				}
				row = append(row, c)
			}
		}
		res.rows = append(res.rows, row)
	}
	return catalogAnswer{fixed: res}, rows.Err()
}

// pgTypeName spells a DuckDB type as PostgreSQL's format_type does.
func pgTypeName(duck string) string {
	t := strings.ToUpper(duck)
	if strings.HasPrefix(t, "DECIMAL(") {
		return "numeric" + duck[len("DECIMAL"):]
	}
	switch t {
	case "BIGINT":
		return "bigint"
	case "INTEGER":
		return "integer"
	case "SMALLINT", "TINYINT", "UTINYINT":
		return "smallint"
	case "VARCHAR":
		return "text"
	case "DOUBLE":
		return "double precision"
	case "FLOAT":
		return "real"
	case "BOOLEAN":
		return "boolean"
	case "DATE":
		return "date"
	case "TIMESTAMP":
		return "timestamp without time zone"
	case "TIMESTAMP WITH TIME ZONE":
		return "timestamp with time zone"
	case "TIME":
		return "time without time zone"
	case "BLOB":
		return "bytea"
	case "HUGEINT", "UBIGINT":
		return "numeric"
	}
	return strings.ToLower(duck)
}

func emptyAnswer(context.Context, *catalogContext, string) (catalogAnswer, error) {
	return catalogAnswer{fixed: &fixedResult{cols: textColumns("none")}}, nil
}

// listRoles answers \du: the server's users, each a member of its ckm
// role; an admin sees every user, anyone else only themselves.
func listRoles(_ context.Context, cc *catalogContext, _ string) (catalogAnswer, error) {
	res := &fixedResult{cols: textColumns("rolname", "rolsuper", "rolinherit", "rolcreaterole", "rolcreatedb", "rolcanlogin",
		"rolconnlimit", "rolvaliduntil", "memberof", "rolreplication", "rolbypassrls")}
	names := make([]string, 0, len(cc.users))
	for n := range cc.users {
		if !cc.principal.Sandboxed() || n == cc.principal.User {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		u := cc.users[n]
		super := "f"
		if u.Role == privacy.Admin {
			super = "t"
		}
		res.rows = append(res.rows, []any{n, super, "t", "f", "f", "t", "-1", nil, "{" + string(u.Role) + "}", "f", "f"})
	}
	return catalogAnswer{fixed: res}, nil
}

// listDatabases answers \l: the one warehouse.
func listDatabases(ctx context.Context, cc *catalogContext, q string) (catalogAnswer, error) {
	var name string
	if err := cc.conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&name); err != nil {
		return catalogAnswer{}, err
	}
	res := &fixedResult{cols: textColumns("Name", "Owner", "Encoding", "Collate", "Ctype", "ICU Locale", "Locale Provider", "Access privileges"),
		rows: [][]any{{name, "ckm", "UTF8", "C", "C", nil, "libc", nil}}}
	return catalogAnswer{fixed: res}, nil
}

// listSchemas answers \dn: the schemas holding relations the principal
// may read.
func listSchemas(ctx context.Context, cc *catalogContext, q string) (catalogAnswer, error) {
	rels, err := cc.relations(ctx)
	if err != nil {
		return catalogAnswer{}, err
	}
	seen := map[string]bool{}
	res := &fixedResult{cols: textColumns("Name", "Owner")}
	for _, r := range rels {
		if !seen[r.schema] {
			seen[r.schema] = true
			res.rows = append(res.rows, []any{r.schema, "ckm"})
		}
	}
	return catalogAnswer{fixed: res}, nil
}

// setClientSetting accepts a client's settings of its own side (number
// formats, its name, time outs) without changing the warehouse.
func setClientSetting(context.Context, *catalogContext, string) (catalogAnswer, error) {
	return catalogAnswer{fixed: &fixedResult{}, tag: "SET"}, nil
}

func showSetting(_ context.Context, _ *catalogContext, q string) (catalogAnswer, error) {
	name := strings.TrimPrefix(q, "show ")
	v := serverSettings[name]
	if name == "transaction isolation level" {
		name, v = "transaction_isolation", serverSettings["transaction_isolation"]
	}
	return catalogAnswer{fixed: &fixedResult{cols: textColumns(name), rows: [][]any{{v}}}}, nil
}

// serverVersionRow answers version() as PostgreSQL does, naming ckm and
// DuckDB.
func serverVersionRow(ctx context.Context, cc *catalogContext, q string) (catalogAnswer, error) {
	var duck string
	if err := cc.conn.QueryRowContext(ctx, "SELECT library_version FROM pragma_version()").Scan(&duck); err != nil {
		return catalogAnswer{}, err
	}
	return catalogAnswer{fixed: &fixedResult{cols: textColumns("version"),
		rows: [][]any{{"PostgreSQL " + serverSettings["server_version"] + " (ckm serve, DuckDB " + duck + ")"}}}}, nil
}

// Type lookups. Drivers ask pg_catalog.pg_type (joined to pg_namespace)
// for the types of the OIDs they receive. DuckDB's pg_type has most of
// PostgreSQL's OIDs but puts them in a schema named main and lacks text
// (25) and json (114), which the server sends; so a statement naming
// pg_catalog.pg_type runs on a session's temporary views of the two
// catalogs that add them and put the built-in types in schema pg_catalog
// (oid 11, as in PostgreSQL).
// For an analyst the statement as written is vetted first, so the swap
// only ever changes which catalog rows are read.

// typeCatalogViews create the two views on a session's connection.
var typeCatalogViews = []string{
	`CREATE OR REPLACE TEMP VIEW pg_namespace AS SELECT oid, schema_name AS nspname, 0 AS nspowner, NULL AS nspacl
		FROM duckdb_schemas() WHERE database_name = current_database()
		UNION ALL SELECT 11, 'pg_catalog', 0, NULL`,
	`CREATE OR REPLACE TEMP VIEW pg_type AS SELECT * REPLACE (11 AS typnamespace) FROM pg_catalog.pg_type
		UNION ALL BY NAME SELECT 25 AS oid, 'text' AS typname, 11 AS typnamespace, -1 AS typlen, false AS typbyval, 'b' AS typtype, 'S' AS typcategory, true AS typispreferred, true AS typisdefined
		UNION ALL BY NAME SELECT 114 AS oid, 'json' AS typname, 11 AS typnamespace, -1 AS typlen, false AS typbyval, 'b' AS typtype, 'U' AS typcategory, false AS typispreferred, true AS typisdefined`,
}

var typeCatalogRef = regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*(pg_type|pg_namespace)\b`)

// rewriteTypeLookup swaps pg_catalog.pg_type and pg_namespace for the
// session's views in a statement that reads pg_type; ok is false for any
// other statement.
func rewriteTypeLookup(text string) (string, bool) {
	if !regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*pg_type\b`).MatchString(text) {
		return text, false
	}
	return typeCatalogRef.ReplaceAllString(text, "temp.main.$1"), true
}

// psqlNamePattern is the name filter psql adds for \df PATTERN.
var psqlNamePattern = regexp.MustCompile(`p\.proname operator\(pg_catalog\.~\) '((?:[^']|'')*)'`)

// listFunctions answers \df [PATTERN]: ckm's own functions and the
// warehouse's macros (DuckDB's built-in functions are left out, as psql
// leaves out pg_catalog's), with their argument and result types.
func listFunctions(ctx context.Context, cc *catalogContext, q string) (catalogAnswer, error) {
	var name *regexp.Regexp
	if m := psqlNamePattern.FindStringSubmatch(q); m != nil {
		re, err := regexp.Compile(strings.ReplaceAll(m[1], "''", "'"))
		if err != nil {
			return catalogAnswer{}, &pgError{code: "2201B", msg: fmt.Sprintf("\\df: pattern %q: %v", m[1], err)}
		}
		name = re
	}
	rows, err := cc.conn.QueryContext(ctx, `SELECT schema_name, function_name, coalesce(return_type, ''), parameters, parameter_types, function_type
		FROM duckdb_functions()
		WHERE (NOT internal OR starts_with(function_name, 'ckm_')) AND function_type IN ('scalar', 'macro', 'table_macro', 'aggregate', 'table')
		  AND schema_name NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return catalogAnswer{}, fmt.Errorf("catalog (\\df): %w", err)
	}
	defer rows.Close()
	res := &fixedResult{cols: textColumns("Schema", "Name", "Result data type", "Argument data types", "Type")}
	seen := map[string]bool{}
	for rows.Next() {
		var schema, fn, result, kind string
		var params, types []any
		if err := rows.Scan(&schema, &fn, &result, &params, &types, &kind); err != nil {
			return catalogAnswer{}, fmt.Errorf("catalog (\\df): %w", err)
		}
		if name != nil && !name.MatchString(fn) {
			continue
		}
		args := make([]string, len(params))
		for i, p := range params {
			t := "any"
			if i < len(types) && types[i] != nil && fmt.Sprint(types[i]) != "ANY" {
				t = strings.ToLower(fmt.Sprint(types[i]))
			}
			args[i] = fmt.Sprint(p) + " " + t
		}
		if result == "" {
			result = "any" // a macro's result is its body's
			if kind == "table_macro" || kind == "table" {
				result = "table"
			}
		}
		if kind == "aggregate" {
			kind = "agg"
		} else {
			kind = "func"
		}
		row := []any{schema, fn, strings.ToLower(result), strings.Join(args, ", "), kind}
		key := fmt.Sprint(row...)
		if seen[key] {
			continue
		}
		seen[key] = true
		res.rows = append(res.rows, row)
	}
	if err := rows.Err(); err != nil {
		return catalogAnswer{}, err
	}
	sort.Slice(res.rows, func(i, j int) bool { // psql's ORDER BY 1, 2, 4
		a, b := res.rows[i], res.rows[j]
		for _, k := range []int{0, 1, 3} {
			if a[k].(string) != b[k].(string) {
				return a[k].(string) < b[k].(string)
			}
		}
		return false
	})
	return catalogAnswer{fixed: res}, nil
}
