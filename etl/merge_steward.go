package etl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// Steward is who decides a merge, split or undo, and why. The caller (the
// CLI) has checked that the principal holds the steward or admin role.
type Steward struct {
	User, Role, Reason string
	// At is the merge date (zero: now): a merged-away customer's current
	// version closes here.
	At time.Time
	// Version is the ckm version recorded in etl_run.
	Version string
	// BeforeCommit hooks run in the action's transaction after its work
	// (e.g. refreshing OLAP rollups for the new data version), so they
	// commit or roll back with it.
	BeforeCommit []func(ctx context.Context, tx *sql.Tx) error
}

// MergeOutcome is what a merge, split or undo did.
type MergeOutcome struct {
	MergeID    int64  `json:"merge_id"`
	DecisionID int64  `json:"decision_id,omitempty"`
	RunID      int64  `json:"run_id"` // the data version it made
	Kind       string `json:"kind"`
	Survivor   int64  `json:"survivor"` // merge: the id kept; split: the customer split
	Other      int64  `json:"other"`    // merge: the id merged away; split: the new customer
	FactRows   int64  `json:"fact_rows"`
	Records    int64  `json:"source_records"`
	Keys       int64  `json:"keys"`
	Undone     bool   `json:"undone,omitempty"`
}

// IdentityKey is an identifier as identity resolution stores it: a key
// type (member_card, id_number, mobile, email, customer_ref) and its
// normalised value.
type IdentityKey struct{ Type, Value string }

// identityKeyTypes are the key types etl_identity holds.
var identityKeyTypes = []string{"member_card", "id_number", "mobile", "email", "customer_ref"}

// ParseIdentityKey reads TYPE:VALUE (as ckm identity explain shows keys,
// with the raw value).
func ParseIdentityKey(s string) (IdentityKey, error) {
	typ, val, ok := strings.Cut(s, ":")
	typ, val = strings.TrimSpace(typ), strings.TrimSpace(val)
	if !ok || val == "" {
		return IdentityKey{}, fmt.Errorf("key %q: want TYPE:VALUE, e.g. mobile:+8613800138000", privacy.MaskText(s))
	}
	for _, t := range identityKeyTypes {
		if t == typ {
			return IdentityKey{typ, val}, nil
		}
	}
	return IdentityKey{}, fmt.Errorf("key type %q: want one of %s", typ, strings.Join(identityKeyTypes, ", "))
}

// masked is the key as it may be shown: its value masked.
func (k IdentityKey) masked() string {
	return k.Type + ":" + privacy.Mask(privacy.ParseKind(k.Type), k.Value)
}

