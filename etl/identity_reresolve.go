package etl

import (
	"cmp"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Re-resolving earlier records. A prior record (identity_prior.go) says
// "customer A holds this mobile or e-mail" and ties it to A's ID number;
// that is right when one of A's records carrying the key also carries a
// strong key of A (its CRM row, a till sale with its card) — the holding
// is anchored. When every record of A carrying the key carries only
// mobiles and e-mails, A holds it only because an earlier load linked those
// records to A through a weak key: a soft holding. A household member who
// shopped online with the head's number and their own e-mail before they
// registered is such a case: the first load gave their orders (and their
// e-mail) to the head.
//
// When a record of this load carrying the key also carries an ID number
// that is not A's, the soft holding is not brought in as A's prior record.
// The earlier sale records behind it join the graph as themselves
// (id_early: their time, channel and the keys of this load they carry,
// with negative record ids below the prior records'), and the key no
// longer names A when the load looks for existing customers (knownKeysSQL).
// The one-load rules then judge them with this load's records: the orders
// linked by the member's e-mail go with the member, orders with only a
// shared number go to the holder of the time. Records whose customer
// changes are moved after the customers step (applyReresolution) with the
// merge machinery: a load_split event per (customer, new customer) in
// customer_merge, each record's fact rows and each moved key row in
// etl_customer_merge(_key), so ckm identity undo restores them. The
// contacts and campaign responses of earlier loads that found the customer
// by a soft key that moves (their mobile) move with it in the same event,
// unless a card they carry names a customer (a load finds them by card
// first). Earlier CRM rows are not judged again: one carrying a card or ID
// number of the customer anchors the holding (it is not soft); one
// carrying only mobiles and e-mails stays, its values part of its
// customer's dim_customer history, which a move does not take apart. Only the
// records carrying a soft key met by another ID number are read, so the
// step costs nothing on a load whose records meet no such key.

// earlyRecBase offsets the record ids of earlier records: below every
// prior record's (-1, -2, …) and every record id of this load (positive).
const earlyRecBase = "1000000000000000000"

// softHoldingSQL finds the soft holdings (id_soft: customer_id, key_type,
// key_value as stored) met by another ID number in this load, removes them
// from id_prior_hold, and gathers their earlier sale records (id_early)
// with their edges. It runs inside addPriorRecords, after id_prior_hold and
// id_ltok exist and before the prior records are made.
func softHoldingSQL() []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_soft AS
		WITH lk AS (SELECT e.rec, e.key_type, t.tok FROM id_edge e JOIN id_ltok t USING (key_type, key_value)),
		cand AS (
			SELECT DISTINCT h.customer_id, h.key_type, h.tok
			FROM id_prior_hold h JOIN lk w ON w.key_type = h.key_type AND w.tok = h.tok
			JOIN lk s ON s.rec = w.rec AND s.key_type = 'id_number'
			WHERE h.key_type IN ('mobile', 'email')
				AND h.customer_id IN (SELECT customer_id FROM etl_identity WHERE key_type = 'id_number')
				AND NOT EXISTS (SELECT 1 FROM etl_identity ei
					WHERE ei.key_type = 'id_number' AND ei.key_value = s.tok AND ei.customer_id = h.customer_id)),
		anchor AS (
			SELECT DISTINCT ei.customer_id, r.etl_file_id, r.source_line
			FROM etl_identity ei JOIN etl_record_key r ON r.key_hash = hash(ei.key_type, ei.key_value)
			WHERE ei.key_type IN ('member_card', 'id_number', 'customer_ref') AND ei.customer_id IN (SELECT customer_id FROM cand))
		SELECT c.customer_id, c.key_type, c.tok AS key_value FROM cand c
		WHERE NOT EXISTS (SELECT 1 FROM etl_record_key r JOIN anchor a USING (etl_file_id, source_line)
			WHERE r.key_hash = hash(c.key_type, c.tok) AND a.customer_id = c.customer_id)`,
		`DELETE FROM id_prior_hold h USING id_soft s
		WHERE h.customer_id = s.customer_id AND h.key_type = s.key_type AND h.tok = s.key_value`,
		// The soft holder's sale records carrying the key (every one of them
		// unanchored, or the holding would not be soft).
		`CREATE OR REPLACE TEMP TABLE id_early AS
		WITH r AS (
			SELECT DISTINCT r.etl_file_id, r.source_line, s.customer_id
			FROM id_soft s JOIN etl_record_key r ON r.key_hash = hash(s.key_type, s.key_value))
		SELECT -(` + earlyRecBase + ` + f.etl_file_id * 10000000000 + f.source_line) AS rec,
			f.etl_file_id, f.source_line, any_value(f.customer_id) AS customer_id, min(f.order_ts) AS t,
			any_value(coalesce(ch.channel_code, 'unknown')) AS channel,
			-- The place an order without a store was shipped to (evidence
			-- between tied holders, as its load had it).
			any_value(CASE WHEN f.store_key = -2 AND f.region_key > 0 THEN CAST(f.region_key AS VARCHAR) END) AS region_s,
			any_value(f.store_code) AS store_s
		FROM fact_sales f JOIN r ON r.etl_file_id = f.etl_file_id AND r.source_line = f.source_line AND r.customer_id = f.customer_id
		LEFT JOIN dim_channel ch ON ch.channel_key = f.channel_key
		GROUP BY f.etl_file_id, f.source_line`,
		`INSERT INTO id_src (rec, t, t_from, t_first, n, channel, region_s, store_s) SELECT rec, t, t, t, 1, channel, region_s, store_s FROM id_early`,
		// Their edges: the keys of this load they carry.
		`INSERT INTO id_edge
		SELECT DISTINCT e.rec, t.key_type, t.key_value FROM id_early e
		JOIN etl_record_key r ON r.etl_file_id = e.etl_file_id AND r.source_line = e.source_line
		JOIN id_ltok t ON hash(t.key_type, CAST(t.tok AS VARCHAR)) = r.key_hash`,
	}
}

// reresolvePlanSQL records, once the components have their customers,
// where each earlier record and each soft key now belongs (id_move_rec,
// id_move_key); applyReresolution moves those whose customer changed.
func reresolvePlanSQL() []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_move_rec AS
		SELECT e.etl_file_id, e.source_line, c.customer_id AS to_customer
		FROM id_early e JOIN id_rl r USING (rec) JOIN id_cust c USING (lab)`,
		`CREATE OR REPLACE TEMP TABLE id_move_key AS
		SELECT DISTINCT s.customer_id AS from_customer, hash(s.key_type, s.key_value) AS key_hash, c.customer_id AS to_customer
		FROM id_soft s JOIN id_ltok t ON t.key_type = s.key_type AND t.tok = s.key_value
		JOIN id_key k ON k.key_type = t.key_type AND k.key_value = t.key_value ANTI JOIN id_conflict USING (kid)
		JOIN id_lab l USING (kid) JOIN id_cust c USING (lab)
		WHERE c.customer_id <> s.customer_id`,
	}
}

