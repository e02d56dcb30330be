// Package engine owns the embedded DuckDB warehouse: opening and closing a
// warehouse file (or an in-memory one), read-only mode, the lock story,
// versioned migrations of the canonical CRM star schema, one-time
// registration of Go functions, bulk appends and Parquet export.
package engine
