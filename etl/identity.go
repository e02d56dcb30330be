package etl

import "fmt"

// recID is SQL for the record id of a staged row: file and line.
var recID = recIDOf("")

// maxIdentityRounds bounds label propagation; each round crosses one record.
const maxIdentityRounds = 64

// resolveIdentity unifies customers across channels: every normalised
// identifier (member card, resident ID, E.164 mobile, email) of every
// accepted customer-creating record is a node; identifiers on one record
// are connected; each connected component is one customer. Components that
// meet identifiers seen in earlier runs keep that customer id (the smallest
// one if they meet several), so ids are stable across incremental loads;
// new components get new ids in a deterministic order.
func (l *loader) resolveIdentity() error {
	if err := l.execAll("identity", identityGraphSQL()); err != nil {
		return err
	}
	if err := l.propagateLabels(); err != nil {
		return err
	}
	if err := l.assignCustomers(); err != nil {
		return err
	}
	if l.opts.AfterIdentity != nil {
		return l.opts.AfterIdentity(l.ctx, l.tx)
	}
	return nil
}

// execAll runs queries in order as one step.
func (l *loader) execAll(step string, queries []string) error {
	for _, q := range queries {
		if err := l.exec(step, q); err != nil {
			return err
		}
	}
	return nil
}

// identityGraphSQL builds the identifier graph: records, their identifiers
// (the edges), one id per identifier, and every identifier its own label.
func identityGraphSQL() []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_src AS
		SELECT ` + recID + ` AS rec, card, idn, mobile_v, email_v FROM ok_customers
		UNION ALL
		SELECT DISTINCT ` + recID + `, card, idn, mobile_v, email_v FROM ok_sales`,
		`CREATE OR REPLACE TEMP TABLE id_edge AS
		SELECT DISTINCT rec, key_type, key_value FROM (
			SELECT rec, 'member_card' AS key_type, card AS key_value FROM id_src WHERE card IS NOT NULL
			UNION ALL SELECT rec, 'id_number', idn FROM id_src WHERE idn IS NOT NULL
			UNION ALL SELECT rec, 'mobile', mobile_v FROM id_src WHERE mobile_v IS NOT NULL
			UNION ALL SELECT rec, 'email', email_v FROM id_src WHERE email_v IS NOT NULL)`,
		`CREATE OR REPLACE TEMP TABLE id_key AS
		SELECT key_type, key_value, row_number() OVER (ORDER BY key_type, key_value) AS kid
		FROM (SELECT DISTINCT key_type, key_value FROM id_edge)`,
		`CREATE OR REPLACE TEMP TABLE id_rk_all AS SELECT e.rec, k.kid FROM id_edge e JOIN id_key k USING (key_type, key_value)`,
		// Only records carrying two or more identifiers connect anything;
		// most till and web records carry one, so labels propagate over
		// the few that link (CRM rows, web orders with mobile and email).
		`CREATE OR REPLACE TEMP TABLE id_rk AS SELECT rec, kid FROM id_rk_all
		WHERE rec IN (SELECT rec FROM id_rk_all GROUP BY rec HAVING count(*) > 1)`,
		`CREATE OR REPLACE TEMP TABLE id_lab AS SELECT kid, kid AS lab FROM id_key`,
	}
}

// propagateLabels gives every identifier the smallest label of its
// component, one round at a time, failing if it does not converge.
func (l *loader) propagateLabels() error {
	for round := 0; round < maxIdentityRounds; round++ {
		changed, err := l.labelRound()
		if err != nil {
			return err
		}
		if changed == 0 {
			return nil
		}
	}
	return fmt.Errorf("identity: label propagation did not converge in %d rounds", maxIdentityRounds)
}

// labelRound runs one round of label propagation and says how many
// identifiers changed label.
func (l *loader) labelRound() (int64, error) {
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_rl AS
			SELECT rk.rec, min(l.lab) AS lab FROM id_rk rk JOIN id_lab l USING (kid) GROUP BY rk.rec`); err != nil {
		return 0, err
	}
	// New key label: the smallest label of its records, then one pointer jump.
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_lab2 AS
			WITH n AS (SELECT rk.kid, min(r.lab) AS lab FROM id_rk rk JOIN id_rl r USING (rec) GROUP BY rk.kid),
			m AS (SELECT n.kid, least(n.lab, coalesce(j.lab, n.lab)) AS lab FROM n LEFT JOIN n j ON j.kid = n.lab)
			SELECT o.kid, coalesce(m.lab, o.lab) AS lab FROM id_lab o LEFT JOIN m USING (kid)`); err != nil {
		return 0, err
	}
	changed, err := l.count(`SELECT count(*) FROM id_lab2 n JOIN id_lab o USING (kid) WHERE n.lab <> o.lab`)
	if err != nil {
		return 0, fmt.Errorf("identity: %w", err)
	}
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_lab AS SELECT * FROM id_lab2`); err != nil {
		return 0, err
	}
	return changed, nil
}

// assignCustomers gives each component its customer id (an existing one,
// or a new one numbered after the largest), records new identifiers in
// etl_identity and maps every record to its customer.
func (l *loader) assignCustomers() error {
	base, err := l.count(`SELECT coalesce(max(customer_id), 0) FROM etl_identity`)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := l.execAll("identity", customerSQL(base, l.runID)); err != nil {
		return err
	}
	if l.newCustomers, err = l.count(`SELECT count(*) FROM id_cust WHERE is_new`); err != nil {
		return err
	}
	merged, err := l.count(`SELECT count(*) FROM id_comp WHERE n_existing > 1`)
	if err != nil {
		return err
	}
	if merged > 0 {
		l.logf("identity: %d new records link customers that earlier runs kept apart; they were attached to the smallest id", merged)
	}
	return nil
}

// customerSQL assigns customer ids to components: existing ids first, new
// ones from base+1; runID stamps the identifiers recorded.
func customerSQL(base, runID int64) []string {
	return []string{
		`CREATE OR REPLACE TEMP TABLE id_rl AS
		SELECT rk.rec, min(l.lab) AS lab FROM id_rk_all rk JOIN id_lab l USING (kid) GROUP BY rk.rec`,
		`CREATE OR REPLACE TEMP TABLE id_comp AS
		SELECT l.lab, min(ei.customer_id) AS existing, count(DISTINCT ei.customer_id) AS n_existing
		FROM id_lab l JOIN id_key k USING (kid)
		LEFT JOIN etl_identity ei ON ei.key_type = k.key_type AND ei.key_value = k.key_value
		GROUP BY l.lab`,
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE id_cust AS
		SELECT lab, existing AS customer_id, false AS is_new FROM id_comp WHERE existing IS NOT NULL
		UNION ALL
		SELECT lab, %d + row_number() OVER (ORDER BY lab), true FROM id_comp WHERE existing IS NULL`, base),
		fmt.Sprintf(`INSERT INTO etl_identity
		SELECT k.key_type, k.key_value, c.customer_id, %d
		FROM id_key k JOIN id_lab l USING (kid) JOIN id_cust c USING (lab)
		WHERE NOT EXISTS (SELECT 1 FROM etl_identity e WHERE e.key_type = k.key_type AND e.key_value = k.key_value)`, runID),
		`CREATE OR REPLACE TEMP TABLE id_rec AS SELECT r.rec, c.customer_id FROM id_rl r JOIN id_cust c USING (lab)`,
	}
}
