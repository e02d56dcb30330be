package serve

import (
	"context"
	"fmt"
)

// CatalogNamesQuery is what ckm sql through the server asks for the names
// its REPL completes and lists (.tables, .schema, Tab): the server answers
// it itself, with the relations the session's principal may read (an
// analyst: the masked views and the tables an analyst may read), their
// columns and CREATE statements, ckm's functions and the SQL keywords.
// Rows: kind (table, view, column, function, keyword), schema, relation,
// name, data type (a function's: its kind, e.g. table_macro), sql.
const CatalogNamesQuery = `SELECT kind, schema_name, relation_name, name, data_type, sql FROM ckm_catalog_names`

// catalogNames answers CatalogNamesQuery.
func catalogNames(ctx context.Context, cc *catalogContext, _ string) (catalogAnswer, error) {
	rels, err := cc.relations(ctx)
	if err != nil {
		return catalogAnswer{}, err
	}
	res := &fixedResult{cols: textColumns("kind", "schema_name", "relation_name", "name", "data_type", "sql")}
	for _, r := range rels {
		kind, q := "table", `SELECT sql FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`
		if r.kind == "v" {
			kind, q = "view", `SELECT sql FROM duckdb_views() WHERE database_name = current_database() AND schema_name = ? AND view_name = ?`
		}
		var create any
		var s string
		if err := cc.conn.QueryRowContext(ctx, q, r.schema, r.name).Scan(&s); err == nil {
			create = s
		}
		res.rows = append(res.rows, []any{kind, r.schema, r.name, r.name, nil, create})
		cols, err := cc.conn.QueryContext(ctx, `SELECT column_name, data_type FROM duckdb_columns()
			WHERE database_name = current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index`, r.schema, r.name)
		if err != nil {
			return catalogAnswer{}, fmt.Errorf("columns of %s.%s: %w", r.schema, r.name, err)
		}
		for cols.Next() {
			var name, typ string
			if err := cols.Scan(&name, &typ); err != nil {
				cols.Close()
				return catalogAnswer{}, err
			}
			res.rows = append(res.rows, []any{"column", r.schema, r.name, name, typ, nil})
		}
		cols.Close()
		if err := cols.Err(); err != nil {
			return catalogAnswer{}, err
		}
	}
	for _, list := range []struct{ kind, q string }{
		// A function's data type is its kind: scalar, table_macro (what
		// .mine runs), ...
		{"function", `SELECT function_name, min(function_type) FROM duckdb_functions() WHERE function_name LIKE 'ckm\_%' ESCAPE '\' GROUP BY 1 ORDER BY 1`},
		{"keyword", `SELECT keyword_name, NULL FROM duckdb_keywords() ORDER BY 1`},
	} {
		rows, err := cc.conn.QueryContext(ctx, list.q)
		if err != nil {
			return catalogAnswer{}, err
		}
		for rows.Next() {
			var name string
			var typ any
			if err := rows.Scan(&name, &typ); err != nil {
				rows.Close()
				return catalogAnswer{}, err
			}
			res.rows = append(res.rows, []any{list.kind, nil, nil, name, typ, nil})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return catalogAnswer{}, err
		}
	}
	return catalogAnswer{fixed: res}, nil
}