// reresolveMove is one customer's records and keys moving to another.
type reresolveMove struct{ from, to int64 }

// applyReresolution moves the earlier records and soft keys that this
// load's resolution gives to another customer than the one they have, as
// load_split events. It runs after the customers step, so a customer new
// in this load has its dim_customer version for the moved fact rows to
// point at; a record whose new customer has none (its component holds no
// record of this load) stays where it is.
func (l *loader) applyReresolution() error {
	if l.noPrior {
		// No earlier record or soft key joined the graph (reresolvePlanSQL
		// did not run): nothing moves.
		return nil
	}
	if err := l.execAll("reresolve", []string{
		`CREATE OR REPLACE TEMP TABLE id_move AS
		SELECT DISTINCT f.customer_id AS from_customer, m.to_customer, f.etl_file_id, f.source_line
		FROM id_move_rec m JOIN fact_sales f ON f.etl_file_id = m.etl_file_id AND f.source_line = m.source_line
		WHERE f.customer_id <> m.to_customer
			AND m.to_customer IN (SELECT customer_id FROM dim_customer WHERE is_current)`,
		`CREATE OR REPLACE TEMP TABLE id_move_keys AS
		SELECT DISTINCT k.from_customer, k.to_customer, k.key_hash FROM id_move_key k
		WHERE k.to_customer IN (SELECT customer_id FROM dim_customer WHERE is_current)
			AND EXISTS (SELECT 1 FROM etl_identity ei WHERE ei.customer_id = k.from_customer AND hash(ei.key_type, ei.key_value) = k.key_hash)`,
	}); err != nil {
		return err
	}
	var moves []reresolveMove
	if err := l.scanPairs(`SELECT from_customer, to_customer FROM id_move UNION SELECT from_customer, to_customer FROM id_move_keys`,
		func(a, b int64) { moves = append(moves, reresolveMove{a, b}) }); err != nil {
		return err
	}
	if len(moves) == 0 {
		return nil
	}
	// Contacts and campaign responses of earlier loads that found their
	// customer by a soft key now moving follow the key, as the facts step
	// would give them today: a card they carry comes first (a load finds a
	// contact's customer by its card, else its mobile), so a record naming
	// a card any customer holds stays.
	if err := l.exec("reresolve", `INSERT INTO id_move
		WITH hang AS (
			SELECT DISTINCT r.etl_file_id, r.source_line, k.from_customer, k.to_customer
			FROM etl_record_key r JOIN id_move_keys k USING (key_hash)),
		carded AS (
			SELECT DISTINCT r.etl_file_id, r.source_line FROM etl_record_key r SEMI JOIN hang USING (etl_file_id, source_line)
			WHERE r.key_hash IN (SELECT hash(key_type, key_value) FROM etl_identity WHERE key_type = 'member_card'))
		SELECT DISTINCT h.from_customer, h.to_customer, f.etl_file_id, f.source_line
		FROM (SELECT customer_id, etl_file_id, source_line FROM fact_interaction
			UNION ALL SELECT customer_id, etl_file_id, source_line FROM fact_campaign) f
		JOIN hang h ON h.etl_file_id = f.etl_file_id AND h.source_line = f.source_line AND h.from_customer = f.customer_id
		ANTI JOIN carded c ON c.etl_file_id = f.etl_file_id AND c.source_line = f.source_line`); err != nil {
		return err
	}
	slices.SortFunc(moves, func(a, b reresolveMove) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })
	// One move per customer at a time: the merger's statements join the
	// moves on the customer the rows leave.
	for len(moves) > 0 {
		var round, rest []reresolveMove
		for i, mv := range moves {
			if i > 0 && mv.from == moves[i-1].from {
				rest = append(rest, mv)
				continue
			}
			round = append(round, mv)
		}
		if err := l.moveRound(round); err != nil {
			return err
		}
		moves = rest
	}
	return nil
}

