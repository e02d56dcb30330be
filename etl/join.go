package etl

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl/clean"
)

// A source that joins files or derives fields ("raw") stages every column
// of each of its files in a table of its own (raw_<file id>); stageDerived
// then builds its canonical records in SQL: the source's lines (this)
// joined to each join's lines by their declared keys, each field a header,
// a constant or an expression.
//
// Every line still ends with one outcome. A line of the source whose
// required join finds nothing is rejected (join_missing). A line of a
// joined file is accepted when it is well-formed and its key is not taken
// by an earlier line of the same file (join_key_repeated, an error); one
// that no line of the source uses is noted (join_unused, a warning). Its
// values reach the warehouse through the lines that use it.

// rawTable is one staged raw file.
type rawTable struct {
	fileID  int64
	table   string
	columns []string
	ref     bool // a file loaded before, read again for its keys only
}

// rawName is the staging table of a raw file.
func rawName(fileID int64) string {
	if fileID < 0 {
		return fmt.Sprintf("raw_ref_%d", -fileID)
	}
	return fmt.Sprintf("raw_%d", fileID)
}

// stageRaw reads a raw file's staging CSV into its own table.
func (l *loader) stageRaw(j *fileJob) error {
	if j.x.tmpPath == "" || len(j.x.rawFields) == 0 {
		// An export of nothing: no table, but a joined file was there.
		l.raws = append(l.raws, rawJob{job: j, t: rawTable{fileID: j.FileID, ref: j.FileID < 0}})
		return nil
	}
	spec := []string{"'_line': 'BIGINT'"}
	for _, f := range j.x.rawFields {
		spec = append(spec, engine.QuoteString(f)+": 'VARCHAR'")
	}
	name := rawName(j.FileID)
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS SELECT CAST(%d AS BIGINT) AS file_id, * FROM read_csv(%s, header = true,
		auto_detect = false, delim = ',', quote = '"', escape = '"', strict_mode = true, columns = {%s})`,
		name, j.FileID, j.x.csvFiles(), strings.Join(spec, ", "))
	if err := l.exec("stage", q); err != nil {
		return err
	}
	l.raws = append(l.raws, rawJob{job: j, t: rawTable{fileID: j.FileID, table: name, columns: j.x.rawFields, ref: j.FileID < 0}})
	return nil
}

// rawJob is a staged raw file and its job.
type rawJob struct {
	job *fileJob
	t   rawTable
}

// derivedSource is one raw source's files in this load.
type derivedSource struct {
	m     *Mapping
	this  []rawTable
	joins [][]rawTable // by join index
	empty []bool       // by join index: only files without lines came
}

// stageDerived builds the canonical records of every raw source.
func (l *loader) stageDerived() error {
	if len(l.raws) > 0 {
		if err := l.settle(); err != nil {
			return err
		}
	}
	if err := l.exec("stage", `CREATE OR REPLACE TEMP TABLE stg_joined (file_id BIGINT, _line BIGINT)`); err != nil {
		return err
	}
	bySource := map[string]*derivedSource{}
	var order []string
	get := func(m *Mapping) *derivedSource {
		d, ok := bySource[m.Name]
		if !ok {
			d = &derivedSource{m: m, joins: make([][]rawTable, len(m.Joins)), empty: make([]bool, len(m.Joins))}
			bySource[m.Name] = d
			order = append(order, m.Name)
		}
		return d
	}
	for _, r := range l.raws {
		m := r.job.m
		if m.joinOf == nil {
			if r.t.table != "" {
				d := get(m)
				d.this = append(d.this, r.t)
			}
			continue
		}
		d := get(m.joinOf)
		for k := range d.m.Joins {
			if d.m.Joins[k].Name != m.join.Name {
				continue
			}
			if r.t.table == "" {
				d.empty[k] = true
			} else {
				d.joins[k] = append(d.joins[k], r.t)
			}
		}
		if !r.t.ref && r.t.table != "" {
			if err := l.exec("stage", fmt.Sprintf(`INSERT INTO stg_joined SELECT file_id, _line FROM %s`, r.t.table)); err != nil {
				return err
			}
		}
	}
	for _, name := range order {
		if err := l.stageSource(bySource[name]); err != nil {
			return fmt.Errorf("source %s: %w", name, err)
		}
	}
	return nil
}

// headerSet is the columns of a table alias: header key -> column name.
type headerSet map[string]string

func newHeaderSet(tables []rawTable) headerSet {
	h := headerSet{}
	for _, t := range tables {
		for _, c := range t.columns {
			if _, ok := h[clean.HeaderKey(c)]; !ok {
				h[clean.HeaderKey(c)] = c
			}
		}
	}
	return h
}

// unionAll is SQL for the rows of tables, columns matched by name; with
// no table, an empty relation of the given columns.
func unionAll(tables []rawTable, cols []string) string {
	if len(tables) == 0 {
		sel := []string{"NULL::BIGINT AS file_id", "NULL::BIGINT AS _line"}
		for _, c := range cols {
			sel = append(sel, "NULL::VARCHAR AS "+engine.QuoteIdent(c))
		}
		return "(SELECT " + strings.Join(sel, ", ") + " WHERE false)"
	}
	var parts []string
	for _, t := range tables {
		parts = append(parts, "SELECT * FROM "+t.table)
	}
	return "(" + strings.Join(parts, " UNION ALL BY NAME ") + ")"
}

// joinKey is SQL normalising a key value: trimmed, and a whole number
// written with a zero fraction (12346.0) read as the number (12346).
func joinKey(col string) string {
	return fmt.Sprintf(`nullif(regexp_replace(trim(%s), '^([0-9]+)\.0+$', '\1'), '')`, col)
}

func (l *loader) stageSource(d *derivedSource) error {
	m := d.m
	if len(d.this) == 0 {
		return nil // only joined files came: nothing to join them to
	}
	aliases := []string{thisAlias}
	heads := map[string]headerSet{thisAlias: newHeaderSet(d.this)}
	for k, jn := range m.Joins {
		aliases = append(aliases, jn.Name)
		heads[jn.Name] = newHeaderSet(d.joins[k])
	}
	// A column named by an alias, a key or an expression: its SQL.
	col := func(alias, name string) (string, bool) {
		c, ok := heads[alias][clean.HeaderKey(name)]
		if !ok {
			return "", false
		}
		return engine.QuoteIdent(alias) + "." + engine.QuoteIdent(c), true
	}
	// Joins without files still need their referenced columns: declare
	// them from the keys and the fields' qualified aliases.
	for k, jn := range m.Joins {
		if len(d.joins[k]) > 0 {
			continue
		}
		if !jn.Optional && !d.empty[k] {
			return fmt.Errorf("join %s: no file matching %s in this load (mark the join optional: true to load without it)", jn.Name, jn.Pattern)
		}
		var cols []string
		for _, c := range jn.On {
			cols = append(cols, c)
		}
		for _, f := range sortedKeys(m.Columns) {
			for _, a := range m.Columns[f].Aliases {
				if q, c, ok := strings.Cut(a, "."); ok && q == jn.Name {
					cols = append(cols, c)
				}
			}
		}
		for _, c := range cols {
			heads[jn.Name][clean.HeaderKey(c)] = c
		}
		d.joins[k] = nil
		heads[jn.Name]["__cols"] = strings.Join(cols, "\x00")
	}

	// The joined files, one row per key: the first line of the newest file
	// holding it. Later lines of the same file with the key are rejected,
	// lines of older files shadowed (a warning).
	from := []string{"src_this AS this"}
	var lineTables []string // every line of the joined files not joined to a line kept here (join_unused)
	if err := l.exec("stage", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE src_this AS SELECT * FROM %s`, unionAll(d.this, nil))); err != nil {
		return err
	}
	for k, jn := range m.Joins {
		var emptyCols []string
		if s, ok := heads[jn.Name]["__cols"]; ok {
			emptyCols = strings.Split(s, "\x00")
			delete(heads[jn.Name], "__cols")
		}
		var keys, conds []string
		for _, left := range sortedStrings(jn.On) {
			right := jn.On[left]
			from := cmpOr(jn.From, thisAlias)
			lc, ok := col(from, left)
			if !ok {
				return fmt.Errorf("join %s: key %s is not a column of %s", jn.Name, left, from)
			}
			rc, ok := col(jn.Name, right)
			if !ok {
				return fmt.Errorf("join %s: key %s is not a column of its files (%s)", jn.Name, right, jn.Pattern)
			}
			keys = append(keys, joinKey(strings.TrimPrefix(rc, engine.QuoteIdent(jn.Name)+".")))
			conds = append(conds, fmt.Sprintf("%s = %s.__k%d", joinKey(lc), engine.QuoteIdent(jn.Name), len(keys)))
		}
		var keyCols []string
		for i, k := range keys {
			keyCols = append(keyCols, fmt.Sprintf("%s AS __k%d", k, i+1))
		}
		tbl := tableOf(jn.Name)
		if jn.Combine {
			if err := l.combineJoin(tbl, keyCols, len(keys), unionAll(d.joins[k], emptyCols), heads[jn.Name]); err != nil {
				return fmt.Errorf("join %s: %w", jn.Name, err)
			}
			lineTables = append(lineTables, fmt.Sprintf("SELECT t.file_id, t._line FROM %s_lines t ANTI JOIN (%s) u ON %s",
				tbl, usedKeys(k, len(keys)), usedOn(k, len(keys))))
			from = append(from, fmt.Sprintf("LEFT JOIN %s AS %s ON %s", tbl, engine.QuoteIdent(jn.Name), strings.Join(conds, " AND ")))
			continue
		}
		lineTables = append(lineTables, fmt.Sprintf("SELECT file_id, _line FROM %[1]s WHERE __rn > 1 UNION ALL SELECT t.file_id, t._line FROM (SELECT * FROM %[1]s WHERE __rn = 1) t ANTI JOIN (%[2]s) u ON %[3]s",
			tbl, usedKeys(k, len(keys)), usedOn(k, len(keys))))
		if err := l.exec("stage", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS
			SELECT *, row_number() OVER (PARTITION BY %s ORDER BY file_id DESC, _line) AS __rn,
				first_value([file_id, _line]) OVER (PARTITION BY %s ORDER BY file_id DESC, _line) AS __first
			FROM (SELECT *, %s FROM %s)`,
			tbl, partitionKeys(len(keys)), partitionKeys(len(keys)), strings.Join(keyCols, ", "), unionAll(d.joins[k], emptyCols))); err != nil {
			return err
		}
		if err := l.exec("stage", fmt.Sprintf(`INSERT INTO ld_reject `+ledgerColumns+`
			SELECT file_id, _line, 'validate', 'join_key_repeated', CASE WHEN __first[1] = file_id THEN 'error' ELSE 'warn' END,
				%s, %s, left(CAST(to_json(t) AS VARCHAR), 4096),
				CASE WHEN __first[1] = file_id THEN 'key already on line ' || __first[2] || ' of this file: the first line is joined'
					ELSE 'key also in a newer file (file ' || __first[1] || ', line ' || __first[2] || '), whose line is joined' END
			FROM %s t WHERE __rn > 1 AND file_id > 0 AND %s`,
			engine.QuoteString(strings.Join(sortedValues(jn.On), ",")), keyText(len(keys)), tbl, keysNotNull(len(keys)))); err != nil {
			return err
		}
		from = append(from, fmt.Sprintf("LEFT JOIN (SELECT * FROM %s WHERE __rn = 1) AS %s ON %s", tbl, engine.QuoteIdent(jn.Name), strings.Join(conds, " AND ")))
	}

	// The fields.
	var names, exprs, checks []string
	for _, f := range sortedKeys(m.Columns) {
		c := m.Columns[f]
		names = append(names, engine.QuoteIdent(f))
		switch {
		case c.Value != nil:
			exprs = append(exprs, engine.QuoteString(*c.Value))
		case c.SQL != "":
			e, inputs, err := l.typedExpr(c.SQL, aliases, heads)
			if err != nil {
				return fmt.Errorf("field %s: expression %q: %w", f, c.SQL, err)
			}
			exprs = append(exprs, fmt.Sprintf("CAST(try(%s) AS VARCHAR)", e))
			if len(inputs) > 0 {
				// NULL from inputs that are not all blank: the expression failed.
				checks = append(checks, fmt.Sprintf("CASE WHEN try(%s) IS NULL AND (%s) THEN %s END", e, strings.Join(inputs, " OR "), engine.QuoteString(f)))
			}
		default:
			sqlCol := ""
			for _, a := range c.Aliases {
				q, rest, qualified := strings.Cut(a, ".")
				if qualified && heads[q] != nil && q != thisAlias {
					if s, ok := col(q, rest); ok {
						sqlCol = s
						break
					}
					continue
				}
				if s, ok := col(thisAlias, a); ok {
					sqlCol = s
					break
				}
			}
			if sqlCol == "" && isRequired(m.Target, f) {
				return fmt.Errorf("required field %s: none of its columns (%s) is in the files", f, strings.Join(c.Aliases, ", "))
			}
			if sqlCol == "" {
				sqlCol = "NULL"
			}
			exprs = append(exprs, sqlCol)
		}
	}
	missing := []string{}
	for _, jn := range m.Joins {
		if jn.Optional {
			continue
		}
		missing = append(missing, fmt.Sprintf("CASE WHEN %s.__rn IS NULL THEN %s END", engine.QuoteIdent(jn.Name), engine.QuoteString(jn.Name)))
	}
	// Each join's key on the line, as the joined row has it (NULL where
	// none joined): a line of a joined file is used when a line kept here
	// joined its key (usedKeys) — the first line of a key in a plain join
	// (the others are rejected or shadowed), every line of it in a
	// combined one.
	var joinKeys string
	for k, jn := range m.Joins {
		q := engine.QuoteIdent(jn.Name)
		for i := 1; i <= len(jn.On); i++ {
			joinKeys += fmt.Sprintf(", %s.__k%d AS __u%d_%d", q, i, k, i)
		}
	}
	listOf := func(xs []string) string {
		if len(xs) == 0 {
			return "[]::VARCHAR[]"
		}
		return "list_filter([" + strings.Join(xs, ", ") + "], x -> x IS NOT NULL)"
	}
	fieldsSel := ""
	for i := range names {
		fieldsSel += ", " + exprs[i] + " AS " + names[i]
	}
	// The raw record is made for the lines rejected here only: as JSON for
	// every line it was most of this statement (2.5 million lines of a
	// marketplace export: 24 s).
	if err := l.exec("stage", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE src_out AS
		SELECT * EXCLUDE (__this), CASE WHEN len(__missing) > 0 OR len(__failed) > 0 THEN left(CAST(to_json(__this) AS VARCHAR), 4096) END AS __raw
		FROM (SELECT this.file_id, this._line%s, %s AS __missing, %s AS __failed%s, this AS __this
			FROM %s)`, fieldsSel, listOf(missing), listOf(checks), joinKeys, strings.Join(from, "\n")+"")); err != nil {
		return err
	}
	steps := []string{
		`INSERT INTO ld_reject ` + ledgerColumns + `
			SELECT file_id, _line, 'validate', 'join_missing', 'error', NULL, NULL, __raw,
				'no line of ' || array_to_string(__missing, ', ') || ' has this line''s key' FROM src_out WHERE len(__missing) > 0`,
		`INSERT INTO ld_reject ` + ledgerColumns + `
			SELECT file_id, _line, 'clean', 'expression_failed', 'error', f, NULL, __raw,
				'the expression of ' || f || ' gives no value for this line''s columns'
			FROM (SELECT *, unnest(__failed) AS f FROM src_out WHERE len(__missing) = 0 AND len(__failed) > 0)`,
		fmt.Sprintf(`INSERT INTO %s (file_id, _line, _item, %s) SELECT file_id, _line, 1, %s FROM src_out
			WHERE len(__missing) = 0 AND len(__failed) = 0`, l.stageTable(m.Target), strings.Join(names, ", "), strings.Join(names, ", ")),
	}
	if len(m.Joins) > 0 {
		steps = append(steps, `INSERT INTO ld_reject `+ledgerColumns+`
			SELECT j.file_id, j._line, 'validate', 'join_unused', 'warn', NULL, NULL, NULL,
				'no line of ' || `+engine.QuoteString(m.Name)+` || ' uses this line'
			FROM (`+strings.Join(lineTables, " UNION ALL ")+`) j
			WHERE j.file_id > 0 AND NOT EXISTS (SELECT 1 FROM ld_reject r WHERE r.file_id = j.file_id AND r.line = j._line)`)
	}
	return l.execAll("stage", steps)
}

