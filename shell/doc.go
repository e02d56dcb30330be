// Package shell owns the analyst shell — a REPL and script runner over a
// warehouse with meta-commands, output modes and PII masking — and the
// registration of ckm's own SQL functions (the ETL cleaners as scalar
// functions, mining operators as table functions) on a warehouse.
package shell
