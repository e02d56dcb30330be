package etl

import (
	"fmt"
	"strings"
	"time"
)

// loadedLines is SQL for the lines of this run's files that reached the
// warehouse — measured in the warehouse tables, not taken on trust — as
// (file_id, line); $1 is the run. A target the load has nothing of (idle:
// its ok_ view is empty, its fact step did not run) brings no line: its
// part is left out, one query fewer to plan (everyTarget keeps them all).
//
// When every staged line is one row (sharedLines "false") each part's lines are of
// its own files and a sales line has at most one fact row that is not a
// reversal: the sales lines are taken without a DISTINCT and the parts
// joined by UNION ALL (two DISTINCTs of every line, ~0.7 CPU s of a
// million-line load). A line with two such rows would then count twice
// and fail the reconciliation, where the DISTINCT let it through.
func (l *loader) loadedLines() string {
	// Where only some files' lines may have several rows (sharedLines: a
	// JSON export among delimited ones) only theirs are made distinct,
	// and the parts are still each of their own files.
	union := l.factsUnion()
	salesLines := l.sharedRows("etl_file_id, source_line", "fact_sales", "etl_run_id = $1 AND NOT is_reversal", "etl_file_id")
	parts := []string{salesLines}
	for _, p := range []struct{ target, sql string }{
		{"interactions", `SELECT DISTINCT etl_file_id, source_line FROM fact_interaction WHERE etl_run_id = $1`},
		{"responses", `SELECT DISTINCT etl_file_id, source_line FROM fact_campaign WHERE etl_run_id = $1`},
		{"customers", `SELECT DISTINCT c.file_id, c._line FROM ok_customers c JOIN id_rec r ON r.rec = ` + recIDOf("c") + `
		JOIN dim_customer d ON d.customer_id = r.customer_id AND d.is_current`},
		{"products", `SELECT DISTINCT o.file_id, o._line FROM ok_products o JOIN dim_product p ON p.product_code = o.code`},
		{"campaigns", `SELECT DISTINCT o.file_id, o._line FROM ok_campaigns o JOIN dim_campaign c ON c.campaign_code = o.code`},
	} {
		if !l.idle[p.target] {
			parts = append(parts, p.sql)
		}
	}
	return "\n\t" + strings.Join(append(parts, `SELECT file_id, _line FROM stg_joined`), union)
}

// fileOutcomes counts every file's lines by outcome in one pass: rejected
// (an error entry), loaded, duplicate (a duplicate entry, neither rejected
// nor loaded — a JSON order line with one new item is loaded), and warned
// (a warning on a line that is not rejected).
func (l *loader) fileOutcomes() string {
	return `
WITH loaded AS (` + l.loadedLines() + `),
ledger AS (
	SELECT file_id, line, bool_or(severity = 'error') AS err, bool_or(severity = 'warn') AS warn,
		bool_or(rule = 'duplicate') AS dup
	FROM ld_reject GROUP BY ALL),
lines AS (
	SELECT coalesce(g.file_id, l.etl_file_id) AS file_id, coalesce(g.err, false) AS err, coalesce(g.warn, false) AS warn,
		coalesce(g.dup, false) AS dup, l.etl_file_id IS NOT NULL AS loaded
	FROM ledger g FULL JOIN loaded l ON l.etl_file_id = g.file_id AND l.source_line = g.line)
SELECT file_id, count(*) FILTER (WHERE loaded AND NOT err), count(*) FILTER (WHERE err),
	count(*) FILTER (WHERE dup AND NOT err AND NOT loaded), count(*) FILTER (WHERE warn AND NOT err)
FROM lines GROUP BY file_id`
}

