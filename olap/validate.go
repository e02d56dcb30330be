package olap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// catalog maps table -> column -> DuckDB type name.
type catalog map[string]map[string]string

func readCatalog(ctx context.Context, db engine.Querier) (catalog, error) {
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main'`)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	defer rows.Close()
	cat := catalog{}
	for rows.Next() {
		var t, c, typ string
		if err := rows.Scan(&t, &c, &typ); err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		if cat[t] == nil {
			cat[t] = map[string]string{}
		}
		cat[t][c] = typ
	}
	return cat, rows.Err()
}

// Validate checks the cube against the warehouse: tables and columns exist,
// joins do not fan out (the dimension key is unique), each hierarchy is
// functional (no child member under two parents), and measures aggregate
// columns of a type their aggregation accepts. All problems are returned
// together, each a *ModelError naming the file, line and field.
func Validate(ctx context.Context, db engine.Querier, c *Cube) error {
	cat, err := readCatalog(ctx, db)
	if err != nil {
		return err
	}
	v := &validator{ctx: ctx, db: db, c: c, cat: cat}
	if cat[c.Fact] == nil {
		v.bad(c.Pos, "fact", "no table %q in the warehouse (run `ckm init`, load data, or fix the name)", c.Fact)
	}
	if err := v.checkJoins(); err != nil {
		return err
	}
	v.checkDimensionColumns()
	if len(v.errs) > 0 {
		return errors.Join(v.errs...) // the queries below need the columns
	}
	if err := v.checkHierarchies(); err != nil {
		return err
	}
	v.checkMeasures()
	v.checkDrillThrough()
	return errors.Join(v.errs...)
}

// validator collects the problems Validate finds in one cube.
type validator struct {
	ctx  context.Context
	db   engine.Querier
	c    *Cube
	cat  catalog
	errs []error
}

