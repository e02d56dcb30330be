package etl

import (
	"fmt"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/privacy/vault"
)

// Prior records: what earlier loads resolved, brought into this load's
// identifier graph so that the conflict rules judge across loads as they
// do within one. For every existing customer holding a key this load's
// records carry (in etl_identity, or refused or linked by time as
// identity_link remembers), the graph gains one record per such key
// (dated by the customer's first and last use of it, or until now for the
// mobile and e-mail its current version holds) and one per ID
// number of the customer, each also carrying the key customer:ID (strong),
// which ties a customer's prior records together. A prior record carries
// the customer's ID number and its name, birth date and region (from its
// current dim_customer version) as evidence, so:
//
//   - a mobile or e-mail an earlier customer holds with one ID number and
//     a record of this load holds with another is conflicted, as if both
//     were in this load;
//   - a one-digit ID typo of an earlier load's ID links with evidence;
//   - a record carrying only a conflicted key joins the holder whose time
//     with it covers the record's, earlier loads' holders included.
//
// Prior records have negative record ids; they link but are no source
// records: id_rec, the explanations and the record keys leave them out.

// priorCustomerKey is the key type tying a customer's prior records.
const priorCustomerKey = "customer"

// knownKeysSQL is SQL for the keys that name an existing customer: those
// of etl_identity but the soft holdings given way (identity_reresolve.go),
// and the customer:ID keys of the prior records.
const knownKeysSQL = `(SELECT key_type, key_value, customer_id FROM etl_identity ANTI JOIN id_soft USING (customer_id, key_type, key_value)
	UNION ALL SELECT DISTINCT '` + priorCustomerKey + `', CAST(customer_id AS VARCHAR), customer_id FROM id_prior_rec)`