// combineJoin makes tbl one row per key of a join whose files hold several
// lines per key (the payments of an order): a column holding only numbers
// is summed, any other gives its distinct values joined by commas.
// tbl_lines keeps every line read.
func (l *loader) combineJoin(tbl string, keyCols []string, nkeys int, rows string, heads headerSet) error {
	if err := l.exec("stage", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s_lines AS SELECT *, %s FROM %s`,
		tbl, strings.Join(keyCols, ", "), rows)); err != nil {
		return err
	}
	var cols []string
	for _, k := range sortedStrings(heads) {
		c := heads[k]
		numeric, err := l.numericIn(tbl+"_lines", c)
		if err != nil {
			return err
		}
		q := engine.QuoteIdent(c)
		if numeric {
			cols = append(cols, fmt.Sprintf("CAST(sum(TRY_CAST(nullif(trim(%s), '') AS DECIMAL(18,4))) AS VARCHAR) AS %s", q, q))
		} else {
			cols = append(cols, fmt.Sprintf("nullif(array_to_string(list_sort(list_distinct(list(nullif(trim(%s), '')))), ','), '') AS %s", q, q))
		}
	}
	// The values are gathered unordered and sorted after: an aggregate
	// with ORDER BY (string_agg(DISTINCT v, ',' ORDER BY v), and the list
	// of the lines combined that was here) keeps a sort of its own per key,
	// which DuckDB cannot spill — 2,000,000 orders' payments ran a load
	// out of its 1 GB and took 22 s and 2.6 GB under 8 GB, against
	// 3.7–5.2 s and 1.1 GB this way, the same rows.
	return l.exec("stage", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS
		SELECT %s, %s, 1 AS __rn,
			min(file_id) AS file_id, min(_line) AS _line
		FROM %s_lines WHERE %s GROUP BY ALL`,
		tbl, partitionKeys(nkeys), strings.Join(cols, ", "), tbl, keysNotNull(nkeys)))
}

