// Package etl loads source exports into the warehouse: it detects format and
// encoding, maps headers to canonical fields (YAML mappings, with built-in
// ones for ckm's fixture exports), stages every record with its line number,
// cleans and validates it inside DuckDB with the functions of etl/clean,
// resolves one customer across channels, maintains SCD2 dimensions and
// appends facts — all in one transaction per load, with a file manifest,
// watermarks, run records and a reject ledger so that every source record
// ends as loaded, rejected (with a reason) or a counted duplicate.
package etl
