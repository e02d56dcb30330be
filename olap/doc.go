// Package olap owns ckm's cube layer: cube models written in YAML, their
// validation against the warehouse catalog, the query spec, its compilation
// to DuckDB SQL (GROUPING SETS subtotals tagged with their level, semi-additive
// and time-intelligence measures, top-N with "Other", drill-through), the
// routing of queries to materialized rollup tables and a result cache.
//
// Compile is a pure function of a cube and a query: identifiers in the SQL
// come only from the model and every filter value is a bound parameter. Only
// exec.go touches the engine.
package olap
