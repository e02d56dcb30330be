package etl

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// exprFunctions are the functions a mapping expression may call: scalar
// functions of the values of one line. Anything else (subqueries, table
// functions, aggregates, settings) is refused, so an expression can reach
// neither files nor other tables.
var exprFunctions = map[string]bool{
	"+": true, "-": true, "*": true, "/": true, "//": true, "%": true, "||": true,
	"~~": true, "!~~": true, "~~*": true, "!~~*": true,
	"abs": true, "round": true, "round_even": true, "floor": true, "ceil": true, "ceiling": true, "trunc": true,
	"sign": true, "power": true, "pow": true, "sqrt": true, "mod": true, "greatest": true, "least": true,
	"nullif": true, "ifnull": true, "if": true,
	"concat": true, "concat_ws": true, "upper": true, "lower": true, "ucase": true, "lcase": true,
	"trim": true, "ltrim": true, "rtrim": true, "substr": true, "substring": true, "left": true, "right": true,
	"replace": true, "regexp_replace": true, "regexp_extract": true, "regexp_matches": true, "split_part": true,
	"length": true, "strlen": true, "lpad": true, "rpad": true, "starts_with": true, "ends_with": true,
	"contains": true, "prefix": true, "suffix": true, "strpos": true, "instr": true, "reverse": true, "repeat": true,
	"format": true, "printf": true, "md5": true,
	"strptime": true, "try_strptime": true, "strftime": true, "make_date": true, "make_timestamp": true,
	"date_trunc": true, "date_part": true, "datepart": true, "to_timestamp": true, "epoch_ms": true,
	"year": true, "month": true, "day": true, "hour": true, "minute": true, "second": true,
}

// exprClasses are the expression node classes allowed.
var exprClasses = map[string]bool{
	"COLUMN_REF": true, "CONSTANT": true, "FUNCTION": true, "CAST": true, "CASE": true,
	"OPERATOR": true, "COMPARISON": true, "CONJUNCTION": true, "BETWEEN": true,
}

// querier runs one-row queries: a database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// wrapExpr is how an expression is embedded in the SQL that evaluates it;
// validation parses exactly this form.
func wrapExpr(expr string) string { return "(" + expr + "\n)" }

// exprColumn is a column an expression refers to: Qualifier is "" or a
// join's name (or "this").
type exprColumn struct{ Qualifier, Name string }

// checkExpr parses expr with DuckDB's parser and checks that it is one
// scalar expression of allowed functions over columns, the source's own
// or those of its joins (qualified by the join's name or "this"). It
// returns the columns referred to.
func checkExpr(ctx context.Context, db querier, expr string, joins map[string]bool) ([]exprColumn, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	var js string
	if err := db.QueryRowContext(ctx, `SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)`, "SELECT "+wrapExpr(expr)).Scan(&js); err != nil {
		return nil, err
	}
	var tree struct {
		Error        bool   `json:"error"`
		ErrorMessage string `json:"error_message"`
		Statements   []struct {
			Node map[string]any `json:"node"`
		} `json:"statements"`
	}
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return nil, err
	}
	if tree.Error {
		return nil, fmt.Errorf("%s", tree.ErrorMessage)
	}
	if len(tree.Statements) != 1 {
		return nil, fmt.Errorf("one expression, not %d statements", len(tree.Statements))
	}
	n := tree.Statements[0].Node
	list, _ := n["select_list"].([]any)
	from, _ := n["from_table"].(map[string]any)
	mods, _ := n["modifiers"].([]any)
	groups, _ := n["group_expressions"].([]any)
	if n["type"] != "SELECT_NODE" || len(list) != 1 || from == nil || from["type"] != "EMPTY" || len(mods) > 0 || len(groups) > 0 ||
		n["where_clause"] != nil || n["having"] != nil || n["qualify"] != nil {
		return nil, fmt.Errorf("want one expression over the line's columns, not a query")
	}
	seen := map[exprColumn]bool{}
	if err := walkExpr(list[0], joins, seen); err != nil {
		return nil, err
	}
	var cols []exprColumn
	for c := range seen {
		cols = append(cols, c)
	}
	sort.Slice(cols, func(a, b int) bool {
		if cols[a].Qualifier != cols[b].Qualifier {
			return cols[a].Qualifier < cols[b].Qualifier
		}
		return cols[a].Name < cols[b].Name
	})
	return cols, nil
}

// walkExpr checks every node under v.
func walkExpr(v any, joins map[string]bool, cols map[exprColumn]bool) error {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := walkExpr(e, joins, cols); err != nil {
				return err
			}
		}
	case map[string]any:
		if class, ok := x["class"].(string); ok {
			if !exprClasses[class] {
				what := strings.ToLower(strings.ReplaceAll(class, "_", " "))
				return fmt.Errorf("a %s is not allowed: an expression reads the values of its line only", what)
			}
			switch class {
			case "FUNCTION":
				name, _ := x["function_name"].(string)
				if !exprFunctions[strings.ToLower(name)] {
					return fmt.Errorf("function %s is not allowed in a mapping expression (allowed: scalar functions of text, numbers and dates such as round, coalesce, strptime)", name)
				}
				if schema, _ := x["schema"].(string); schema != "" {
					return fmt.Errorf("function %s.%s is not allowed", schema, name)
				}
				if d, _ := x["distinct"].(bool); d || x["filter"] != nil {
					return fmt.Errorf("function %s: no DISTINCT or FILTER in a line's expression", name)
				}
			case "COLUMN_REF":
				names, _ := x["column_names"].([]any)
				switch len(names) {
				case 1:
					cols[exprColumn{"", fmt.Sprint(names[0])}] = true
				case 2:
					q := fmt.Sprint(names[0])
					if !joins[q] {
						return fmt.Errorf("%s.%s: %s is neither %s nor a join of this source", q, names[1], q, thisAlias)
					}
					cols[exprColumn{q, fmt.Sprint(names[1])}] = true
				default:
					return fmt.Errorf("column %v: want COLUMN or JOIN.COLUMN", names)
				}
			}
		}
		for k, e := range x {
			if k == "class" {
				continue
			}
			if err := walkExpr(e, joins, cols); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckExpressions validates the expressions of every mapping: a bad one
// is an error naming the source and the field.
func CheckExpressions(ctx context.Context, db *sql.DB, ms []Mapping) error {
	for i := range ms {
		m := &ms[i]
		joins := map[string]bool{thisAlias: true}
		for _, j := range m.Joins {
			joins[j.Name] = true
		}
		for _, f := range sortedKeys(m.Columns) {
			c := m.Columns[f]
			if c.SQL == "" {
				continue
			}
			if _, err := checkExpr(ctx, db, c.SQL, joins); err != nil {
				return fmt.Errorf("source %s (%s), field %s: expression %q: %w", m.Name, m.origin, f, c.SQL, err)
			}
		}
	}
	return nil
}
