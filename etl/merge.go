package etl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// Merges and splits of unified customers.
//
// A merge joins customer "other" into the survivor, the smaller (older) id,
// so the ids reports, exports and knowledge already hold stay valid and a
// customer's id only ever changes by being merged away. It runs in the
// transaction of whoever found it (a load whose new record links customers
// earlier loads kept apart, or ckm identity merge) and records everything
// it changes, so UndoMerge restores the exact earlier state:
//
//   - every fact row of the merged-away customer (fact_sales,
//     fact_interaction, fact_campaign) moves to the survivor and to the
//     survivor's dim_customer version holding its time (campaign responses:
//     the current version, as loads give them); etl_customer_merge keeps,
//     per source record (file and line), the customer and version before;
//   - its identifiers (etl_identity) and explanations (identity_link) move to
//     the survivor, so every later load resolves its keys there: a merge
//     survives later loads by itself;
//   - its dim_customer versions stay as its history, but its current version
//     closes at the merge date: exactly one current version (the
//     survivor's) remains.
//
// A split moves the records carrying named keys, and the keys only they
// carry, from a customer to a new one, and keeps the two apart: a later
// load whose record links them does not merge them again but gives the
// record to the customer its strong keys (card, ID number) name.
//
// Every merge, split and undo changes the data version (a load's own run,
// or an etl_run row for the steward's action), so knowledge computed before
// reads as stale.

// mergeFactTables are the fact tables a merge re-points, with the time a
// row's dim_customer version holds ("" : the current version).
var mergeFactTables = []struct{ table, ts string }{
	{"fact_sales", "order_ts"}, {"fact_interaction", "contact_ts"}, {"fact_campaign", ""}}

// mergeKeyTables are the tables whose rows name a customer by key.
var mergeKeyTables = []string{"etl_identity", "identity_link"}

