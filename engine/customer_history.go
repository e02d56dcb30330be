package engine

import (
	"context"
	"database/sql"
	"fmt"
)

// txLike is what the dim_customer history helpers need: *sql.Tx, *sql.Conn
// and *sql.DB all have it.
type txLike interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// customerHistoryFaults is SQL for the dim_customer versions that break the
// SCD2 history of their customer, with what is wrong. Versions in
// valid_from order must chain: each ends where the next starts
// (valid_to = next valid_from: no gap, no overlap), none is empty, only the
// last is current and it runs to 9999-12-31 — except for a customer merged
// into another (customer_merge), whose last version closed at the merge and
// none is current.
const customerHistoryFaults = `SELECT customer_id, customer_key, valid_from, valid_to, CASE
		WHEN valid_from IS NULL OR valid_to IS NULL THEN 'no validity period'
		WHEN valid_to <= valid_from THEN 'ends before it starts'
		WHEN merged AND is_current THEN 'was merged into another customer but is still current'
		WHEN merged AND next_from IS NULL THEN NULL
		WHEN next_from = valid_from THEN 'starts together with version ' || next_key
		WHEN next_from IS NOT NULL AND valid_to < next_from THEN 'gap until version ' || next_key
		WHEN next_from IS NOT NULL AND valid_to > next_from THEN 'overlaps version ' || next_key
		WHEN next_from IS NOT NULL AND is_current THEN 'is current but version ' || next_key || ' follows'
		WHEN next_from IS NULL AND NOT coalesce(is_current, false) THEN 'is the last version but not current'
		WHEN next_from IS NULL AND valid_to <> TIMESTAMP '9999-12-31' THEN 'is the last version but ends'
		END AS fault
	FROM (SELECT *, lead(valid_from) OVER w AS next_from, lead(customer_key) OVER w AS next_key,
			customer_id IN (SELECT other FROM customer_merge WHERE kind NOT IN ('steward_split', 'load_split') AND undone_run IS NULL) AS merged
		FROM dim_customer WINDOW w AS (PARTITION BY customer_id ORDER BY valid_from, customer_key))`

// CheckCustomerHistory verifies the SCD2 history of every customer in
// dim_customer: no gaps, no overlaps, exactly one current version, the last
// one open-ended. The error names how many customers are broken and the
// first of them, so a load or operator calling it inside its transaction
// rolls back with a message that says what to look at.
func CheckCustomerHistory(ctx context.Context, q txLike) error {
	faults := `SELECT * FROM (` + customerHistoryFaults + `) WHERE fault IS NOT NULL`
	var broken int64
	if err := q.QueryRowContext(ctx, `SELECT count(DISTINCT customer_id) FROM (`+faults+`)`).Scan(&broken); err != nil {
		return fmt.Errorf("check dim_customer history: %w", err)
	}
	if broken == 0 {
		return nil
	}
	var id, key int64
	var from, to, why sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT customer_id, customer_key, CAST(valid_from AS VARCHAR), CAST(valid_to AS VARCHAR), fault
		FROM (`+faults+`) ORDER BY customer_id, valid_from LIMIT 1`).Scan(&id, &key, &from, &to, &why); err != nil {
		return fmt.Errorf("check dim_customer history: %w", err)
	}
	return fmt.Errorf("dim_customer history is broken for %d customers (gaps, overlaps or not exactly one current version); first: customer %d, version %d [%s, %s) %s",
		broken, id, key, from.String, to.String, why.String)
}

// AlignCustomerVersions points the fact rows of the given customers at the
// dim_customer version whose [valid_from, valid_to) holds their time: a
// version inserted into the history (a back-dated change) takes over the
// sales and contacts of its period. customers is SQL selecting the
// customer_id values to align (a subquery over a table the caller built).
func AlignCustomerVersions(ctx context.Context, q txLike, customers string) error {
	for _, f := range []struct{ table, ts string }{{"fact_sales", "order_ts"}, {"fact_interaction", "contact_ts"}} {
		// The rows that move to another version, as a condition on the
		// fact table alone: their months go to the change record (the
		// lake's export re-reads them) before they are changed, in the
		// same transaction.
		moves := fmt.Sprintf(`%[1]s.customer_id > 0 AND %[1]s.customer_id IN (%[3]s)
				AND EXISTS (SELECT 1 FROM dim_customer d WHERE d.customer_id = %[1]s.customer_id
					AND %[1]s.%[2]s >= d.valid_from AND %[1]s.%[2]s < d.valid_to
					AND %[1]s.customer_key IS DISTINCT FROM d.customer_key)`, f.table, f.ts, customers)
		if err := RecordChangeWhere(ctx, q, "customer versions", f.table, moves); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, fmt.Sprintf(`UPDATE %[1]s SET customer_key = d.customer_key
			FROM dim_customer d
			WHERE d.customer_id = %[1]s.customer_id AND %[1]s.customer_id > 0
				AND %[1]s.customer_id IN (%[3]s)
				AND %[1]s.%[2]s >= d.valid_from AND %[1]s.%[2]s < d.valid_to
				AND %[1]s.customer_key IS DISTINCT FROM d.customer_key`, f.table, f.ts, customers))
		if err != nil {
			return fmt.Errorf("align %s with dim_customer versions: %w", f.table, err)
		}
	}
	return nil
}
