package etl

import (
	"fmt"
	"strings"
	"time"
)

// loadedQuery counts, per target, the records of one file that reached
// the warehouse — measured in the warehouse tables, not taken on trust.
var loadedQuery = map[string]string{
	"sales":        `SELECT count(DISTINCT source_line) FROM fact_sales WHERE etl_file_id = ? AND NOT is_reversal`,
	"interactions": `SELECT count(DISTINCT source_line) FROM fact_interaction WHERE etl_file_id = ?`,
	"responses":    `SELECT count(DISTINCT source_line) FROM fact_campaign WHERE etl_file_id = ?`,
	"customers": `SELECT count(DISTINCT c._line) FROM ok_customers c JOIN id_rec r ON r.rec = ` + recIDOf("c") + `
		JOIN dim_customer d ON d.customer_id = r.customer_id AND d.is_current WHERE c.file_id = ?`,
	"products":  `SELECT count(DISTINCT o._line) FROM ok_products o JOIN dim_product p ON p.product_code = o.code WHERE o.file_id = ?`,
	"campaigns": `SELECT count(DISTINCT o._line) FROM ok_campaigns o JOIN dim_campaign c ON c.campaign_code = o.code WHERE o.file_id = ?`,
}

// reconcile counts every file's records by outcome and fails the load
// unless read = loaded + rejected + duplicates for each.
func (l *loader) reconcile() error {
	var bad []string
	for _, j := range l.jobs {
		var err error
		if j.Loaded, err = l.count(loadedQuery[j.Target], j.FileID); err != nil {
			return fmt.Errorf("reconcile %s: %w", j.Path, err)
		}
		if j.Rejected, err = l.count(`SELECT count(DISTINCT line) FROM ld_reject WHERE file_id = ? AND severity = 'error'`, j.FileID); err != nil {
			return fmt.Errorf("reconcile %s: %w", j.Path, err)
		}
		if j.Warned, err = l.count(`SELECT count(DISTINCT line) FROM ld_reject w WHERE file_id = ? AND severity = 'warn'
			AND NOT EXISTS (SELECT 1 FROM ld_reject e WHERE e.file_id = w.file_id AND e.line = w.line AND e.severity = 'error')`, j.FileID); err != nil {
			return fmt.Errorf("reconcile %s: %w", j.Path, err)
		}
		// A line with a duplicate entry is a duplicate unless some item of it
		// was loaded (JSON orders) or it was rejected.
		if j.Duplicates, err = l.count(fmt.Sprintf(`SELECT count(*) FROM (
			SELECT DISTINCT line FROM ld_reject WHERE file_id = $1 AND rule = 'duplicate'
			EXCEPT SELECT line FROM ld_reject WHERE file_id = $1 AND severity = 'error'
			EXCEPT SELECT _line FROM ok_%s WHERE file_id = $1)`, j.Target), j.FileID); err != nil {
			return fmt.Errorf("reconcile %s: %w", j.Path, err)
		}
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
		SELECT ?, r.file_id, f.path, r.line, r.stage, r.rule, r.severity, r.column_name, r.raw_value, r.raw_record, r.message,
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
	// Watermark: the latest event time each source has delivered.
	if err := l.exec("ledger", `INSERT OR REPLACE INTO etl_watermark
		SELECT f.source, CAST(max(t) AS VARCHAR), ?, ? FROM (
			SELECT file_id, ts_v AS t FROM ok_sales UNION ALL SELECT file_id, ts_v FROM ok_interactions
			UNION ALL SELECT file_id, CAST(targeted_v AS TIMESTAMP) FROM ok_responses
			UNION ALL SELECT file_id, CAST(registered_v AS TIMESTAMP) FROM ok_customers) x
		JOIN ld_file f USING (file_id) WHERE t IS NOT NULL GROUP BY f.source`, l.runID, now); err != nil {
		return err
	}
	files := len(l.jobs)
	return l.exec("ledger", `UPDATE etl_run SET finished_at = ?, status = 'committed', files_seen = ?, files_loaded = ?, files_skipped = 0,
			rows_read = ?, rows_staged = (SELECT count(*) FROM (SELECT DISTINCT file_id, _line FROM (
				SELECT file_id, _line FROM stg_sales UNION ALL SELECT file_id, _line FROM stg_customers
				UNION ALL SELECT file_id, _line FROM stg_products UNION ALL SELECT file_id, _line FROM stg_campaigns
				UNION ALL SELECT file_id, _line FROM stg_interactions UNION ALL SELECT file_id, _line FROM stg_responses))),
			rows_cleaned = ?, rows_loaded = ?, rows_rejected = ?, rows_duplicate = ?, rows_warned = ?
		WHERE run_id = ?`, now, files, files, read, read-dups, loaded, rejected, dups, warned, l.runID)
}