// mergeQuerier is what merges need of a transaction.
type mergeQuerier interface {
	engine.Querier
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// merger moves customers' rows inside one transaction, recording what it
// moves under the run that does it.
type merger struct {
	ctx   context.Context
	q     mergeQuerier
	runID int64
	at    time.Time // the merge date: merged-away versions close here
}

func (m *merger) exec(query string, args ...any) error {
	if _, err := m.q.ExecContext(m.ctx, query, args...); err != nil {
		return fmt.Errorf("customer merge: %w", err)
	}
	return nil
}

func (m *merger) count(query string, args ...any) (int64, error) {
	var n sql.NullInt64
	if err := m.q.QueryRowContext(m.ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("customer merge: %w", err)
	}
	return n.Int64, nil
}

// newEvent records a merge or split and returns its id.
func (m *merger) newEvent(kind string, survivor, other int64, decision sql.NullInt64) (int64, error) {
	id, err := m.count(`SELECT coalesce(max(merge_id), 0) + 1 FROM customer_merge`)
	if err != nil {
		return 0, err
	}
	return id, m.exec(`INSERT INTO customer_merge (merge_id, kind, run_id, survivor, other, merged_at, decision_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, kind, m.runID, survivor, other, m.at, decision)
}

// mergeInto merges customer other into survivor, as merge kind.
func (m *merger) mergeInto(kind string, survivor, other int64, decision sql.NullInt64) (int64, error) {
	id, err := m.newEvent(kind, survivor, other, decision)
	if err != nil {
		return 0, err
	}
	if err := m.moveFacts(id, other, survivor, ""); err != nil {
		return 0, err
	}
	for _, t := range mergeKeyTables {
		if err := m.moveKeys(id, t, other, survivor, ""); err != nil {
			return 0, err
		}
	}
	// Close the merged-away customer's current version at the merge date
	// (a second after it starts, when it starts later).
	if err := m.exec(`INSERT INTO etl_customer_merge_version
		SELECT ?, customer_key, valid_to, is_current, false FROM dim_customer WHERE customer_id = ? AND is_current`, id, other); err != nil {
		return 0, err
	}
	if err := m.exec(`UPDATE dim_customer SET valid_to = greatest(CAST(? AS TIMESTAMP), valid_from + INTERVAL 1 SECOND), is_current = false
		WHERE customer_id = ? AND is_current`, m.at, other); err != nil {
		return 0, err
	}
	return id, m.alignMoved(id, survivor)
}

// moveFacts moves the fact rows of customer from (those of the source
// records in table recs, when given) to customer to, recording per source
// record what they were.
func (m *merger) moveFacts(id, from, to int64, recs string) error {
	for _, f := range mergeFactTables {
		filter := ""
		if recs != "" {
			filter = fmt.Sprintf(` AND (etl_file_id, source_line) IN (SELECT (etl_file_id, source_line) FROM %s)`, recs)
		}
		if err := m.exec(fmt.Sprintf(`INSERT INTO etl_customer_merge
			SELECT ?, '%[1]s', etl_file_id, source_line, customer_id, customer_key, ?, count(*)
			FROM %[1]s WHERE customer_id = ?%[2]s GROUP BY etl_file_id, source_line, customer_id, customer_key`, f.table, filter), id, to, from); err != nil {
			return err
		}
		if err := m.exec(fmt.Sprintf(`UPDATE %s SET customer_id = ? WHERE customer_id = ?%s`, f.table, filter), to, from); err != nil {
			return err
		}
	}
	return nil
}

// movedRows is SQL joining fact table alias f to the source records merge
// id moved there.
func movedRows(table string, id int64) string {
	return fmt.Sprintf(`(SELECT DISTINCT etl_file_id, source_line, to_customer FROM etl_customer_merge WHERE merge_id = %d AND fact_table = '%s') mv`, id, table)
}

// alignMoved points the fact rows merge id moved to customer to at to's
// dim_customer version holding their time (campaign responses: its
// current version), then any row no version holds at the current one.
func (m *merger) alignMoved(id, to int64) error {
	for _, f := range mergeFactTables {
		match := "d.is_current"
		if f.ts != "" {
			match = fmt.Sprintf("%[1]s.%[2]s >= d.valid_from AND %[1]s.%[2]s < d.valid_to", f.table, f.ts)
		}
		for _, cond := range []string{match, "d.is_current AND " + f.table + ".customer_key NOT IN (SELECT customer_key FROM dim_customer WHERE customer_id = " + fmt.Sprint(to) + ")"} {
			if err := m.exec(fmt.Sprintf(`UPDATE %[1]s SET customer_key = d.customer_key
				FROM dim_customer d, %[2]s
				WHERE %[1]s.customer_id = ? AND d.customer_id = ? AND %[3]s
					AND %[1]s.etl_file_id IS NOT DISTINCT FROM mv.etl_file_id AND %[1]s.source_line IS NOT DISTINCT FROM mv.source_line
					AND %[1]s.customer_key IS DISTINCT FROM d.customer_key`,
				f.table, movedRows(f.table, id), cond), to, to); err != nil {
				return err
			}
		}
	}
	return nil
}

// keyRowSQL is SQL for a row of table (aliased as itself) as JSON of all
// its columns but customer_id: how the moved rows of a key table are told
// apart, whatever its key columns are (raw keys or tokens).
func (m *merger) keyRowSQL(table string) (string, error) {
	rows, err := m.q.QueryContext(m.ctx, `SELECT column_name FROM duckdb_columns()
		WHERE schema_name = 'main' AND table_name = ? AND column_name <> 'customer_id' ORDER BY column_index`, table)
	if err != nil {
		return "", fmt.Errorf("customer merge: columns of %s: %w", table, err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return "", fmt.Errorf("customer merge: columns of %s: %w", table, err)
		}
		parts = append(parts, fmt.Sprintf(`'%s', %s."%s"`, c, table, c))
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("customer merge: columns of %s: %w", table, err)
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("customer merge: table %s has no columns", table)
	}
	return "CAST(json_object(" + strings.Join(parts, ", ") + ") AS VARCHAR)", nil
}

// moveKeys moves the rows of key table naming customer from (those whose
// key hash is in table keys, when given) to customer to, recording them.
func (m *merger) moveKeys(id int64, table string, from, to int64, keys string) error {
	row, err := m.keyRowSQL(table)
	if err != nil {
		return err
	}
	filter := ""
	if keys != "" {
		filter = fmt.Sprintf(` AND hash(key_type, key_value) IN (SELECT key_hash FROM %s)`, keys)
	}
	if err := m.exec(fmt.Sprintf(`INSERT INTO etl_customer_merge_key
		SELECT ?, '%[1]s', %[2]s AS key_row, ?, ?, count(*) FROM %[1]s WHERE customer_id = ?%[3]s GROUP BY key_row`, table, row, filter), id, from, to, from); err != nil {
		return err
	}
	return m.exec(fmt.Sprintf(`UPDATE %s SET customer_id = ? WHERE customer_id = ?%s`, table, filter), to, from)
}

// undo restores what merge or split id changed, failing (the caller rolls
// back) when the rows it moved are no longer where it left them.
func (m *merger) undo(id int64) error {
	for _, f := range mergeFactTables {
		if err := m.undoFacts(id, f.table, f.ts); err != nil {
			return err
		}
	}
	for _, t := range mergeKeyTables {
		row, err := m.keyRowSQL(t)
		if err != nil {
			return err
		}
		want, err := m.count(`SELECT sum(rows) FROM etl_customer_merge_key WHERE merge_id = ? AND table_name = ?`, id, t)
		if err != nil {
			return err
		}
		got, err := m.count(fmt.Sprintf(`SELECT count(*) FROM %[1]s JOIN etl_customer_merge_key h
			ON h.merge_id = ? AND h.table_name = '%[1]s' AND %[1]s.customer_id = h.to_customer AND %[2]s = h.key_row`, t, row), id)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("undo merge %d: %d rows of %s it moved, %d found where it left them: a later change moved them; undo that first", id, want, t, got)
		}
		if err := m.exec(fmt.Sprintf(`UPDATE %[1]s SET customer_id = h.from_customer FROM etl_customer_merge_key h
			WHERE h.merge_id = ? AND h.table_name = '%[1]s' AND %[1]s.customer_id = h.to_customer AND %[2]s = h.key_row`, t, row), id); err != nil {
			return err
		}
	}
	if err := m.exec(`UPDATE dim_customer SET valid_to = v.valid_to, is_current = v.is_current
		FROM etl_customer_merge_version v WHERE v.merge_id = ? AND NOT v.inserted AND dim_customer.customer_key = v.customer_key`, id); err != nil {
		return err
	}
	return m.exec(`DELETE FROM dim_customer WHERE customer_key IN
		(SELECT customer_key FROM etl_customer_merge_version WHERE merge_id = ? AND inserted)`, id)
}

// undoFacts moves the rows of one fact table merge id moved back to their
// customer and version. A source record whose rows had several versions
// (rows at different times) is aligned to the restored versions by time.
func (m *merger) undoFacts(id int64, table, ts string) error {
	want, err := m.count(`SELECT sum(rows) FROM etl_customer_merge WHERE merge_id = ? AND fact_table = ?`, id, table)
	if err != nil {
		return err
	}
	hist := fmt.Sprintf(`(SELECT etl_file_id, source_line, any_value(from_customer) AS from_customer, any_value(to_customer) AS to_customer,
			CASE WHEN count(DISTINCT from_key) = 1 THEN any_value(from_key) END AS from_key
		FROM etl_customer_merge WHERE merge_id = %d AND fact_table = '%s' GROUP BY etl_file_id, source_line) h`, id, table)
	on := fmt.Sprintf(`%[1]s.customer_id = h.to_customer AND %[1]s.etl_file_id IS NOT DISTINCT FROM h.etl_file_id
		AND %[1]s.source_line IS NOT DISTINCT FROM h.source_line`, table)
	got, err := m.count(fmt.Sprintf(`SELECT count(*) FROM %s JOIN %s ON %s`, table, hist, on))
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("undo merge %d: %d rows of %s it moved, %d found where it left them: a later change moved them; undo that first", id, want, table, got)
	}
	if want == 0 {
		return nil
	}
	if err := m.exec(fmt.Sprintf(`UPDATE %[1]s SET customer_id = h.from_customer, customer_key = coalesce(h.from_key, %[1]s.customer_key)
		FROM %[2]s WHERE %[3]s`, table, hist, on)); err != nil {
		return err
	}
	if ts == "" {
		return nil
	}
	return m.exec(fmt.Sprintf(`UPDATE %[1]s SET customer_key = d.customer_key FROM dim_customer d, %[2]s
		WHERE h.from_key IS NULL AND %[1]s.customer_id = h.from_customer AND %[1]s.etl_file_id IS NOT DISTINCT FROM h.etl_file_id
			AND %[1]s.source_line IS NOT DISTINCT FROM h.source_line AND d.customer_id = h.from_customer
			AND %[1]s.%[3]s >= d.valid_from AND %[1]s.%[3]s < d.valid_to`, table, hist, ts))
}

// ErrMergeRefused is returned (wrapped) when a merge, split or undo asked
// for cannot be done as asked; the message says why and what to do.
var ErrMergeRefused = errors.New("refused")
