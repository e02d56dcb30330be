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

// execAll runs queries in order.
func (m *merger) execAll(queries ...string) error {
	for _, q := range queries {
		if err := m.exec(q); err != nil {
			return err
		}
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

// customerMove is one merge or split to carry out: rows of customer from
// go to customer to.
type customerMove struct{ id, from, to int64 }

// setMoves makes the temp table ckm_moves (merge_id, from_customer,
// to_customer) the moves of the statements that follow.
func (m *merger) setMoves(moves []customerMove) error {
	if err := m.exec(`CREATE OR REPLACE TEMP TABLE ckm_moves (merge_id BIGINT, from_customer BIGINT, to_customer BIGINT)`); err != nil {
		return err
	}
	rows := make([]string, len(moves))
	for i, mv := range moves {
		rows[i] = fmt.Sprintf("(%d, %d, %d)", mv.id, mv.from, mv.to)
	}
	return m.exec(`INSERT INTO ckm_moves VALUES ` + strings.Join(rows, ", "))
}

// mergeAll merges each customer "other" of merges into its survivor, as
// merge kind, all at once: one pass over each table whatever the number of
// merges. It returns the merge ids, in the order of merges.
func (m *merger) mergeAll(kind string, merges []customerMerge, decision sql.NullInt64) ([]int64, error) {
	if len(merges) == 0 {
		return nil, nil
	}
	base, err := m.count(`SELECT coalesce(max(merge_id), 0) FROM customer_merge`)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(merges))
	moves := make([]customerMove, len(merges))
	for i, c := range merges {
		ids[i] = base + int64(i) + 1
		moves[i] = customerMove{ids[i], c.other, c.survivor}
	}
	if err := m.setMoves(moves); err != nil {
		return nil, err
	}
	defer m.q.ExecContext(context.WithoutCancel(m.ctx), `DROP TABLE IF EXISTS ckm_moves`)
	if err := m.exec(`INSERT INTO customer_merge (merge_id, kind, run_id, survivor, other, merged_at, decision_id)
		SELECT merge_id, ?, ?, to_customer, from_customer, ?, ? FROM ckm_moves`, kind, m.runID, m.at, decision); err != nil {
		return nil, err
	}
	if err := m.moveRows("", ""); err != nil {
		return nil, err
	}
	if err := engine.CloseMergedCustomers(m.ctx, m.q, "ckm_moves", m.at); err != nil {
		return nil, err
	}
	return ids, m.alignMoved()
}

// moveRows carries out ckm_moves on the fact and key tables: the fact rows
// of each from_customer (of the source records in table recs, when given)
// and its key rows (those whose key hash is in table keys, when given) go
// to its to_customer, recorded per source record and key row.
// ckm:change-recorded-by alignMoved (its callers run it next, in the same
// transaction: the lake's change record of the moved rows' months).
func (m *merger) moveRows(recs, keys string) error {
	for _, f := range mergeFactTables {
		filter := ""
		if recs != "" {
			filter = fmt.Sprintf(` AND (f.etl_file_id, f.source_line) IN (SELECT (etl_file_id, source_line) FROM %s)`, recs)
		}
		if err := m.exec(fmt.Sprintf(`INSERT INTO etl_customer_merge
			SELECT mv.merge_id, '%[1]s', f.etl_file_id, f.source_line, f.customer_id, f.customer_key, mv.to_customer, count(*)
			FROM %[1]s f JOIN ckm_moves mv ON f.customer_id = mv.from_customer WHERE true%[2]s
			GROUP BY mv.merge_id, f.etl_file_id, f.source_line, f.customer_id, f.customer_key, mv.to_customer`, f.table, filter)); err != nil {
			return err
		}
		if err := m.exec(fmt.Sprintf(`UPDATE %[1]s f SET customer_id = mv.to_customer FROM ckm_moves mv
			WHERE f.customer_id = mv.from_customer%[2]s`, f.table, filter)); err != nil {
			return err
		}
	}
	for _, t := range mergeKeyTables {
		row, err := m.keyRowSQL(t)
		if err != nil {
			return err
		}
		filter := ""
		if keys != "" {
			filter = fmt.Sprintf(` AND hash(%s.key_type, %s.key_value) IN (SELECT key_hash FROM %s)`, t, t, keys)
		}
		if err := m.exec(fmt.Sprintf(`INSERT INTO etl_customer_merge_key
			SELECT mv.merge_id, '%[1]s', %[2]s AS key_row, mv.from_customer, mv.to_customer, count(*)
			FROM %[1]s JOIN ckm_moves mv ON %[1]s.customer_id = mv.from_customer WHERE true%[3]s
			GROUP BY mv.merge_id, key_row, mv.from_customer, mv.to_customer`, t, row, filter)); err != nil {
			return err
		}
		if err := m.exec(fmt.Sprintf(`UPDATE %[1]s SET customer_id = mv.to_customer FROM ckm_moves mv
			WHERE %[1]s.customer_id = mv.from_customer%[2]s`, t, filter)); err != nil {
			return err
		}
	}
	return nil
}

// alignMoved points the fact rows of ckm_moves at their new customer's
// dim_customer version holding their time (campaign responses: its current
// version, as loads give them), then any row no version holds at the
// current one.
func (m *merger) alignMoved() error {
	for _, f := range mergeFactTables {
		match := "d.is_current"
		if f.ts != "" {
			match = fmt.Sprintf("f.%[1]s >= d.valid_from AND f.%[1]s < d.valid_to", f.ts)
		}
		moved := fmt.Sprintf(`(SELECT DISTINCT h.etl_file_id, h.source_line, h.to_customer FROM etl_customer_merge h
			SEMI JOIN ckm_moves USING (merge_id) WHERE h.fact_table = '%s') mv`, f.table)
		orphan := "d.is_current AND NOT EXISTS (SELECT 1 FROM dim_customer x WHERE x.customer_key = f.customer_key AND x.customer_id = f.customer_id)"
		for _, cond := range []string{match, orphan} {
			if err := m.exec(fmt.Sprintf(`UPDATE %[1]s f SET customer_key = d.customer_key
				FROM dim_customer d, %[2]s
				WHERE f.customer_id = mv.to_customer AND d.customer_id = mv.to_customer AND %[3]s
					AND f.etl_file_id IS NOT DISTINCT FROM mv.etl_file_id AND f.source_line IS NOT DISTINCT FROM mv.source_line
					AND f.customer_key IS DISTINCT FROM d.customer_key`, f.table, moved, cond)); err != nil {
				return err
			}
		}
		// The lake's change record: the months of the moved rows (and of
		// the other rows of their new customers), in the merge's
		// transaction.
		if err := m.exec(engine.ChangeRecordSQL("customer merge or split", f.table, `customer_id IN (SELECT to_customer FROM ckm_moves)`)); err != nil {
			return err
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

// undo restores what merge or split id changed, failing (the caller rolls
// back) when the rows it moved are no longer where it left them.
// ckm:not-a-fact-writer: its own UPDATE is of the key tables; undoFacts
// moves (and records) the fact rows.
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
	return engine.RestoreCustomerVersions(m.ctx, m.q, id)
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
	// The lake's change record: any month of the table (an undo is rare).
	if err := engine.RecordChange(m.ctx, m.q, fmt.Sprintf("undo of customer merge %d", id), table); err != nil {
		return err
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
