package etl

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// salesRowChecks are invariants of each fact_sales line a load appends,
// written apart from the rules: they hold whatever the rules, the ledger
// or DuckDB did. Each counts the lines of run $1 that break it: cond over
// a line f, or query, a scalar subquery. They are counted in one statement
// (salesChecksSQL), which also gives the least and greatest order id of
// the run for the key check (salesKeySQL).
var salesRowChecks = []struct{ what, cond, query string }{
	{what: "fact_sales lines with a NULL or zero quantity, a NULL or negative unit price, a NULL amount or time",
		cond: `f.quantity IS NULL OR f.quantity = 0 OR f.unit_price IS NULL OR f.unit_price < 0 OR f.amount IS NULL OR f.order_ts IS NULL OR f.date_key IS NULL`},
	// A join in the scan of the other checks carried their columns through
	// it: 0.45–0.9 s on a copy of the 5 M line load's lines, against
	// 0.16 s for this and 0.17 s for the scan.
	{what: "fact_sales lines whose date is not in dim_date",
		query: `SELECT count(*) FROM fact_sales f ANTI JOIN dim_date d ON d.date_key = f.date_key WHERE f.etl_run_id = $1`},
	{what: "fact_sales lines with a NULL key (order, line, source or line key)",
		cond: `f.order_id IS NULL OR f.line_no IS NULL OR f.source IS NULL OR f.line_key IS NULL`},
}

// salesChecksSQL counts the lines of run $1 that break each of
// salesRowChecks, and gives the run's least and greatest order id. The
// lines a load appends are read on one DuckDB thread until they commit
// (the table's committed rows decide a scan's threads), so the checks of
// a line's own values share one scan, which also gives the order ids.
// On a copy of the 5 M line load's lines, uncommitted, the checks took
// 2.3–2.4 s as one statement of scalar subqueries (each its own scan,
// the order ids four times); this and the key check (salesKeySQL),
// 1.2–1.4 s.
func salesChecksSQL() string {
	counts := make([]string, len(salesRowChecks))
	for i, c := range salesRowChecks {
		if c.query != "" {
			counts[i] = "(" + c.query + ")"
		} else {
			counts[i] = "count(*) FILTER (WHERE " + c.cond + ")"
		}
	}
	return `SELECT ` + strings.Join(counts, ", ") + `, min(f.order_id), max(f.order_id)
		FROM fact_sales f WHERE f.etl_run_id = $1`
}

// salesKeySQL counts the keys with more than one current line of which a
// line is the run's ($1). The keys are matched by their 64-bit hash first
// (8 bytes a key where the four texts took ~100: a 5 million line load's
// keys did not fit under the load's 1 GB memory limit), then counted
// exactly on the lines that match, grouped by their key (the same count: a
// key's lines share its hash). With no such hash, nearly always, DuckDB
// skips the lines' second scan (its hash join's build side is empty): on
// a copy of the 5 M line load's lines, uncommitted, the statement took
// 0.97–1.14 s, its hashes alone 1.11–1.17 s. A line with one of the run's
// keys has one of its order ids, so only lines whose order_id lies between
// the run's least and greatest ($2, $3) are read: DuckDB skips the row
// groups outside by their min/max (a small load into 5 M lines read every
// row's key, ~280 ms CPU, against ~5 ms). Left out are only lines of
// another key whose hash equals a run key's (which the GROUP BY counts on
// their own key) and lines without an order id (a run line without one
// fails the NULL key check).
const salesKeySQL = `SELECT count(*) FROM (SELECT source, store_code, order_id, line_key FROM fact_sales
		WHERE NOT is_reversal AND restated_by_run IS NULL AND order_id BETWEEN $2 AND $3
			AND hash(source, store_code, order_id, line_key) IN (
				SELECT hash(source, store_code, order_id, line_key) AS h FROM fact_sales
				WHERE order_id BETWEEN $2 AND $3
				GROUP BY h
				HAVING count(*) FILTER (WHERE NOT is_reversal AND restated_by_run IS NULL) > 1 AND bool_or(etl_run_id = $1))
		GROUP BY ALL HAVING count(*) > 1)`

// salesKeysWhat names the key check's violations.
const salesKeysWhat = "fact_sales keys with more than one current line"

// otherFactChecks are the invariants of the other fact tables' rows, each
// counting the violating rows of run $1; target is the one whose rows the
// table holds: a load with nothing of it (idle) appended no row to check.
var otherFactChecks = []struct{ target, what, query string }{
	{"interactions", "fact_interaction rows with a NULL time or date",
		`SELECT count(*) FROM fact_interaction WHERE etl_run_id = $1 AND (contact_ts IS NULL OR date_key IS NULL)`},
	{"responses", "fact_campaign rows without a campaign",
		`SELECT count(*) FROM fact_campaign WHERE etl_run_id = $1 AND (campaign_key IS NULL OR campaign_key < 0)`},
}

