package engine

import (
	"context"
	"fmt"
	"strings"
)

// UniqueKey is a key a table holds at most once. Until schema version 22
// a primary key made DuckDB check it; the ART index behind it cost a large
// load seconds (schema_v22.sql), so the writers' own checks keep it:
// DuplicateKeys, which a load runs before it commits.
type UniqueKey struct {
	Table, Columns string
	// Run is SQL for the rows that hold run $1's keys (in Columns): FROM
	// it, a check of a run hashes only those keys, and reads each of
	// the table's keys once to find them.
	Run string
}

// UniqueKeys are the keys of the tables that lost their primary key in
// version 22.
var UniqueKeys = []UniqueKey{
	{"etl_identity", "key_type, key_value", "etl_identity WHERE first_run = $1"},
	{"vault_customer_key", "customer_id", "vault_customer_key WHERE run_id = $1"},
	{"vault_value", "token, customer_id", "vault_value WHERE run_id = $1"},
	// A display is added with the first seal of its token (a run seals
	// the values of the tokens it displays), and vault_display keeps no
	// run: the run's keys are the tokens it sealed.
	{"vault_display", "token", "vault_value WHERE run_id = $1"},
	{"dim_customer", "customer_key", "dim_customer WHERE etl_run_id = $1"},
}

// DuplicateKeys counts, per table of UniqueKeys, the keys held by more
// than one row of which one is run runID's (every key when runID is 0),
// and says which tables have any ("vault_value: 2 keys (token,
// customer_id) held twice or more"); nil when none is.
//
// The rows are matched and counted by their keys' 64-bit hash (8 bytes a
// row where a 28-character token and a customer id take 36): a daily
// load reads each table's keys once, to probe the few hashes of its own
// rows. Only the tables where a hash is held twice have their keys
// counted exactly (two keys of one hash are not a key held twice).
// Measured on the 5 M line load's warehouse (2.8 M keys in the five
// tables, all of run 1), in a process of its own less its start: 0.79–0.89
// s by hash, 0.93–1.02 s grouping the keys themselves, as one statement
// of five scalar subqueries; this UNION ALL of the counts 0.76–0.85 s
// against 0.71–0.78 s for those subqueries, alternated on a slower
// machine. For the keys of a few hundred customers, 0.24 s.
func DuplicateKeys(ctx context.Context, q Querier, runID int64) ([]string, error) {
	byHash, err := duplicateCounts(ctx, q, runID, UniqueKeys, `SELECT h FROM (SELECT hash(%[2]s) AS h FROM %[1]s)
			WHERE h IN (SELECT hash(%[2]s) FROM %[3]s) GROUP BY h HAVING count(*) > 1`)
	if err != nil || len(byHash) == 0 {
		return nil, err
	}
	var suspects []UniqueKey
	for _, k := range UniqueKeys {
		if byHash[k.Table] > 0 {
			suspects = append(suspects, k)
		}
	}
	exact, err := duplicateCounts(ctx, q, runID, suspects, `SELECT %[2]s FROM %[1]s
			WHERE hash(%[2]s) IN (SELECT hash(%[2]s) FROM %[3]s) GROUP BY ALL HAVING count(*) > 1`)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, k := range suspects {
		if n := exact[k.Table]; n > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d keys (%s) held twice or more", k.Table, n, k.Columns))
		}
	}
	return bad, nil
}

// CheckKeysHeldOnce is DuplicateKeys as an error naming every table with
// a key held twice, for a writer that fails on any (nil when none is).
func CheckKeysHeldOnce(ctx context.Context, q Querier, runID int64) error {
	bad, err := DuplicateKeys(ctx, q, runID)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("keys held twice: %s", strings.Join(bad, "; "))
	}
	return nil
}

// duplicateCounts counts, in one statement, the rows of dups (a query of
// the table %[1]s, its key columns %[2]s and the rows holding the run's
// keys %[3]s: the table itself when runID is 0) for each of keys, and
// gives the tables with any.
func duplicateCounts(ctx context.Context, q Querier, runID int64, keys []UniqueKey, dups string) (map[string]int64, error) {
	parts := make([]string, len(keys))
	for i, k := range keys {
		run := k.Run
		if runID == 0 {
			run = k.Table
		}
		parts[i] = fmt.Sprintf("SELECT %s AS tbl, count(*) AS n FROM (%s)", QuoteString(k.Table), fmt.Sprintf(dups, k.Table, k.Columns, run))
	}
	var args []any
	if runID != 0 {
		args = append(args, runID)
	}
	rows, err := q.QueryContext(ctx, "SELECT tbl, n FROM ("+strings.Join(parts, "\n\tUNION ALL ")+") WHERE n > 0", args...)
	if err != nil {
		return nil, fmt.Errorf("duplicate keys: %w", err)
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var tbl string
		var n int64
		if err := rows.Scan(&tbl, &n); err != nil {
			return nil, fmt.Errorf("duplicate keys: %w", err)
		}
		counts[tbl] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duplicate keys: %w", err)
	}
	return counts, nil
}