// numericIn reports whether every non-blank value of column c of table is
// a number (and there is one).
func (l *loader) numericIn(table, c string) (bool, error) {
	var ok bool
	q := engine.QuoteIdent(c)
	err := l.tx.QueryRowContext(l.ctx, fmt.Sprintf(`SELECT coalesce(bool_and(TRY_CAST(nullif(trim(%s), '') AS DECIMAL(18,4)) IS NOT NULL)
		FILTER (WHERE nullif(trim(%s), '') IS NOT NULL), false) FROM %s`, q, q, table)).Scan(&ok)
	return ok, err
}

// typedExpr rewrites an expression's column references to the columns of
// the joined tables, numbers where every value of the column is one: the
// rewritten SQL and, for each referenced column, SQL saying it holds a
// value on the line.
func (l *loader) typedExpr(expr string, aliases []string, heads map[string]headerSet) (string, []string, error) {
	joins := map[string]bool{}
	for _, a := range aliases {
		joins[a] = true
	}
	cols, err := checkExpr(l.ctx, l.tx, expr, joins)
	if err != nil {
		return "", nil, err
	}
	var js string
	if err := l.tx.QueryRowContext(l.ctx, `SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)`, "SELECT "+wrapExpr(expr)).Scan(&js); err != nil {
		return "", nil, err
	}
	var tree any
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber() // query locations are uint64
	if err := dec.Decode(&tree); err != nil {
		return "", nil, err
	}
	resolved := map[exprColumn][2]string{} // -> alias, column
	var inputs []string
	for _, c := range cols {
		alias := c.Qualifier
		if alias == "" {
			for _, a := range aliases {
				if _, ok := heads[a][clean.HeaderKey(c.Name)]; ok {
					alias = a
					break
				}
			}
		}
		name, ok := heads[alias][clean.HeaderKey(c.Name)]
		if !ok {
			return "", nil, fmt.Errorf("column %s is in none of the files (%s)", c.Name, strings.Join(aliases, ", "))
		}
		numeric, err := l.numericColumn(alias, name)
		if err != nil {
			return "", nil, err
		}
		target := name
		if numeric {
			target = "__n_" + name
			if err := l.addNumeric(alias, name); err != nil {
				return "", nil, err
			}
		}
		resolved[c] = [2]string{alias, target}
		inputs = append(inputs, fmt.Sprintf("nullif(trim(%s.%s), '') IS NOT NULL", engine.QuoteIdent(alias), engine.QuoteIdent(name)))
	}
	rewriteRefs(tree, resolved)
	if err := l.exactDivisions(tree); err != nil {
		return "", nil, err
	}
	out, err := json.Marshal(tree)
	if err != nil {
		return "", nil, err
	}
	var sqlText string
	if err := l.tx.QueryRowContext(l.ctx, `SELECT json_deserialize_sql(CAST(? AS JSON))`, string(out)).Scan(&sqlText); err != nil {
		return "", nil, fmt.Errorf("rewrite: %w", err)
	}
	return strings.TrimPrefix(sqlText, "SELECT "), inputs, nil
}