// moveRound carries out moves whose customers left are all different.
func (l *loader) moveRound(round []reresolveMove) error {
	m := &merger{ctx: l.ctx, q: l.tx, runID: l.runID, at: l.opts.AsOf}
	moves := make([]customerMove, len(round))
	pairs := make([]string, len(round))
	for i, mv := range round {
		id, err := m.newEvent("load_split", mv.from, mv.to, sql.NullInt64{})
		if err != nil {
			return err
		}
		moves[i] = customerMove{id, mv.from, mv.to}
		pairs[i] = fmt.Sprintf("(%d, %d)", mv.from, mv.to)
	}
	if err := m.setMoves(moves); err != nil {
		return err
	}
	in := `JOIN (VALUES ` + strings.Join(pairs, ", ") + `) v(f, t) ON m.from_customer = v.f AND m.to_customer = v.t`
	if err := m.execAll(
		`CREATE OR REPLACE TEMP TABLE id_move_recs AS SELECT m.etl_file_id, m.source_line FROM id_move m `+in,
		`CREATE OR REPLACE TEMP TABLE id_move_hashes AS SELECT m.key_hash FROM id_move_keys m `+in); err != nil {
		return err
	}
	if err := m.moveRows("id_move_recs", "id_move_hashes"); err != nil {
		return err
	}
	if err := m.alignMoved(); err != nil {
		return err
	}
	for _, mv := range moves {
		l.logf("identity: earlier records of customer %d moved to customer %d (merge %d): records of this load separate them; ckm identity undo %d reverts it", mv.from, mv.to, mv.id, mv.id)
	}
	return nil
}