// reconcile counts every file's records by outcome and fails the load
// unless read = loaded + rejected + duplicates for each.
func (l *loader) reconcile() error {
	type counts struct{ loaded, rejected, dups, warned int64 }
	byFile := map[int64]counts{}
	rows, err := l.tx.QueryContext(l.ctx, l.fileOutcomes(), l.runID)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	for rows.Next() {
		var id int64
		var c counts
		if err := rows.Scan(&id, &c.loaded, &c.rejected, &c.dups, &c.warned); err != nil {
			rows.Close()
			return fmt.Errorf("reconcile: %w", err)
		}
		byFile[id] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	var bad []string
	for _, j := range l.jobs {
		c := byFile[j.FileID]
		j.Loaded, j.Rejected, j.Duplicates, j.Warned = c.loaded, c.rejected, c.dups, c.warned
		if j.Read != j.Loaded+j.Rejected+j.Duplicates {
			bad = append(bad, fmt.Sprintf("%s: read %d ≠ loaded %d + rejected %d + duplicates %d",
				j.Path, j.Read, j.Loaded, j.Rejected, j.Duplicates))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("reconcile: counts do not add up, nothing was loaded:\n  %s", strings.Join(bad, "\n  "))
	}
	return nil
}

// writeLedger records the run: rejects, the manifest, watermarks and the
// run row with its counts.
func (l *loader) writeLedger() error {
	if err := l.exec("ledger", `INSERT INTO etl_reject (run_id, file_id, path, line, stage, rule, severity, column_name, raw_value,
			raw_record, message, ref_run_id, ref_file_id, ref_line, record_hash)
		SELECT ?, r.file_id, f.path, r.line, r.stage, r.rule, r.severity, r.column_name, `+l.ledgerText("r.raw_value")+`, `+l.ledgerText("r.raw_record")+`, r.message,
			r.ref_run_id, r.ref_file_id, r.ref_line, CASE WHEN r.severity = 'error' THEN md5_number_upper(r.raw_record) END
		FROM ld_reject r JOIN ld_file f USING (file_id)`, l.runID); err != nil {
		return err
	}
	now := time.Now()
	var read, loaded, rejected, dups, warned int64
	for _, j := range l.jobs {
		if err := l.exec("ledger", `INSERT INTO etl_file VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			j.FileID, l.runID, j.Source, j.Path, j.Size, j.SHA256, j.Format, nullable(j.Encoding),
			j.Read, j.Loaded, j.Rejected, j.Duplicates, now); err != nil {
			return err
		}
		read, loaded, rejected, dups, warned = read+j.Read, loaded+j.Loaded, rejected+j.Rejected, dups+j.Duplicates, warned+j.Warned
	}
	// Watermark: the latest event time each source has delivered, of the
	// targets the load has something of (an idle target's ok_ view is
	// empty: everyTarget reads them all).
	var times []string
	for _, p := range []struct{ target, sql string }{
		{"sales", `SELECT file_id, ts_v AS t FROM ok_sales`},
		{"interactions", `SELECT file_id, ts_v AS t FROM ok_interactions`},
		{"responses", `SELECT file_id, CAST(targeted_v AS TIMESTAMP) AS t FROM ok_responses`},
		{"customers", `SELECT file_id, CAST(registered_v AS TIMESTAMP) AS t FROM ok_customers`},
	} {
		if !l.idle[p.target] {
			times = append(times, p.sql)
		}
	}
	if len(times) > 0 {
		if err := l.exec("ledger", `INSERT OR REPLACE INTO etl_watermark
		SELECT f.source, CAST(max(t) AS VARCHAR), ?, ? FROM (
			`+strings.Join(times, "\n\t\t\tUNION ALL ")+`) x
		JOIN ld_file f USING (file_id) WHERE t IS NOT NULL GROUP BY f.source`, l.runID, now); err != nil {
			return err
		}
	}
	files := len(l.jobs)
	// The staged lines: distinct (file, line) pairs, as a JSON order line
	// has a row per item. When every staged line is one row (sharedLines "false"),
	// each file's lines in one staging table, the rows are the lines: a
	// count, not a DISTINCT of every line (~0.5 s of a million).
	// Where only some files' lines may have several rows (sharedLines),
	// only theirs are made distinct.
	staged := `SELECT count(*) FROM (` + l.sharedRows("file_id, _line", "("+stagedLines+")", "", "file_id") + `)`
	return l.exec("ledger", `UPDATE etl_run SET finished_at = ?, status = 'committed', files_seen = ?, files_loaded = ?, files_skipped = 0,
			rows_read = ?, rows_staged = (`+staged+`),
			rows_cleaned = ?, rows_loaded = ?, rows_rejected = ?, rows_duplicate = ?, rows_warned = ?
		WHERE run_id = ?`, now, files, files, read, read-dups, loaded, rejected, dups, warned, l.runID)
}

// stagedLines is SQL for the (file_id, _line) of every staged row.
const stagedLines = `
				SELECT file_id, _line FROM stg_sales UNION ALL SELECT file_id, _line FROM stg_customers
				UNION ALL SELECT file_id, _line FROM stg_products UNION ALL SELECT file_id, _line FROM stg_campaigns
				UNION ALL SELECT file_id, _line FROM stg_interactions UNION ALL SELECT file_id, _line FROM stg_responses
				UNION ALL SELECT file_id, _line FROM stg_joined`