// exactDivisions rewrites a division by a number whose reciprocal is a
// short decimal (x / 100, x / 8) as a multiplication by that decimal
// (x * 0.01): DuckDB divides decimals as binary floating point, so
// round(161.15 * 10 / 100, 2) would give 16.11, not 16.12.
func (l *loader) exactDivisions(v any) error {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := l.exactDivisions(e); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range x {
			if k != "class" {
				if err := l.exactDivisions(e); err != nil {
					return err
				}
			}
		}
		if x["class"] != "FUNCTION" || x["function_name"] != "/" {
			return nil
		}
		kids, _ := x["children"].([]any)
		if len(kids) != 2 {
			return nil
		}
		recip, ok := reciprocal(kids[1])
		if !ok {
			return nil
		}
		var js string
		if err := l.tx.QueryRowContext(l.ctx, `SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)`,
			fmt.Sprintf("SELECT CAST('%s' AS DECIMAL(%d,%d))", recip, len(recip)-1, len(recip)-2)).Scan(&js); err != nil {
			return err
		}
		var tree struct {
			Statements []struct {
				Node struct {
					SelectList []any `json:"select_list"`
				} `json:"node"`
			} `json:"statements"`
		}
		dec := json.NewDecoder(strings.NewReader(js))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil || len(tree.Statements) != 1 || len(tree.Statements[0].Node.SelectList) != 1 {
			return fmt.Errorf("rewrite a division: %v", err)
		}
		x["function_name"] = "*"
		kids[1] = tree.Statements[0].Node.SelectList[0]
	}
	return nil
}