// addPriorRecords adds the prior records to id_src and id_edge. It
// reports whether the graph has no strong phase to work out (strongless):
// no earlier customer holds a key of the load and no record of the load
// carries an ID number (see labelStrongless).
func (l *loader) addPriorRecords() (strongless bool, err error) {
	stored := "key_value"
	if l.opts.Vault != nil {
		stored = "CASE WHEN key_type IN " + personalKeyTypes + " THEN ckm_token(key_type, key_value) ELSE key_value END"
	}
	// The channels earlier holders were seen in matter only as this load's
	// records' channels are among them (orphanSQL's same_channel): a
	// mask of this load's channels (channel_mask.go), not list() per
	// holding, whose states DuckDB cannot spill.
	ps, err := l.readChannels()
	if err != nil {
		return false, err
	}
	if err := l.execAll("identity", []string{
		`CREATE OR REPLACE TEMP TABLE id_ltok AS SELECT key_type, key_value, ` + stored + ` AS tok FROM (SELECT DISTINCT key_type, key_value FROM id_edge)`,
		// Earlier customers' holdings of this load's keys, with their times.
		`CREATE OR REPLACE TEMP TABLE id_prior_hold AS
		SELECT customer_id, key_type, key_value AS tok, min(first_seen) AS t0, max(last_seen) AS t1,
			` + priorChannels(ps) + ` AS channels FROM (
			SELECT il.customer_id, il.key_type, il.key_value, il.first_seen, il.last_seen, coalesce(il.channels, []) AS channels
			FROM identity_link il SEMI JOIN id_ltok t ON t.key_type = il.key_type AND t.tok = il.key_value
			UNION ALL
			SELECT ei.customer_id, ei.key_type, ei.key_value, NULL, NULL, []
			FROM etl_identity ei SEMI JOIN id_ltok t ON t.key_type = ei.key_type AND t.tok = ei.key_value)
		WHERE customer_id > 0
		GROUP BY customer_id, key_type, key_value`,
	}); err != nil {
		return false, err
	}
	// No earlier customer holds a key of this load (a first load, or one
	// meeting nobody known): no prior record, no soft holding, no earlier
	// record to judge again — the tables the later steps read, empty, in
	// one call instead of the dozen statements that would find them so.
	// The same read tells whether the load's records carry an ID number.
	var held, idns int64
	if err := l.tx.QueryRowContext(l.ctx, `SELECT (SELECT count(*) FROM id_prior_hold),
		(SELECT count(*) FROM id_edge WHERE key_type = 'id_number')`).Scan(&held, &idns); err != nil {
		return false, fmt.Errorf("identity: %w", err)
	}
	if held == 0 && identityShortcuts {
		l.noPrior = !l.opts.everyStep
		return idns == 0 && !l.opts.everyStep, l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_soft (customer_id BIGINT, key_type VARCHAR, key_value VARCHAR);
		CREATE OR REPLACE TEMP TABLE id_early (rec BIGINT, etl_file_id BIGINT, source_line BIGINT, customer_id BIGINT, t TIMESTAMP, channel VARCHAR, region_s VARCHAR, store_s VARCHAR);
		CREATE OR REPLACE TEMP TABLE id_prior_rec (rec BIGINT, customer_id BIGINT, key_type VARCHAR, key_value VARCHAR, t0 TIMESTAMP, t1 TIMESTAMP, channels VARCHAR[])`)
	}
	if err := l.execAll("identity", []string{
		// A mobile or e-mail that is still the customer's (its current
		// version's, as its last CRM record or sale gave it) is held until
		// now, not only until the last record of an earlier load — unless a
		// later record of this load naming the customer by a strong key
		// gives another one (the customer changed number since).
		`CREATE OR REPLACE TEMP TABLE id_prior_now AS
		WITH cust_rec AS (
			SELECT DISTINCT ei.customer_id, s.t, s.mobile_v, s.email_v
			FROM id_edge e JOIN id_ltok t ON t.key_type = e.key_type AND t.key_value = e.key_value
			JOIN etl_identity ei ON ei.key_type = t.key_type AND ei.key_value = t.tok
			JOIN id_src s ON s.rec = e.rec
			WHERE e.key_type IN ('member_card', 'id_number', 'customer_ref') AND (s.mobile_v IS NOT NULL OR s.email_v IS NOT NULL)),
		current AS (
			SELECT h.customer_id, h.key_type, h.tok, h.t1, own.key_value
			FROM id_prior_hold h JOIN dim_customer d ON d.customer_id = h.customer_id AND d.is_current
			JOIN id_ltok own ON own.key_type = h.key_type AND own.tok = h.tok
			WHERE h.t1 IS NOT NULL AND (h.key_type = 'mobile' AND d.mobile = h.tok OR h.key_type = 'email' AND d.email = h.tok)),
		changed AS (
			SELECT DISTINCT c.customer_id, c.key_type, c.tok FROM current c JOIN cust_rec r ON r.customer_id = c.customer_id AND r.t > c.t1
			WHERE CASE c.key_type WHEN 'mobile' THEN r.mobile_v ELSE r.email_v END <> c.key_value)
		SELECT customer_id, key_type, tok FROM current EXCEPT SELECT * FROM changed`,
		`UPDATE id_prior_hold h SET t1 = greatest(h.t1, ` + tsLiteral(l.opts.AsOf) + `)
		FROM id_prior_now n WHERE n.customer_id = h.customer_id AND n.key_type = h.key_type AND n.tok = h.tok`,
	}); err != nil {
		return false, err
	}
	// Soft holdings give way to their records (identity_reresolve.go).
	if err := l.execAll("identity", softHoldingSQL()); err != nil {
		return false, err
	}
	if err := l.execAll("identity", []string{
		// Their ID numbers, with the raw value where this load has it.
		`CREATE OR REPLACE TEMP TABLE id_prior_id AS
		SELECT ei.customer_id, ei.key_value AS tok, t.key_value AS idn
		FROM etl_identity ei LEFT JOIN id_ltok t ON t.key_type = 'id_number' AND t.tok = ei.key_value
		WHERE ei.key_type = 'id_number' AND ei.customer_id IN (SELECT customer_id FROM id_prior_hold)`,
	}); err != nil {
		return false, err
	}
	if l.opts.Vault != nil {
		if err := l.openPriorIDs(l.opts.Vault); err != nil {
			return false, err
		}
	} else if err := l.execAll("identity", []string{
		`UPDATE id_prior_id SET idn = tok WHERE idn IS NULL`,
		`CREATE OR REPLACE TEMP TABLE id_prior_name (tok VARCHAR, raw VARCHAR)`,
	}); err != nil {
		return false, err
	}
	return false, l.execAll("identity", []string{
		`CREATE OR REPLACE TEMP TABLE id_prior_rec AS
		SELECT -row_number() OVER (ORDER BY customer_id, key_type, key_value) AS rec, * FROM (
			SELECT customer_id, key_type, key_value, min(t0) AS t0, max(t1) AS t1, ` + priorChannels(ps) + ` AS channels FROM (
				SELECT h.customer_id, h.key_type, t.key_value, h.t0, h.t1, h.channels
				FROM id_prior_hold h JOIN id_ltok t ON t.key_type = h.key_type AND t.tok = h.tok
				UNION ALL
				SELECT customer_id, 'id_number', idn, NULL, NULL, [] FROM id_prior_id WHERE idn IS NOT NULL)
			GROUP BY customer_id, key_type, key_value)`,
		// Undated holdings (etl_identity only) count as long ago: they never
		// win a record by time.
		`INSERT INTO id_src (rec, card, idn, t, t_from, t_first, n, channel, name_key, birth_in, region_in)
		SELECT p.rec, CASE WHEN p.key_type = 'member_card' THEN p.key_value END,
			CASE WHEN p.key_type = 'id_number' THEN p.key_value ELSE i.idn END,
			coalesce(p.t1, TIMESTAMP '1900-01-01'), coalesce(p.t0, TIMESTAMP '1900-01-01'), coalesce(p.t0, TIMESTAMP '1900-01-01'), 1, 'prior',
			` + nameKeySQL("coalesce(pn.raw, d.name)") + `, d.birth_date, d.region_code
		FROM id_prior_rec p
		LEFT JOIN (SELECT customer_id, min(idn) AS idn FROM id_prior_id GROUP BY customer_id) i USING (customer_id)
		LEFT JOIN dim_customer d ON d.customer_id = p.customer_id AND d.is_current
		LEFT JOIN id_prior_name pn ON pn.tok = d.name`,
		`INSERT INTO id_edge SELECT rec, key_type, key_value FROM id_prior_rec
		UNION ALL SELECT rec, '` + priorCustomerKey + `', CAST(customer_id AS VARCHAR) FROM id_prior_rec`,
	})
}

// openPriorIDs decrypts, in memory, the ID numbers and names of the prior
// customers this load does not carry itself (a protected warehouse stores
// tokens), so the ID typo rule can compare their digits and names. The raw
// values live only in this load's TEMP tables, as the load's own raw values
// do; nothing decrypted is written to the warehouse.
func (l *loader) openPriorIDs(v *vault.Vault) error {
	if err := l.openTokens(v, "earlier ID numbers", `SELECT DISTINCT ON (p.tok) p.tok, s.customer_id, k.wrapped_key, s.sealed
		FROM id_prior_id p JOIN vault_value s ON s.token = p.tok JOIN vault_customer_key k ON k.customer_id = s.customer_id
		WHERE p.idn IS NULL AND k.wrapped_key IS NOT NULL ORDER BY p.tok, s.customer_id`,
		`UPDATE id_prior_id SET idn = r.raw FROM id_opened r WHERE id_prior_id.tok = r.tok`); err != nil {
		return err
	}
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_prior_name AS
		SELECT DISTINCT d.name AS tok, CAST(NULL AS VARCHAR) AS raw FROM dim_customer d
		WHERE d.is_current AND d.name IS NOT NULL AND d.customer_id IN (SELECT customer_id FROM id_prior_hold)`); err != nil {
		return err
	}
	return l.openTokens(v, "earlier names", `SELECT DISTINCT ON (p.tok) p.tok, s.customer_id, k.wrapped_key, s.sealed
		FROM id_prior_name p JOIN vault_value s ON s.token = p.tok JOIN vault_customer_key k ON k.customer_id = s.customer_id
		WHERE k.wrapped_key IS NOT NULL ORDER BY p.tok, s.customer_id`,
		`UPDATE id_prior_name SET raw = r.raw FROM id_opened r WHERE id_prior_name.tok = r.tok`)
}

