package serve

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestDriverCatalogQueries runs what JDBC and pgx send on connect and
// when they meet an unknown type, over both protocols and as analyst and
// admin, each against its expected rows.
func TestDriverCatalogQueries(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	cases := []struct {
		query string
		args  []any
		want  string // rows joined by ";", cells by ","
	}{
		{"SET extra_float_digits = 3", nil, ""},
		{"SET application_name = 'PostgreSQL JDBC Driver'", nil, ""},
		{"SHOW transaction_isolation", nil, "serializable"},
		{"SHOW TRANSACTION ISOLATION LEVEL", nil, "serializable"},
		{"SHOW server_version", nil, "15.0"},
		{"SHOW standard_conforming_strings", nil, "on"},
		{"select version()", nil, "PostgreSQL 15.0 (ckm serve, DuckDB v1.5.6)"},
		{"SELECT current_database()", nil, "shared"},
		// JDBC's TypeInfoCache.getPGType(oid), and a lookup by name.
		{"SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = $1", []any{int64(25)}, "true,pg_catalog,text"},
		{"SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = $1", []any{int64(1700)}, "true,pg_catalog,numeric"},
		{"SELECT typname, typlen FROM pg_catalog.pg_type WHERE oid IN (20, 23, 114) ORDER BY oid", nil, "int8,8;int4,4;json,-1"},
	}
	for _, user := range []string{"ana", "root"} {
		for _, simple := range []bool{true, false} {
			c := connect(t, srv, user, simple)
			for _, tc := range cases {
				rows, err := c.Query(ctx, tc.query, tc.args...)
				if err != nil {
					t.Errorf("%s simple=%v %q: %v", user, simple, tc.query, err)
					continue
				}
				var got []string
				for rows.Next() {
					vals, err := rows.Values()
					if err != nil {
						t.Fatal(err)
					}
					cells := make([]string, len(vals))
					for i, v := range vals {
						cells[i] = fmt.Sprint(v)
					}
					got = append(got, strings.Join(cells, ","))
				}
				if err := rows.Err(); err != nil {
					t.Errorf("%s simple=%v %q: %v", user, simple, tc.query, err)
					continue
				}
				if g := strings.Join(got, ";"); g != tc.want {
					t.Errorf("%s simple=%v %q = %q, want %q", user, simple, tc.query, g, tc.want)
				}
			}
		}
	}
	// The type views change which catalog rows are read, nothing else: an
	// analyst naming pg_type beside a raw table is still refused.
	c := connect(t, srv, "ana", false)
	_, err := c.Exec(ctx, "SELECT t.typname, d.mobile FROM pg_catalog.pg_type t, main.dim_customer d")
	if pgCode(err) != "42501" {
		t.Errorf("analyst pg_type beside main.dim_customer: %v, want 42501", err)
	}
}

func TestNormalizeAndMatchers(t *testing.T) {
	q := normalizeQuery("SELECT  c.oid,\n  n.nspname, c.relname\nFROM pg_catalog.pg_class c ;")
	if q != "select c.oid, n.nspname, c.relname from pg_catalog.pg_class c" {
		t.Errorf("normalize: %q", q)
	}
	for _, c := range []struct {
		name  string
		query string
		want  bool
	}{
		{"footer", "select pol.polname from pg_catalog.pg_policy pol where pol.polrelid = '16384'", true},
		{"footer without an oid", "select * from pg_catalog.pg_policy", false},
		{"a query", "select * from fact_sales where note = 'pg_catalog.pg_index'", false},
	} {
		if got := matchFooter(c.query); got != c.want {
			t.Errorf("%s: matchFooter = %v, want %v", c.name, got, c.want)
		}
	}
	if _, ok := rewriteTypeLookup("SELECT * FROM fact_sales"); ok {
		t.Error("rewrote a statement without pg_type")
	}
	if got, _ := rewriteTypeLookup("SELECT * FROM pg_catalog . pg_type t JOIN PG_CATALOG.pg_namespace n ON true"); got != "SELECT * FROM temp.main.pg_type t JOIN temp.main.pg_namespace n ON true" {
		t.Errorf("rewrite: %q", got)
	}
}