// reciprocal returns 1/c as a decimal text ("0.01") when the node is an
// integer constant c > 1 whose reciprocal has at most 10 decimals.
func reciprocal(node any) (string, bool) {
	m, _ := node.(map[string]any)
	if m == nil || m["class"] != "CONSTANT" {
		return "", false
	}
	val, _ := m["value"].(map[string]any)
	if val == nil || val["is_null"] == true {
		return "", false
	}
	num, ok := val["value"].(json.Number)
	if !ok {
		return "", false
	}
	c, err := num.Int64()
	if err != nil || c <= 1 {
		return "", false
	}
	// 1/c terminates iff c = 2^a 5^b; its decimals are max(a, b).
	n, a, b := c, 0, 0
	for n%2 == 0 {
		n, a = n/2, a+1
	}
	for n%5 == 0 {
		n, b = n/5, b+1
	}
	places := max(a, b)
	if n != 1 || places > 10 {
		return "", false
	}
	scale := int64(1)
	for range places {
		scale *= 10
	}
	digits := fmt.Sprintf("%0*d", places, scale/c)
	return "0." + digits, true
}

// rewriteRefs points every column reference at its resolved table column.
func rewriteRefs(v any, resolved map[exprColumn][2]string) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			rewriteRefs(e, resolved)
		}
	case map[string]any:
		if x["class"] == "COLUMN_REF" {
			names, _ := x["column_names"].([]any)
			var c exprColumn
			if len(names) == 1 {
				c = exprColumn{"", fmt.Sprint(names[0])}
			} else if len(names) == 2 {
				c = exprColumn{fmt.Sprint(names[0]), fmt.Sprint(names[1])}
			}
			if r, ok := resolved[c]; ok {
				x["column_names"] = []any{r[0], r[1]}
			}
			return
		}
		for _, e := range x {
			rewriteRefs(e, resolved)
		}
	}
}

