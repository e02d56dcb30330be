package main

import (
	"context"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/olap"
)

// The demo's OLAP part: revenue by province, then a drill from year to
// quarter and from the busiest quarter to its months, each a cube query
// (`ckm cube query sales …`) compiled to DuckDB SQL.
func init() {
	registerDemoSection(demoSection{Order: 50, Title: "Revenue by province, with distinct customers (ckm cube query sales --rows region.province --totals)",
		Run: cubeDemo(olap.Query{Cube: "sales", Measures: []string{"revenue", "customers", "orders"}, Rows: []string{"region.province"},
			Totals: true, Order: []olap.Order{{Key: "revenue", Desc: true}}})})
	registerDemoSection(demoSection{Order: 51, Title: "Drill the first year into quarters, top 3 provinces across (--rows date.year --drill date.year=Y --cols region.province)",
		Run: cubeDemoDrill("date.year", `SELECT min(year) FROM fact_sales JOIN dim_date USING (date_key) WHERE year IS NOT NULL`)})
	registerDemoSection(demoSection{Order: 52, Title: "Drill the busiest quarter into months (--rows date.quarter --drill date.quarter=Q)",
		Run: cubeDemoDrill("date.quarter", `SELECT year_quarter FROM fact_sales JOIN dim_date USING (date_key)
			WHERE year_quarter IS NOT NULL GROUP BY ALL ORDER BY sum(amount) DESC LIMIT 1`)})
}

func cubeDemo(q olap.Query) func(context.Context, *app, *engine.Warehouse) ([]string, [][]any, error) {
	return func(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
		m, err := a.cubeModel()
		if err != nil {
			return nil, nil, err
		}
		res, err := olap.NewExecutor(w, m).Query(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		header, rows := a.cubeTable(q, res)
		return header, rows, nil
	}
}

// cubeDemoDrill drills one member of a date level (found by memberSQL)
// down to its child level, with the three provinces of most revenue as
// columns (a pivot) and subtotals.
func cubeDemoDrill(level, memberSQL string) func(context.Context, *app, *engine.Warehouse) ([]string, [][]any, error) {
	return func(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
		var member any
		if err := w.DB.QueryRowContext(ctx, memberSQL).Scan(&member); err != nil {
			return nil, nil, err
		}
		rows, err := w.DB.QueryContext(ctx, `SELECT r.province FROM fact_sales f JOIN dim_region r USING (region_key)
			WHERE r.province IS NOT NULL GROUP BY ALL ORDER BY sum(f.amount) DESC LIMIT 3`)
		if err != nil {
			return nil, nil, err
		}
		var top []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return nil, nil, err
			}
			top = append(top, p)
		}
		rows.Close()
		q := olap.Query{Cube: "sales", Measures: []string{"revenue"}, Rows: []string{level}, Cols: []string{"region.province"},
			Where: []olap.Filter{{Level: "region.province", Op: "in", Values: toAny(top)}}, Totals: true,
			Drill: &olap.Drill{Level: level, Member: member}}
		return cubeDemo(q)(ctx, a, w)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
