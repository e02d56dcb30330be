// Package sql owns the analyst shell — a REPL and script runner over a
// warehouse with meta-commands, output modes and PII masking — and the
// registration of ckm's own SQL functions (the ETL cleaners as scalar
// functions, mining operators as table functions) on a warehouse.
//
// The package is named sql after its job; import database/sql under an
// alias next to it.
package sql