// tableOf is the staging table behind an alias: src_this, or srcj_NAME
// for a join (apart from the other src_ tables whatever the join's name).
func tableOf(alias string) string {
	if alias == thisAlias {
		return "src_this"
	}
	return "srcj_" + alias
}

// numericColumn reports whether every non-blank value of a column is a
// number (and there is one): an expression then reads it as DECIMAL(18,4).
func (l *loader) numericColumn(alias, name string) (bool, error) {
	return l.numericIn(tableOf(alias), name)
}

// addNumeric adds the numeric copy __n_<name> of a column to its table.
func (l *loader) addNumeric(alias, name string) error {
	n := engine.QuoteIdent("__n_" + name)
	t := tableOf(alias)
	var exists bool
	if err := l.tx.QueryRowContext(l.ctx, `SELECT count(*) > 0 FROM duckdb_columns() WHERE table_name = ? AND column_name = ? AND database_name = 'temp'`,
		t, "__n_"+name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	// ckm:not-a-fact-writer: t is a staging table of the join.
	return l.execAll("stage", []string{
		fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s DECIMAL(18,4)`, t, n),
		fmt.Sprintf(`UPDATE %s SET %s = TRY_CAST(nullif(trim(%s), '') AS DECIMAL(18,4))`, t, n, engine.QuoteIdent(name)),
	})
}

func partitionKeys(n int) string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("__k%d", i))
	}
	return strings.Join(out, ", ")
}

// usedKeys is SQL for the keys of join k (of n columns) that lines kept
// in src_out joined.
func usedKeys(k, n int) string {
	var cols []string
	for i := 1; i <= n; i++ {
		cols = append(cols, fmt.Sprintf("__u%d_%d", k, i))
	}
	return fmt.Sprintf("SELECT DISTINCT %s FROM src_out WHERE len(__missing) = 0 AND len(__failed) = 0 AND __u%d_1 IS NOT NULL",
		strings.Join(cols, ", "), k)
}

// usedOn is SQL matching a joined line t's key to the used keys u of join k.
func usedOn(k, n int) string {
	var conds []string
	for i := 1; i <= n; i++ {
		conds = append(conds, fmt.Sprintf("t.__k%d = u.__u%d_%d", i, k, i))
	}
	return strings.Join(conds, " AND ")
}

func keysNotNull(n int) string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("nullif(__k%d, '') IS NOT NULL", i))
	}
	return strings.Join(out, " AND ")
}

func keyText(n int) string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("__k%d", i))
	}
	return "concat_ws(',', " + strings.Join(out, ", ") + ")"
}

func sortedStrings(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, k := range sortedStrings(m) {
		out = append(out, m[k])
	}
	return out
}

func isRequired(target, field string) bool {
	for _, f := range targets[target].Fields {
		if f.Name == field {
			return f.Required
		}
	}
	return false
}
