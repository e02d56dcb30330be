// Package privacy owns ckm's personal-data policy: what is personal (columns
// by kind, and personal values inside free text such as the reject ledger's
// raw records and the identity map's keys), the one masking format of each
// kind (in Go for values ckm prints, and as the SQL macros of schema
// version 7 for values DuckDB computes — tests hold the two equal), which
// relations an analyst may read, principals and roles, and the decision
// "may this principal see this raw value", with the audit of reveals.
//
// Every exit that shows or writes warehouse data asks this package: the
// shell and ckm sql -c in every format, ckm rejects, cube drill-through,
// mining outputs that carry identifiers and the Parquet export.
//
// Encryption of raw values at rest, keyed tokens in analytical tables and
// erasure live in privacy/vault; a reveal of a token goes through
// MayReveal and Audit like any other.
package privacy
