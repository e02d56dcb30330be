package olap

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// norm renders a value so equal numbers compare equal whatever their SQL
// type (DECIMAL, HUGEINT, DOUBLE).
func norm(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case float64:
		if math.IsNaN(x) {
			return "NaN"
		}
		return strconv.FormatFloat(math.Round(x*1e6)/1e6, 'f', 6, 64)
	case float32:
		return norm(float64(x))
	case int64:
		return norm(float64(x))
	case int32:
		return norm(float64(x))
	case int16:
		return norm(float64(x))
	case int8:
		return norm(float64(x))
	case int:
		return norm(float64(x))
	case uint64:
		return norm(float64(x))
	case uint32:
		return norm(float64(x))
	case uint8:
		return norm(float64(x))
	case uint16:
		return norm(float64(x))
	case json.Number:
		return norm(string(x))
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return norm(f)
		}
		return x
	}
	return fmt.Sprint(v)
}

func normRows(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		cells := make([]string, len(r))
		for j, v := range r {
			cells[j] = norm(v)
		}
		out[i] = strings.Join(cells, " | ")
	}
	return out
}

// sameRows compares two row sets; ordered compares order too.
func sameRows(t *testing.T, got, want [][]any, ordered bool) {
	t.Helper()
	g, w := normRows(got), normRows(want)
	if !ordered {
		sort.Strings(g)
		sort.Strings(w)
	}
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("rows differ\n got:\n  %s\nwant:\n  %s", strings.Join(g, "\n  "), strings.Join(w, "\n  "))
	}
}

func runCube(t *testing.T, w *engine.Warehouse, c *Cube, q Query) (*Compiled, [][]any) {
	t.Helper()
	p, err := Plan(c, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Run(context.Background(), w, p.SQL, p.Args)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.SQL)
	}
	return p, rows
}

