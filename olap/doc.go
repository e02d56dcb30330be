// Package olap owns ckm's cube layer: cube models written in YAML, their
// validation against the warehouse catalog, the query spec, its compilation
// to DuckDB SQL (GROUPING SETS subtotals tagged with their level, semi-additive
// and time-intelligence measures, top-N with "Other", drill-through), the
// routing of queries to materialized rollup tables, a result cache and the
// query log behind rollup advice.
//
// Compile is a pure function of a cube and a query: identifiers in the SQL
// come only from the model and every filter value is a bound parameter. Only
// exec.go touches the engine.
//
// # Cube files
//
// The CRM cubes (sales, interactions, campaigns) and the SSB cube ship inside
// ckm (cubes/*.yaml here); files in the config directory's cubes/ add cubes
// or replace them by name. A cube file:
//
//	name: sales                      # lower-case identifier
//	fact: fact_sales                 # the fact table
//	joins:                           # fact.fact_key = table.key; kind left (default) or inner
//	  - {name: region, table: dim_region, fact_key: region_key, key: region_key}
//	dimensions:
//	  - name: date
//	    join: date                   # omit for attributes of the fact itself
//	    time: {year: year, quarter: quarter, month: month, date: date}   # the time dimension
//	    hierarchies:                 # coarsest level first; each child has one parent
//	      - name: calendar
//	        levels:
//	          - {name: year, column: year, grain: year}
//	          - {name: day, column: date, key: date_key, grain: day}     # key identifies members
//	    attributes:                  # levels outside any hierarchy
//	      - {name: weekday, column: weekday_name}
//	measures:
//	  - {name: revenue, agg: sum, expr: amount}        # sum count count_distinct avg min max
//	  - {name: returns, agg: sum, expr: amount, where: [{column: is_return, op: eq, value: true}]}
//	  - {name: last_day_customers, agg: count_distinct, expr: customer_id, semi_additive: last}  # last first average
//	  - {name: avg_order_value, derived: revenue / orders}   # + - * / ( ) of measures; x/0 is NULL
//	  - {name: revenue_share, percent_of_total: revenue}
//	  - {name: revenue_last_year, time: {base: revenue, compare: last_year, output: value}}  # prior_period; value delta ratio
//	  - {name: revenue_ytd, time: {base: revenue, to_date: year}}
//	  - {name: revenue_rolling_3, time: {base: revenue, rolling: 3}}
//	drill_through:
//	  columns: [{name: mobile, column: customer.mobile, pii: mobile}]   # pii: mobile id_number email name full
//	rollups:
//	  - {name: year_province, levels: [date.year, region.province], measures: [revenue, orders]}
//
// Expressions (expr, derived) allow only names, numbers, + - * / and
// parentheses; a name in expr is a fact column or join.column.
package olap
