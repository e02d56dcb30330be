package olap

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite olap/testdata/*.golden")

// goldenQueries are compiled to SQL and compared with testdata/NAME.golden.
var goldenQueries = []struct {
	name string
	q    Query
}{
	{"sales_revenue_by_province", Query{Cube: "sales", Measures: []string{"revenue", "orders"}, Rows: []string{"region.province"}}},
	{"sales_province_city_totals", Query{Cube: "sales", Measures: []string{"revenue", "customers"}, Rows: []string{"region.province", "region.city"}, Totals: true}},
	{"sales_pivot_year", Query{Cube: "sales", Measures: []string{"revenue"}, Rows: []string{"region.province"}, Cols: []string{"date.year"}, Totals: true}},
	{"sales_drill_guangdong", Query{Cube: "sales", Measures: []string{"revenue"}, Rows: []string{"region.province"}, Drill: &Drill{Level: "region.province", Member: "Guangdong"}}},
	{"sales_dice", Query{Cube: "sales", Measures: []string{"avg_line_amount", "returns", "margin"}, Rows: []string{"product.category"},
		Where: []Filter{{Level: "date.year", Op: "between", Values: []any{2023, 2024}}, {Level: "customer.type", Op: "not_in", Values: []any{"churned", "potential"}}}, Order: []Order{{Key: "margin", Desc: true}}, Limit: 10}},
	{"sales_semi_additive", Query{Cube: "sales", Measures: []string{"last_day_customers", "avg_daily_revenue"}, Rows: []string{"date.year", "date.month"}, Totals: true}},
	{"sales_time_intelligence", Query{Cube: "sales", Measures: []string{"revenue", "revenue_prior_period", "revenue_yoy_ratio", "revenue_ytd", "revenue_rolling_3"}, Rows: []string{"date.month"}, Where: []Filter{{Level: "date.year", Op: "eq", Values: []any{2024}}}}},
	{"sales_top_other", Query{Cube: "sales", Measures: []string{"revenue", "customers"}, Rows: []string{"region.province", "product.product"}, Top: &Top{Level: "product.product", N: 3, By: "revenue", Other: true}}},
	{"sales_share", Query{Cube: "sales", Measures: []string{"revenue_share"}, Rows: []string{"channel.channel"}}},
	{"sales_through", Query{Cube: "sales", Where: []Filter{{Level: "region.city", Op: "eq", Values: []any{"Shenzhen"}}}, Through: &Through{Limit: 20}}},
	{"interactions_by_category", Query{Cube: "interactions", Measures: []string{"contacts", "avg_satisfaction", "unhappy_share"}, Rows: []string{"contact.category"}, Totals: true}},
	{"campaigns_response", Query{Cube: "campaigns", Measures: []string{"targeted", "responses", "response_rate"}, Rows: []string{"campaign.campaign"}}},
}

func TestCompileGolden(t *testing.T) {
	m, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldenQueries {
		t.Run(g.name, func(t *testing.T) {
			c, err := m.Cube(g.q.Cube)
			if err != nil {
				t.Fatal(err)
			}
			text, args, err := Compile(c, g.q)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, g.name+".golden", "compiled SQL", fmt.Sprintf("-- args: %#v\n%s\n", args, text))
		})
	}
}

// checkGolden compares got, the what of a test, with testdata/name, or
// rewrites the file under -update.
func checkGolden(t *testing.T, name, what, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./olap -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed (run go test ./olap -run %s -update if intended)\n got:\n%s\nwant:\n%s", what, t.Name(), got, want)
	}
}

// TestGoldenQueriesRun executes every golden query on the small warehouse.
func TestGoldenQueriesRun(t *testing.T) {
	w := smallWarehouse(t)
	m, _ := Builtin()
	for _, g := range goldenQueries {
		c, _ := m.Cube(g.q.Cube)
		p, err := Plan(c, g.q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Run(context.Background(), w, p.SQL, p.Args); err != nil {
			t.Errorf("%s: %v\n%s", g.name, err, p.SQL)
		}
	}
}

// TestHostileFilterValues checks that values never reach the SQL text: the
// compiled SQL is the same for a harmless and a hostile value, the value is
// passed as a parameter, and running it neither fails open nor harms the
// warehouse.
func TestHostileFilterValues(t *testing.T) {
	w := smallWarehouse(t)
	sales := builtinCube(t, "sales")
	hostile := []string{
		`'; DROP TABLE fact_sales; --`,
		`Guangdong' OR '1'='1`,
		`") OR 1=1 --`,
		`$1`,
		`\'; SELECT * FROM dim_customer; --`,
		"Guang\x00dong",
		`广东' UNION SELECT mobile FROM dim_customer --`,
	}
	mk := func(v string) Query {
		return Query{Measures: []string{"revenue"}, Rows: []string{"region.city"},
			Where: []Filter{{Level: "region.province", Op: "eq", Values: []any{v}}, {Level: "product.category", Op: "in", Values: []any{v, "Food"}}},
			Top:   &Top{Level: "region.city", N: 2, By: "revenue", Other: true}}
	}
	safeSQL, _, err := Compile(sales, mk("Guangdong"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range hostile {
		text, args, err := Compile(sales, mk(v))
		if err != nil {
			t.Fatal(err)
		}
		if text != safeSQL {
			t.Fatalf("value %q changed the SQL:\n%s", v, text)
		}
		found := false
		for _, a := range args {
			found = found || a == v
		}
		if !found {
			t.Fatalf("value %q not among the args %v", v, args)
		}
		rows, err := Run(context.Background(), w, text, args)
		if err != nil {
			t.Fatalf("value %q: %v", v, err)
		}
		if len(rows) != 0 {
			t.Fatalf("value %q matched rows: %v", v, rows)
		}
	}
	through := Query{Where: []Filter{{Level: "region.city", Op: "eq", Values: []any{hostile[0]}}}, Through: &Through{}}
	if text, _, _ := Compile(sales, through); strings.Contains(text, "DROP") {
		t.Fatalf("drill-through SQL carries the value: %s", text)
	}
	var n int
	if err := w.DB.QueryRow(`SELECT count(*) FROM fact_sales`).Scan(&n); err != nil || n != 16 {
		t.Fatalf("fact_sales after hostile queries: %d rows, %v", n, err)
	}
}

// TestCompileErrors checks that bad queries are refused with a clear error.
func TestCompileErrors(t *testing.T) {
	sales := builtinCube(t, "sales")
	cases := []struct {
		name string
		q    Query
		want string
	}{
		{"no measures", Query{Rows: []string{"region.province"}}, "no measures"},
		{"unknown level", Query{Measures: []string{"revenue"}, Rows: []string{"region.planet"}}, `no level "region.planet"`},
		{"unknown measure", Query{Measures: []string{"profit"}}, `no measure "profit"`},
		{"level twice", Query{Measures: []string{"revenue"}, Rows: []string{"date.year"}, Cols: []string{"date.year"}}, "already in rows"},
		{"bad op", Query{Measures: []string{"revenue"}, Where: []Filter{{Level: "date.year", Op: "like", Values: []any{"2%"}}}}, `unknown op "like"`},
		{"time without time level", Query{Measures: []string{"revenue_ytd"}, Rows: []string{"region.province"}}, "put a level with a grain"},
		{"ytd too coarse", Query{Measures: []string{"revenue_ytd"}, Rows: []string{"date.year"}}, ""},
		{"through not whitelisted", Query{Through: &Through{Columns: []string{"id_number"}}}, "not whitelisted"},
		{"order by absent measure", Query{Measures: []string{"revenue"}, Order: []Order{{Key: "orders"}}}, "not in the query's measures"},
		{"top level not in rows", Query{Measures: []string{"revenue"}, Top: &Top{Level: "region.city", N: 2, By: "revenue"}}, "must be in rows or cols"},
		{"value of odd type", Query{Measures: []string{"revenue"}, Where: []Filter{{Level: "date.year", Op: "eq", Values: []any{[]int{1}}}}}, "want a string, number or boolean"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Compile(sales, tc.q)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCompileIsFast checks the compile-time goal (well under 1 ms).
func TestCompileIsFast(t *testing.T) {
	sales := builtinCube(t, "sales")
	q := goldenQueries[1].q
	start := time.Now()
	const n = 200
	for i := 0; i < n; i++ {
		if _, _, err := Compile(sales, q); err != nil {
			t.Fatal(err)
		}
	}
	if per := time.Since(start) / n; per > time.Millisecond {
		t.Fatalf("compile took %v per query", per)
	}
}