// lineOutcomes counts, per file of run $1, every line read by its outcome,
// from the warehouse's own tables: the staged lines and extract rejects
// (what was read), the persisted ledger (errors and duplicates, in one
// pass over the run's entries) and the fact tables (what loaded). A line
// is rejected if it has an error entry, else loaded if a fact row comes
// from it, else a duplicate if it has a duplicate entry; anything else is
// unaccounted for. A target the load has nothing of (idle: no staged line,
// no fact appended) is left out of the lines and the facts read (everyTarget
// reads them all).
func (l *loader) lineOutcomes() string {
	lines := []string{}
	for _, t := range []string{"sales", "interactions", "responses", "customers", "products", "campaigns"} {
		if !l.idle[t] {
			lines = append(lines, "SELECT file_id, _line AS line FROM stg_"+t)
		}
	}
	lines = append(lines, "SELECT file_id, _line AS line FROM stg_joined", "SELECT file_id, line FROM etl_reject WHERE run_id = $1")
	// Distinct lines (a JSON order line has a row per item), as the UNION
	// of several makes them. When every staged line is one row
	// (sharedLines "false"), a sales line has at most one fact row that is not a
	// reversal, and each fact table's lines are of its own files: they are
	// taken as they are, joined by UNION ALL (a DISTINCT of every line
	// less); a line with two such rows then counts twice and fails the
	// check of lines read.
	// Where only some files' lines may have several rows (sharedLines: a
	// JSON export among delimited ones) only theirs are made distinct,
	// and the parts are still each of their own files.
	union := l.factsUnion()
	salesLines := l.sharedRows("etl_file_id AS file_id, source_line AS line", "fact_sales", "etl_run_id = $1 AND NOT is_reversal", "etl_file_id")
	facts := []string{salesLines}
	if !l.idle["interactions"] {
		facts = append(facts, "SELECT DISTINCT etl_file_id, source_line FROM fact_interaction WHERE etl_run_id = $1")
	}
	if !l.idle["responses"] {
		facts = append(facts, "SELECT DISTINCT etl_file_id, source_line FROM fact_campaign WHERE etl_run_id = $1")
	}
	return `
WITH lines AS (
	` + strings.Join(lines, "\n\tUNION ") + `),
rej AS (SELECT file_id, line, bool_or(severity = 'error') AS err, bool_or(rule = 'duplicate') AS dup
	FROM etl_reject WHERE run_id = $1 GROUP BY ALL),
fact AS (
	` + strings.Join(facts, union) + `),
o AS (
	SELECT l.file_id, coalesce(r.err, false) AS is_err, f.line IS NOT NULL AS is_fact, coalesce(r.dup, false) AS is_dup
	FROM lines l
	LEFT JOIN rej r ON r.file_id = l.file_id AND r.line = l.line
	LEFT JOIN fact f ON f.file_id = l.file_id AND f.line = l.line)
SELECT file_id, count(*),
	count(*) FILTER (WHERE is_err),
	count(*) FILTER (WHERE NOT is_err AND is_fact),
	count(*) FILTER (WHERE NOT is_err AND NOT is_fact AND is_dup),
	count(*) FILTER (WHERE is_err AND is_fact),
	count(*) FILTER (WHERE NOT is_err AND NOT is_fact AND NOT is_dup)
FROM o GROUP BY file_id`
}

// factTargets load into fact tables; the others are master data, whose
// accepted lines merge into dimensions.
var factTargets = map[string]bool{"sales": true, "interactions": true, "responses": true}