// stewardTx runs fn in one transaction under a new etl_run (the data
// version the action makes), then checks dim_customer's history and
// commits.
func stewardTx(ctx context.Context, w *engine.Warehouse, st Steward, what string, fn func(m *merger) error) (int64, error) {
	if strings.TrimSpace(st.Reason) == "" {
		return 0, fmt.Errorf("%s: %w: give the reason for the decision", what, ErrMergeRefused)
	}
	if st.At.IsZero() {
		st.At = time.Now()
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()
	m := &merger{ctx: ctx, q: tx, at: st.At}
	if m.runID, err = m.count(`SELECT coalesce(max(run_id), 0) + 1 FROM etl_run`); err != nil {
		return 0, err
	}
	if err := m.exec(`INSERT INTO etl_run (run_id, started_at, finished_at, status, paths, files_seen, files_loaded, files_skipped,
		rows_read, rows_staged, rows_cleaned, rows_loaded, rows_rejected, rows_duplicate, rows_warned, ckm_version, message)
		VALUES (?, ?, ?, 'committed', '', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ?, ?)`,
		m.runID, st.At, time.Now(), st.Version, fmt.Sprintf("%s by %s (%s): %s", what, st.User, st.Role, st.Reason)); err != nil {
		return 0, err
	}
	if err := fn(m); err != nil {
		return 0, err
	}
	if err := engine.CheckCustomerHistory(ctx, tx); err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if err := engine.CheckKeysHeldOnce(ctx, tx, m.runID); err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	for _, hook := range st.BeforeCommit {
		if err := hook(ctx, tx); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("%s: commit: %w", what, err)
	}
	return m.runID, nil
}

// checkCustomer says whether customer id can take part in a merge or
// split: it exists and was not merged away.
func (m *merger) checkCustomer(id int64) error {
	n, err := m.count(`SELECT (SELECT count(*) FROM dim_customer WHERE customer_id = ?) + (SELECT count(*) FROM etl_identity WHERE customer_id = ?)`, id, id)
	if err != nil {
		return err
	}
	if n == 0 || id <= 0 {
		return fmt.Errorf("customer %d: %w: no such customer", id, ErrMergeRefused)
	}
	var survivor, mergeID int64
	err = m.q.QueryRowContext(m.ctx, `SELECT survivor, merge_id FROM customer_merge
		WHERE other = ? AND kind NOT IN ('steward_split', 'load_split') AND undone_run IS NULL ORDER BY merge_id DESC LIMIT 1`, id).Scan(&survivor, &mergeID)
	if err == nil {
		return fmt.Errorf("customer %d: %w: it was merged into customer %d (merge %d); use %d", id, ErrMergeRefused, survivor, mergeID, survivor)
	}
	if err != sql.ErrNoRows {
		return fmt.Errorf("customer merge: %w", err)
	}
	return nil
}

// newDecision records a steward's decision and returns its id.
func (m *merger) newDecision(kind string, a, b int64, keys string, st Steward) (int64, error) {
	id, err := m.count(`SELECT coalesce(max(decision_id), 0) + 1 FROM identity_decision`)
	if err != nil {
		return 0, err
	}
	return id, m.exec(`INSERT INTO identity_decision (decision_id, kind, customer_a, customer_b, keys, reason, principal, role, decided_at)
		VALUES (?, ?, ?, ?, nullif(?, ''), ?, ?, ?, ?)`, id, kind, a, b, keys, st.Reason, st.User, st.Role, m.at)
}

// outcome reads what merge id did.
func (m *merger) outcome(id int64) (*MergeOutcome, error) {
	o := &MergeOutcome{MergeID: id}
	var decision sql.NullInt64
	var undone sql.NullInt64
	if err := m.q.QueryRowContext(m.ctx, `SELECT kind, survivor, other, decision_id, undone_run,
			(SELECT coalesce(sum(rows), 0) FROM etl_customer_merge WHERE merge_id = c.merge_id),
			(SELECT count(*) FROM (SELECT DISTINCT fact_table, etl_file_id, source_line FROM etl_customer_merge WHERE merge_id = c.merge_id)),
			(SELECT coalesce(sum(rows), 0) FROM etl_customer_merge_key WHERE merge_id = c.merge_id AND table_name = 'etl_identity')
		FROM customer_merge c WHERE merge_id = ?`, id).Scan(&o.Kind, &o.Survivor, &o.Other, &decision, &undone, &o.FactRows, &o.Records, &o.Keys); err != nil {
		return nil, fmt.Errorf("customer merge %d: %w", id, err)
	}
	o.DecisionID, o.Undone = decision.Int64, undone.Valid
	return o, nil
}

// MergeCustomers merges customers a and b, as a steward decided: the
// larger id into the smaller, in one transaction with its history.
func MergeCustomers(ctx context.Context, w *engine.Warehouse, a, b int64, st Steward) (*MergeOutcome, error) {
	if a == b {
		return nil, fmt.Errorf("merge %d %d: %w: a customer cannot be merged with itself", a, b, ErrMergeRefused)
	}
	survivor, other := min(a, b), max(a, b)
	var out *MergeOutcome
	runID, err := stewardTx(ctx, w, st, fmt.Sprintf("identity merge %d %d", survivor, other), func(m *merger) error {
		for _, c := range []int64{survivor, other} {
			if err := m.checkCustomer(c); err != nil {
				return err
			}
		}
		decision, err := m.newDecision("merge", survivor, other, "", st)
		if err != nil {
			return err
		}
		ids, err := m.mergeAll("steward_merge", []customerMerge{{survivor, other}}, sql.NullInt64{Int64: decision, Valid: true})
		if err != nil {
			return err
		}
		out, err = m.outcome(ids[0])
		return err
	})
	if err != nil {
		return nil, err
	}
	out.RunID = runID
	return out, nil
}

// SplitCustomer moves from customer the source records carrying any of
// keys (but not those a strong key left unnamed ties to the customer's
// other records), and every key of the customer only those records carry,
// to a new customer, as a steward decided; the two are kept apart by later
// loads. The keys named always move.
// The new customer gets one dim_customer version holding the ID number,
// mobile and e-mail of its keys; its other attributes come with its next
// CRM record.
func SplitCustomer(ctx context.Context, w *engine.Warehouse, customer int64, keys []IdentityKey, st Steward) (*MergeOutcome, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("split %d: %w: name the keys of the records to split off (TYPE:VALUE, see ckm identity explain)", customer, ErrMergeRefused)
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.masked()
	}
	var out *MergeOutcome
	runID, err := stewardTx(ctx, w, st, fmt.Sprintf("identity split %d", customer), func(m *merger) error {
		if err := m.checkCustomer(customer); err != nil {
			return err
		}
		id, err := m.split(customer, keys, strings.Join(names, ", "), st)
		if err != nil {
			return err
		}
		out, err = m.outcome(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	out.RunID = runID
	return out, nil
}

// split does SplitCustomer's work in m's transaction.
func (m *merger) split(customer int64, keys []IdentityKey, names string, st Steward) (int64, error) {
	if err := m.exec(`CREATE OR REPLACE TEMP TABLE ckm_split_sel (key_hash UBIGINT)`); err != nil {
		return 0, err
	}
	defer m.q.ExecContext(context.WithoutCancel(m.ctx), `DROP TABLE IF EXISTS ckm_split_sel; DROP TABLE IF EXISTS ckm_split_cand; DROP TABLE IF EXISTS ckm_split_anchor; DROP TABLE IF EXISTS ckm_split_rec; DROP TABLE IF EXISTS ckm_split_keys; DROP TABLE IF EXISTS ckm_moves`)
	for _, k := range keys {
		k, err := m.storedKey(customer, k) // as explain lists it (identity_keys.go)
		if err != nil {
			return 0, err
		}
		var holder sql.NullInt64
		if err := m.q.QueryRowContext(m.ctx, `SELECT max(customer_id) FROM etl_identity WHERE key_type = ? AND key_value = ?`, k.Type, k.Value).Scan(&holder); err != nil {
			return 0, fmt.Errorf("customer merge: %w", err)
		}
		switch {
		case !holder.Valid:
			return 0, fmt.Errorf("split %d: %w: no customer has key %s", customer, ErrMergeRefused, k.masked())
		case holder.Int64 != customer:
			return 0, fmt.Errorf("split %d: %w: key %s belongs to customer %d, not %d", customer, ErrMergeRefused, k.masked(), holder.Int64, customer)
		}
		if err := m.exec(`INSERT INTO ckm_split_sel SELECT hash(key_type, key_value) FROM etl_identity WHERE key_type = ? AND key_value = ?`, k.Type, k.Value); err != nil {
			return 0, err
		}
	}
	// The records carrying a named key, but not those also carrying a
	// strong key of the customer (card, ID number, source customer id) that
	// is not named and that other records carry: that key names the customer
	// the record stays with, as it would in a load. Then the customer's keys
	// that only the records moving carry.
	if err := m.execAll(
		`CREATE OR REPLACE TEMP TABLE ckm_split_cand AS
		SELECT DISTINCT etl_file_id, source_line FROM etl_record_key WHERE key_hash IN (SELECT key_hash FROM ckm_split_sel)`,
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE ckm_split_anchor AS
		SELECT DISTINCT k.key_hash FROM (SELECT hash(key_type, key_value) AS key_hash FROM etl_identity
			WHERE customer_id = %d AND key_type IN ('member_card', 'id_number', 'customer_ref')) k
		JOIN etl_record_key r USING (key_hash)
		WHERE k.key_hash NOT IN (SELECT key_hash FROM ckm_split_sel)
			AND (r.etl_file_id, r.source_line) NOT IN (SELECT (etl_file_id, source_line) FROM ckm_split_cand)`, customer),
		`CREATE OR REPLACE TEMP TABLE ckm_split_rec AS
		SELECT c.* FROM ckm_split_cand c WHERE NOT EXISTS (SELECT 1 FROM etl_record_key r
			WHERE r.etl_file_id = c.etl_file_id AND r.source_line = c.source_line AND r.key_hash IN (SELECT key_hash FROM ckm_split_anchor))`); err != nil {
		return 0, err
	}
	if err := m.exec(`CREATE OR REPLACE TEMP TABLE ckm_split_keys AS
		SELECT key_hash FROM ckm_split_sel
		UNION
		SELECT r.key_hash FROM (SELECT hash(key_type, key_value) AS key_hash FROM etl_identity WHERE customer_id = ?) k
		JOIN etl_record_key r USING (key_hash)
		LEFT JOIN ckm_split_rec s ON s.etl_file_id = r.etl_file_id AND s.source_line = r.source_line
		GROUP BY r.key_hash HAVING bool_and(s.etl_file_id IS NOT NULL)`, customer); err != nil {
		return 0, err
	}
	left, err := m.count(`SELECT count(*) FROM etl_identity WHERE customer_id = ? AND hash(key_type, key_value) NOT IN (SELECT key_hash FROM ckm_split_keys)`, customer)
	if err != nil {
		return 0, err
	}
	if left == 0 {
		return 0, fmt.Errorf("split %d: %w: the keys named (with the keys only their records carry) are all the customer's keys; nothing would remain", customer, ErrMergeRefused)
	}
	newID, err := m.count(`SELECT greatest((SELECT coalesce(max(customer_id), 0) FROM etl_identity), (SELECT coalesce(max(customer_id), 0) FROM dim_customer)) + 1`)
	if err != nil {
		return 0, err
	}
	decision, err := m.newDecision("split", customer, newID, names, st)
	if err != nil {
		return 0, err
	}
	id, err := m.newEvent("steward_split", customer, newID, sql.NullInt64{Int64: decision, Valid: true})
	if err != nil {
		return 0, err
	}
	if err := m.setMoves([]customerMove{{id, customer, newID}}); err != nil {
		return 0, err
	}
	if err := m.moveRows("ckm_split_rec", "ckm_split_keys"); err != nil {
		return 0, err
	}
	if err := engine.AddSplitCustomer(m.ctx, m.q, id, newID, customer, m.at, m.runID); err != nil {
		return 0, err
	}
	return id, m.alignMoved()
}

// UndoMerge restores the state before merge or split id, as a steward
// decided. Later merges and splits of the same customers must be undone
// first (newest first); a split undone no longer keeps its customers
// apart, and a merge undone found by a load may be found again by the
// next load that links the two. Rows that loads after the merge gave the
// survivor (their records carried the merged-away customer's keys) stay
// with it: undo restores what the merge moved, not what came since.
func UndoMerge(ctx context.Context, w *engine.Warehouse, id int64, st Steward) (*MergeOutcome, error) {
	var out *MergeOutcome
	runID, err := stewardTx(ctx, w, st, fmt.Sprintf("identity undo %d", id), func(m *merger) error {
		var err error
		if out, err = m.outcomeOrRefuse(id); err != nil {
			return err
		}
		if out.Undone {
			return fmt.Errorf("undo %d: %w: merge %d was undone already", id, ErrMergeRefused, id)
		}
		var later int64
		err = m.q.QueryRowContext(m.ctx, `SELECT merge_id FROM customer_merge
			WHERE merge_id > ? AND undone_run IS NULL AND (survivor IN (?, ?) OR other IN (?, ?)) ORDER BY merge_id DESC LIMIT 1`,
			id, out.Survivor, out.Other, out.Survivor, out.Other).Scan(&later)
		if err == nil {
			return fmt.Errorf("undo %d: %w: merge %d came later and involves the same customers; undo it first", id, ErrMergeRefused, later)
		} else if err != sql.ErrNoRows {
			return fmt.Errorf("customer merge: %w", err)
		}
		if out.Kind == "steward_split" {
			if err := m.checkSplitUntouched(out); err != nil {
				return err
			}
		}
		if err := m.undo(id); err != nil {
			return err
		}
		if err := m.exec(`UPDATE customer_merge SET undone_run = ?, undone_at = ? WHERE merge_id = ?`, m.runID, m.at, id); err != nil {
			return err
		}
		if out.DecisionID > 0 {
			if err := m.exec(`UPDATE identity_decision SET undone_at = ? WHERE decision_id = ?`, m.at, out.DecisionID); err != nil {
				return err
			}
		}
		out.Undone = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.RunID = runID
	return out, nil
}

// outcomeOrRefuse reads merge id, or says clearly that there is none.
func (m *merger) outcomeOrRefuse(id int64) (*MergeOutcome, error) {
	n, err := m.count(`SELECT count(*) FROM customer_merge WHERE merge_id = ?`, id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("undo %d: %w: no merge or split %d (see ckm identity merges)", id, ErrMergeRefused, id)
	}
	return m.outcome(id)
}

// checkSplitUntouched refuses to undo split o when loads since gave its new
// customer rows of its own (facts, keys, explanations, versions): undoing
// would leave them naming a customer that no longer exists. Merging the
// new customer back keeps them.
func (m *merger) checkSplitUntouched(o *MergeOutcome) error {
	extra, err := m.count(`SELECT
		(SELECT count(*) FROM fact_sales WHERE customer_id = $1) + (SELECT count(*) FROM fact_interaction WHERE customer_id = $1)
			+ (SELECT count(*) FROM fact_campaign WHERE customer_id = $1)
			- (SELECT coalesce(sum(rows), 0) FROM etl_customer_merge WHERE merge_id = $2)
		+ (SELECT count(*) FROM etl_identity WHERE customer_id = $1) + (SELECT count(*) FROM identity_link WHERE customer_id = $1)
			- (SELECT coalesce(sum(rows), 0) FROM etl_customer_merge_key WHERE merge_id = $2)
		+ (SELECT count(*) FROM dim_customer WHERE customer_id = $1) - 1
		+ (SELECT count(*) FROM dim_customer WHERE customer_id = $1 AND etl_run_id <> (SELECT run_id FROM customer_merge WHERE merge_id = $2))`,
		o.Other, o.MergeID)
	if err != nil {
		return err
	}
	if extra != 0 {
		return fmt.Errorf("undo %d: %w: loads since the split gave customer %d rows of its own; undoing would orphan them: merge it back instead (ckm identity merge %d %d)",
			o.MergeID, ErrMergeRefused, o.Other, o.Survivor, o.Other)
	}
	return nil
}
