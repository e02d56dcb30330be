// Package engine owns the embedded DuckDB warehouse: opening and closing a
// warehouse file (or an in-memory one), read-only mode, the lock story,
// versioned migrations of every persistent object (the canonical CRM star
// schema, ETL ledger, knowledge base, OLAP query log and rollup registry,
// mining table macros), the rollup tables cube models declare, the data
// version, the SCD2 history of dim_customer, one-time registration of Go
// functions, bulk appends and Parquet export.
package engine