// postcheck verifies, before commit, what the load wrote against
// invariants that do not trust the code that wrote it: fact values, keys
// held once (engine.UniqueKeys), one outcome for every line read,
// rejected lines absent from the facts, and the manifest's counts. Any violation fails the load, which rolls back.
func (l *loader) postcheck() error {
	var bad []string
	t0 := time.Now()
	if !l.idle["sales"] {
		var err error
		if bad, err = l.salesFactChecks(); err != nil {
			return err
		}
	}
	// The other tables' checks in one statement, each a scalar subquery.
	var subs, whats []string
	var ns []any
	for _, c := range otherFactChecks {
		if l.idle[c.target] {
			continue
		}
		subs, whats, ns = append(subs, "("+c.query+")"), append(whats, c.what), append(ns, new(int64))
	}
	if len(subs) > 0 {
		if err := l.tx.QueryRowContext(l.ctx, "SELECT "+strings.Join(subs, ",\n\t"), l.runID).Scan(ns...); err != nil {
			return fmt.Errorf("post-condition: fact checks: %w", err)
		}
	}
	l.traceStep("postcheck fact checks", t0)
	for i, what := range whats {
		if n := *ns[i].(*int64); n > 0 {
			bad = append(bad, fmt.Sprintf("%d %s", n, what))
		}
	}
	// The keys the identity and vault tables and dim_customer hold once
	// (no primary key checks them since schema version 22).
	t0 = time.Now()
	dups, err := engine.DuplicateKeys(l.ctx, l.tx, l.runID)
	if err != nil {
		return fmt.Errorf("post-condition: %w", err)
	}
	bad = append(bad, dups...)
	l.traceStep("postcheck keys", t0)
	type outcome struct{ read, rejected, loaded, dups, leaked, lost int64 }
	got := map[int64]outcome{}
	t0 = time.Now()
	rows, err := l.tx.QueryContext(l.ctx, l.lineOutcomes(), l.runID)
	if err != nil {
		return fmt.Errorf("post-condition: line outcomes: %w", err)
	}
	for rows.Next() {
		var id int64
		var o outcome
		if err := rows.Scan(&id, &o.read, &o.rejected, &o.loaded, &o.dups, &o.leaked, &o.lost); err != nil {
			rows.Close()
			return err
		}
		got[id] = o
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	l.traceStep("postcheck line outcomes", t0)
	manifest, err := l.manifestCounts()
	if err != nil {
		return err
	}
	for _, j := range l.jobs {
		o := got[j.FileID]
		if !factTargets[j.Target] || j.m.joinOf != nil {
			o.loaded, o.lost = o.lost, 0 // accepted master-data lines merge into dimensions
		}
		m, ok := manifest[j.FileID]
		if !ok {
			return fmt.Errorf("post-condition: manifest of %s: %w", j.Path, sql.ErrNoRows)
		}
		switch {
		case o.read != j.Read:
			bad = append(bad, fmt.Sprintf("%s: %d lines read, but %d staged or in the ledger", j.Path, j.Read, o.read))
		case o.leaked > 0:
			bad = append(bad, fmt.Sprintf("%s: %d rejected lines have fact rows", j.Path, o.leaked))
		case o.lost > 0:
			bad = append(bad, fmt.Sprintf("%s: %d lines neither loaded, rejected nor duplicates", j.Path, o.lost))
		case m != [3]int64{o.loaded, o.rejected, o.dups}:
			bad = append(bad, fmt.Sprintf("%s: manifest says loaded/rejected/duplicates %v, the tables %v",
				j.Path, m, [3]int64{o.loaded, o.rejected, o.dups}))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("post-condition failed, nothing was loaded:\n  %s", strings.Join(bad, "\n  "))
	}
	return nil
}

// salesFactChecks counts the violations of salesRowChecks and of the key
// check among the lines of this run, one entry of bad each.
func (l *loader) salesFactChecks() (bad []string, err error) {
	ns := make([]any, len(salesRowChecks)+2)
	counts := make([]int64, len(salesRowChecks))
	for i := range counts {
		ns[i] = &counts[i]
	}
	var lo, hi sql.NullString
	ns[len(counts)], ns[len(counts)+1] = &lo, &hi
	if err := l.tx.QueryRowContext(l.ctx, salesChecksSQL(), l.runID).Scan(ns...); err != nil {
		return nil, fmt.Errorf("post-condition: fact checks: %w", err)
	}
	for i, n := range counts {
		if n > 0 {
			bad = append(bad, fmt.Sprintf("%d %s", n, salesRowChecks[i].what))
		}
	}
	if !lo.Valid {
		return bad, nil // no line of the run has an order id
	}
	var keys int64
	if err := l.tx.QueryRowContext(l.ctx, salesKeySQL, l.runID, lo.String, hi.String).Scan(&keys); err != nil {
		return nil, fmt.Errorf("post-condition: fact checks: %w", err)
	}
	if keys > 0 {
		bad = append(bad, fmt.Sprintf("%d %s", keys, salesKeysWhat))
	}
	return bad, nil
}

// manifestCounts reads what etl_file says of the load's files (loaded,
// rejected, duplicates) in one query.
func (l *loader) manifestCounts() (map[int64][3]int64, error) {
	ids := make([]string, len(l.jobs))
	for i, j := range l.jobs {
		ids[i] = strconv.FormatInt(j.FileID, 10)
	}
	out := map[int64][3]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := l.tx.QueryContext(l.ctx, `SELECT file_id, rows_loaded, rows_rejected, rows_duplicate FROM etl_file
		WHERE file_id IN (`+strings.Join(ids, ", ")+`)`)
	if err != nil {
		return nil, fmt.Errorf("post-condition: manifest: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var m [3]int64
		if err := rows.Scan(&id, &m[0], &m[1], &m[2]); err != nil {
			return nil, fmt.Errorf("post-condition: manifest: %w", err)
		}
		out[id] = m
	}
	return out, rows.Err()
}