// openTokens unseals the (token, customer, wrapped key, sealed value) rows
// of query and writes each token's raw value into a TEMP table with update,
// a statement that reads the pairs from id_opened (tok, raw).
//
// The pairs go into id_opened by appends of openBatch rows and then into
// their table by one UPDATE: an UPDATE per batch scanned the whole table
// each time, quadratic in the prior holders (the increment of the 5 M
// bench: ~18 CPU s, half the protected identity step).
func (l *loader) openTokens(v *vault.Vault, what, query, update string) error {
	t0 := time.Now()
	c0, _ := ProcessCPU()
	rows, err := l.tx.QueryContext(l.ctx, query)
	if err != nil {
		return fmt.Errorf("identity: %s: %w", what, err)
	}
	var toks, raws []string
	for rows.Next() {
		var tok string
		var cust int64
		var wrapped, sealed []byte
		if err := rows.Scan(&tok, &cust, &wrapped, &sealed); err != nil {
			rows.Close()
			return fmt.Errorf("identity: %s: %w", what, err)
		}
		raw, err := v.Unseal(cust, wrapped, tok, sealed)
		if err != nil {
			rows.Close()
			return fmt.Errorf("identity: %s: %w", what, err)
		}
		toks, raws = append(toks, tok), append(raws, raw)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if l.opts.Trace != nil {
		cpu := ""
		if c1, ok := ProcessCPU(); ok {
			cpu = fmt.Sprintf(" cpu %.3fs", (c1 - c0).Seconds())
		}
		fmt.Fprintf(l.opts.Trace, "%8.3fs identity read and unseal %s (%d)%s\n", time.Since(t0).Seconds(), what, len(toks), cpu)
	}
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_opened (tok VARCHAR, raw VARCHAR)`); err != nil {
		return err
	}
	for i := 0; i < len(toks); i += openBatch {
		j := min(i+openBatch, len(toks))
		args := make([]any, 0, 2*(j-i))
		for k := i; k < j; k++ {
			args = append(args, toks[k], raws[k])
		}
		q := `INSERT INTO id_opened VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?), ", j-i), ", ")
		if err := l.exec("identity", q, args...); err != nil {
			return fmt.Errorf("identity: %s: %w", what, err)
		}
	}
	if len(toks) == 0 {
		return nil
	}
	return l.exec("identity", update)
}

// openBatch is how many (token, raw) pairs one INSERT of openTokens carries.
const openBatch = 1000

// priorChannels aggregates the lists of channels of earlier holdings
// (channels): with a channel set, into a mask of it, given back as the
// list of its channels; without, into the distinct channels of the lists.
func priorChannels(cs *channelSet) string {
	if cs == nil {
		return "list_distinct(flatten(list(channels)))"
	}
	return cs.list("bit_or(list_aggregate(list_transform(channels, c -> " + cs.bitIn("c") + "), 'bit_or'))")
}