func runSQL(t *testing.T, w *engine.Warehouse, text string) [][]any {
	t.Helper()
	rows, err := Run(context.Background(), w, text, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return rows
}

// TestAnswersMatchHandSQL checks cube answers, subtotals included, against
// SQL written by hand with plain GROUP BYs, UNION ALL and subqueries.
func TestAnswersMatchHandSQL(t *testing.T) {
	w := smallWarehouse(t)
	sales := builtinCube(t, "sales")
	const base = `fact_sales f JOIN dim_region r USING (region_key) JOIN dim_date d USING (date_key) JOIN dim_product p USING (product_key)`
	cases := []struct {
		name    string
		q       Query
		hand    string
		ordered bool
	}{
		{
			name: "distinct counts in province/city subtotals",
			q:    Query{Measures: []string{"revenue", "customers", "orders"}, Rows: []string{"region.province", "region.city"}, Totals: true},
			hand: `SELECT province, city, 'region.city', sum(amount), count(DISTINCT customer_id), count(DISTINCT order_id) FROM ` + base + ` GROUP BY province, city
				UNION ALL SELECT province, NULL, 'region.province', sum(amount), count(DISTINCT customer_id), count(DISTINCT order_id) FROM ` + base + ` GROUP BY province
				UNION ALL SELECT NULL, NULL, 'total', sum(amount), count(DISTINCT customer_id), count(DISTINCT order_id) FROM ` + base,
		},
		{
			name: "subtotals come before their members",
			q:    Query{Measures: []string{"revenue"}, Rows: []string{"region.province", "region.city"}, Totals: true},
			hand: `VALUES (NULL, NULL, 'total', 1525.00), ('Guangdong', NULL, 'region.province', 1075.00),
				('Guangdong', 'Guangzhou', 'region.city', 710.00), ('Guangdong', 'Shenzhen', 'region.city', 365.00),
				('Zhejiang', NULL, 'region.province', 450.00), ('Zhejiang', 'Hangzhou', 'region.city', 450.00)`,
			ordered: true,
		},
		{
			name: "semi-additive last and average over the date",
			q:    Query{Measures: []string{"last_day_revenue", "last_day_customers", "avg_daily_revenue"}, Rows: []string{"date.year", "date.month"}, Totals: true},
			hand: `WITH s AS (SELECT d.year, d.year_month, d.date, f.amount, f.customer_id FROM ` + base + `),
				g AS (SELECT year, year_month, 'date.month' AS lvl, max(date) AS md, sum(amount) / count(DISTINCT date) AS avgd FROM s GROUP BY year, year_month
				      UNION ALL SELECT year, NULL, 'date.year', max(date), sum(amount) / count(DISTINCT date) FROM s GROUP BY year
				      UNION ALL SELECT NULL, NULL, 'total', max(date), sum(amount) / count(DISTINCT date) FROM s)
				SELECT year, year_month, lvl,
				  (SELECT sum(amount) FROM s WHERE s.date = g.md AND (g.year IS NULL OR s.year = g.year) AND (g.year_month IS NULL OR s.year_month = g.year_month)),
				  (SELECT count(DISTINCT customer_id) FROM s WHERE s.date = g.md AND (g.year IS NULL OR s.year = g.year) AND (g.year_month IS NULL OR s.year_month = g.year_month)),
				  avgd FROM g`,
		},
		{
			name: "avg, min, max, filtered and derived by category",
			q: Query{Measures: []string{"avg_line_amount", "min_line_amount", "max_line_amount", "returns", "margin", "revenue_per_customer"},
				Rows: []string{"product.category"}, Totals: true},
			hand: `SELECT category, 'product.category', avg(amount), min(amount), max(amount), sum(amount) FILTER (WHERE is_return), sum(amount) - sum(cost_amount), sum(amount) / count(DISTINCT customer_id) FROM ` + base + ` GROUP BY category
				UNION ALL SELECT NULL, 'total', avg(amount), min(amount), max(amount), sum(amount) FILTER (WHERE is_return), sum(amount) - sum(cost_amount), sum(amount) / count(DISTINCT customer_id) FROM ` + base,
		},
		{
			name: "percent of total without totals",
			q:    Query{Measures: []string{"revenue", "revenue_share"}, Rows: []string{"region.province"}},
			hand: `SELECT province, sum(amount), 100.0 * sum(amount) / (SELECT sum(amount) FROM fact_sales) FROM ` + base + ` GROUP BY province`,
		},
		{
			name: "slice and dice",
			q: Query{Measures: []string{"revenue", "customers"}, Rows: []string{"product.subcategory"},
				Where: []Filter{{Level: "region.province", Op: "eq", Values: []any{"Guangdong"}}, {Level: "date.quarter", Op: "in", Values: []any{"2024-Q1", "2024-Q2"}}}},
			hand: `SELECT subcategory, sum(amount), count(DISTINCT customer_id) FROM ` + base + ` WHERE province = 'Guangdong' AND year_quarter IN ('2024-Q1', '2024-Q2') GROUP BY subcategory`,
		},
		{
			name: "time comparisons, year to date and rolling by month",
			q: Query{Measures: []string{"revenue", "revenue_prior_period", "revenue_pp_delta", "revenue_last_year", "revenue_ytd", "revenue_rolling_3"},
				Rows: []string{"date.month"}, Where: []Filter{{Level: "date.year", Op: "eq", Values: []any{2024}}}},
			hand: `WITH m AS (SELECT year, month, year_month, year * 12 + month - 1 AS o, sum(amount) AS rev FROM ` + base + ` GROUP BY ALL)
				SELECT a.year_month, a.rev, p.rev, a.rev - p.rev, ly.rev,
				  (SELECT sum(rev) FROM m x WHERE x.year = a.year AND x.o <= a.o),
				  (SELECT sum(rev) FROM m x WHERE x.o BETWEEN a.o - 2 AND a.o)
				FROM m a LEFT JOIN m p ON p.o = a.o - 1 LEFT JOIN m ly ON ly.o = a.o - 12 WHERE a.year = 2024`,
		},
		{
			name: "top 1 subcategory per province with Other",
			q: Query{Measures: []string{"revenue", "customers"}, Rows: []string{"region.province", "product.subcategory"},
				Top: &Top{Level: "product.subcategory", N: 1, By: "revenue", Other: true}},
			hand: `WITH s AS (SELECT province, subcategory, amount, customer_id FROM ` + base + `),
				r AS (SELECT province, subcategory, row_number() OVER (PARTITION BY province ORDER BY sum(amount) DESC, subcategory) AS rn FROM s GROUP BY province, subcategory)
				SELECT province, sub, sum(amount), count(DISTINCT customer_id)
				FROM (SELECT s.*, CASE WHEN rn = 1 THEN s.subcategory ELSE 'Other' END AS sub FROM s JOIN r USING (province, subcategory)) GROUP BY province, sub`,
		},
		{
			name: "pivot: provinces by year with both-way subtotals",
			q:    Query{Measures: []string{"customers"}, Rows: []string{"region.province"}, Cols: []string{"date.year"}, Totals: true},
			hand: `SELECT province, year, 'region.province', 'date.year', count(DISTINCT customer_id) FROM ` + base + ` GROUP BY ALL
				UNION ALL SELECT province, NULL, 'region.province', 'total', count(DISTINCT customer_id) FROM ` + base + ` GROUP BY ALL
				UNION ALL SELECT NULL, year, 'total', 'date.year', count(DISTINCT customer_id) FROM ` + base + ` GROUP BY ALL
				UNION ALL SELECT NULL, NULL, 'total', 'total', count(DISTINCT customer_id) FROM ` + base,
		},
		{
			name:    "drill-through masks PII and pages",
			q:       Query{Where: []Filter{{Level: "region.city", Op: "eq", Values: []any{"Shenzhen"}}}, Through: &Through{Columns: []string{"order_id", "customer_name", "mobile", "amount"}, Limit: 2, Offset: 1}},
			hand:    `VALUES ('O2', 'H**', '+86 139****4321', 150.00), ('O4', 'H**', '+86 139****4321', 40.00)`,
			ordered: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, got := runCube(t, w, sales, tc.q)
			sameRows(t, got, runSQL(t, w, tc.hand), tc.ordered)
		})
	}
}