// bad records a problem with the model field at p.
func (v *validator) bad(p Pos, field, format string, args ...any) {
	v.errs = append(v.errs, &ModelError{File: v.c.File, Line: p.FieldLine(lastField(field)), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// tableOf is the table behind a join alias ("" or the fact alias: the fact).
func (v *validator) tableOf(alias string) string {
	if alias == "" || alias == factAlias {
		return v.c.Fact
	}
	if j := v.c.joins[alias]; j != nil {
		return j.Table
	}
	return ""
}

// column checks "alias.column" style references (alias "" = fact) and
// returns the column's type ("" when unknown).
func (v *validator) column(p Pos, field, alias, col string) string {
	t := v.tableOf(alias)
	cols := v.cat[t]
	if cols == nil {
		return ""
	}
	typ, ok := cols[col]
	if !ok {
		v.bad(p, field, "table %s has no column %q (columns: %s)", t, col, strings.Join(sortedKeys(cols), ", "))
	}
	return typ
}

// columnRef checks a reference written "alias.column" or "column" (of the fact).
func (v *validator) columnRef(p Pos, field, ref string) string {
	alias, col, ok := strings.Cut(ref, ".")
	if !ok {
		alias, col = "", ref
	}
	return v.column(p, field, alias, col)
}

// checkJoins checks each join's table and keys, and that it does not fan out.
func (v *validator) checkJoins() error {
	for i, j := range v.c.Joins {
		f := fmt.Sprintf("joins[%d]", i)
		if v.cat[j.Table] == nil {
			v.bad(j.Pos, f+".table", "no table %q in the warehouse", j.Table)
			continue
		}
		v.column(j.Pos, f+".fact_key", "", j.FactKey)
		if v.column(j.Pos, f+".key", j.Name, j.Key) == "" {
			continue
		}
		if err := v.checkFanOut(j, f); err != nil {
			return err
		}
	}
	return nil
}

// checkFanOut: a join fans out when one fact row matches several dimension rows.
func (v *validator) checkFanOut(j *Join, f string) error {
	var dup int64
	var example sql.NullString
	q := fmt.Sprintf(`SELECT count(*), CAST(min(k) AS VARCHAR) FROM (SELECT %s AS k FROM %s GROUP BY 1 HAVING count(*) > 1)`, quoteIdent(j.Key), quoteIdent(j.Table))
	if err := scanOne(v.ctx, v.db, q, &dup, &example); err != nil {
		return fmt.Errorf("validate %s: %w", v.c.Name, err)
	}
	if dup > 0 {
		v.bad(j.Pos, f+".key", "join fans out: %d values of %s.%s occur more than once (e.g. %s); join on a unique key so facts are not counted twice", dup, j.Table, j.Key, example.String)
	}
	return nil
}

// checkDimensionColumns checks the columns of every dimension's time
// parts, hierarchy levels and attributes.
func (v *validator) checkDimensionColumns() {
	for _, d := range v.c.Dimensions {
		df := "dimensions[" + d.Name + "]"
		if d.Time != nil {
			for name, col := range map[string]string{"year": d.Time.Year, "quarter": d.Time.Quarter, "month": d.Time.Month, "date": d.Time.Date} {
				if col != "" {
					v.column(d.Time.Pos, df+".time."+name, d.Join, col)
				}
			}
		}
		check := func(l *Level, field string) {
			v.column(l.Pos, field+".column", d.Join, l.Column)
			if l.Key != "" {
				v.column(l.Pos, field+".key", d.Join, l.Key)
			}
		}
		for hi, h := range d.Hierarchies {
			for li, l := range h.Levels {
				check(l, fmt.Sprintf("%s.hierarchies[%d].levels[%d]", df, hi, li))
			}
		}
		for ai, l := range d.Attributes {
			check(l, fmt.Sprintf("%s.attributes[%d]", df, ai))
		}
	}
}

// checkHierarchies checks in the data that every level lies under one
// member of the level above.
func (v *validator) checkHierarchies() error {
	for _, d := range v.c.Dimensions {
		for hi, h := range d.Hierarchies {
			for li := 1; li < len(h.Levels); li++ {
				child, parent := h.Levels[li], h.Levels[li-1]
				ok, example, err := functional(v.ctx, v.db, v.c, d, parent, child)
				if err != nil {
					return fmt.Errorf("validate %s: %w", v.c.Name, err)
				}
				if !ok {
					v.bad(child.Pos, fmt.Sprintf("dimensions[%s].hierarchies[%d].levels[%d]", d.Name, hi, li),
						"hierarchy %s is not functional: %s %s lies under more than one %s (%s); give the level a unique key (key: column) or fix the data",
						h.Name, child.Name, example.child, parent.Name, example.parents)
				}
			}
		}
	}
	return nil
}

// checkMeasures checks the columns of every measure's expression and
// filters, and that sum and avg (or arithmetic) get numbers.
func (v *validator) checkMeasures() {
	for _, m := range v.c.Measures {
		f := "measures[" + m.Name + "]"
		if m.Expr != "" {
			toks, _ := tokenizeExpr(m.Expr)
			numeric := true
			for _, t := range toks {
				if t.kind != 'n' {
					continue
				}
				typ := v.columnRef(m.Pos, f+".expr", t.text)
				if typ != "" && !isNumericType(typ) {
					numeric = false
				}
			}
			if !numeric && (m.Agg == AggSum || m.Agg == AggAvg || len(toks) > 1) {
				v.bad(m.Pos, f+".agg", "agg %s needs a numeric expression, but %q is not numeric; use count, count_distinct, min or max, or a numeric column", m.Agg, m.Expr)
			}
		}
		for i, cond := range m.Where {
			v.columnRef(cond.Pos, fmt.Sprintf("%s.where[%d].column", f, i), cond.Column)
		}
	}
}

// checkDrillThrough checks the columns a drill-through lists.
func (v *validator) checkDrillThrough() {
	if v.c.DrillThrough == nil {
		return
	}
	for i, tc := range v.c.DrillThrough.Columns {
		v.columnRef(tc.Pos, fmt.Sprintf("drill_through.columns[%d].column", i), tc.Column)
	}
}

type functionalExample struct{ child, parents string }

// functional checks with one query that each child member has one parent.
func functional(ctx context.Context, db engine.Querier, c *Cube, d *Dimension, parent, child *Level) (bool, functionalExample, error) {
	from := quoteIdent(c.Fact) + " AS " + factAlias
	if d.Join != "" {
		j := c.joins[d.Join]
		from = quoteIdent(j.Table) + " AS " + quoteIdent(j.Name)
	}
	q := fmt.Sprintf(`SELECT CAST(k AS VARCHAR), CAST(list(DISTINCT p ORDER BY p)[1:3] AS VARCHAR) FROM (SELECT %s AS k, %s AS p FROM %s) WHERE k IS NOT NULL GROUP BY k HAVING count(DISTINCT p) > 1 ORDER BY k LIMIT 1`,
		c.keyExpr(child), c.keyExpr(parent), from)
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return false, functionalExample{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		return true, functionalExample{}, rows.Err()
	}
	var k, p sql.NullString
	if err := rows.Scan(&k, &p); err != nil {
		return false, functionalExample{}, err
	}
	return false, functionalExample{child: fmt.Sprintf("%q", k.String), parents: p.String}, nil
}

func scanOne(ctx context.Context, db engine.Querier, q string, dest ...any) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

func isNumericType(t string) bool {
	t = strings.ToUpper(t)
	for _, p := range []string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "DECIMAL", "FLOAT", "DOUBLE", "REAL"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