func TestDrillDownAndRollUp(t *testing.T) {
	w := smallWarehouse(t)
	sales := builtinCube(t, "sales")
	q := Query{Measures: []string{"revenue"}, Rows: []string{"region.province"}}
	drilled := q
	drilled.Drill = &Drill{Level: "region.province", Member: "Guangdong"}
	p, got := runCube(t, w, sales, drilled)
	if strings.Join(p.Rows, ",") != "region.province,region.city" {
		t.Fatalf("drilled rows = %v", p.Rows)
	}
	sameRows(t, got, [][]any{{"Guangdong", "Guangzhou", 710.0}, {"Guangdong", "Shenzhen", 365.0}}, true)
	// Year > quarter > month of revenue by province, as in the demo.
	yq := Query{Measures: []string{"revenue"}, Rows: []string{"region.province", "date.year"}, Drill: &Drill{Level: "date.year", Member: 2024, To: "date.month"}}
	_, got = runCube(t, w, sales, yq)
	want := runSQL(t, w, `SELECT province, year, year_month, sum(amount) FROM fact_sales JOIN dim_region USING (region_key) JOIN dim_date USING (date_key) WHERE year = 2024 GROUP BY ALL ORDER BY ALL`)
	sameRows(t, got, want, true)
	up, err := RollUp(sales, Query{Measures: []string{"revenue"}, Rows: []string{"region.province", "region.city"}}, "region.city")
	if err != nil || strings.Join(up.Rows, ",") != "region.province" {
		t.Fatalf("roll up = %v, %v", up.Rows, err)
	}
	up, err = RollUp(sales, Query{Measures: []string{"revenue"}, Rows: []string{"region.city"}}, "region.city")
	if err != nil || strings.Join(up.Rows, ",") != "region.province" {
		t.Fatalf("roll up = %v, %v", up.Rows, err)
	}
	if _, err := DrillDown(sales, q, Drill{Level: "region.county"}); err == nil {
		t.Fatal("drilling below the finest level should fail")
	}
}

// TestInteractionAndCampaignCubes checks the other CRM cubes against SQL
// written by hand.
func TestInteractionAndCampaignCubes(t *testing.T) {
	w := smallWarehouse(t)
	cases := []struct {
		cube string
		q    Query
		hand string
	}{
		{"interactions", Query{Measures: []string{"contacts", "customers", "avg_satisfaction", "talk_minutes", "unhappy_share"}, Rows: []string{"contact.category"}, Totals: true},
			`SELECT category, 'contact.category', count(*), count(DISTINCT customer_id) FILTER (WHERE customer_id > 0), avg(satisfaction), sum(duration_seconds / 60.0), count(*) FILTER (WHERE satisfaction <= 2) / count(*) FROM fact_interaction GROUP BY category
			 UNION ALL SELECT NULL, 'total', count(*), count(DISTINCT customer_id) FILTER (WHERE customer_id > 0), avg(satisfaction), sum(duration_seconds / 60.0), count(*) FILTER (WHERE satisfaction <= 2) / count(*) FROM fact_interaction`},
		{"campaigns", Query{Measures: []string{"targeted", "responses", "response_rate", "revenue", "revenue_per_response", "revenue_share"}, Rows: []string{"customer.member_level"}},
			`SELECT member_level, count(*) FILTER (WHERE targeted), count(*) FILTER (WHERE responded), count(*) FILTER (WHERE responded) / count(*) FILTER (WHERE targeted),
			   sum(revenue), sum(revenue) / count(*) FILTER (WHERE responded), 100 * sum(revenue) / (SELECT sum(revenue) FROM fact_campaign)
			 FROM fact_campaign JOIN dim_customer USING (customer_key) GROUP BY member_level`},
	}
	for _, tc := range cases {
		t.Run(tc.cube, func(t *testing.T) {
			_, got := runCube(t, w, builtinCube(t, tc.cube), tc.q)
			sameRows(t, got, runSQL(t, w, tc.hand), false)
		})
	}
}
