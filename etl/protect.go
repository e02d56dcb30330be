package etl

import (
	"context"
	"fmt"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// checkVault refuses a load that would write personal data in the clear
// into a protected warehouse (no key given), or that names a key for a
// warehouse without a data key; with a key it registers the vault's write
// functions.
func checkVault(ctx context.Context, w *engine.Warehouse, v *vault.Vault) error {
	protected, err := vault.Protected(ctx, w.DB)
	if err != nil {
		return err
	}
	switch {
	case protected && v == nil:
		return fmt.Errorf("load into %s: %w", w.Path, vault.ErrNoKey)
	case !protected && v != nil:
		return fmt.Errorf("load into %s: a key was given but %w", w.Path, vault.ErrNotProtected)
	case v != nil:
		return vault.Register(ctx, w, v)
	}
	return nil
}

// personalKeyTypes are the identity key types that are personal data:
// stored as tokens (with a masked display value) on a protected warehouse.
const personalKeyTypes = "('id_number', 'mobile', 'email')"

// keyToken is SQL for what the warehouse stores of the raw value expr of
// kind (id_number, mobile or email): its token on a protected warehouse,
// else the value.
func (l *loader) keyToken(kind, expr string) string {
	if l.opts.Vault == nil {
		return expr
	}
	return fmt.Sprintf("ckm_token('%s', %s)", kind, expr)
}

// loadToken is keyToken's value of the raw value expr of kind (id_number,
// mobile or email) looked up in id_ltok, the tokens identity resolution
// computed once of every key of this load's customer and sales records,
// instead of one ckm_token call per row: sel is the SQL of the stored
// form, join the LEFT JOIN (aliased alias) it reads. A value id_ltok
// lacks is tokenised as keyToken does, so the result is keyToken's
// whatever the table holds. Without a vault the value is stored as it
// is: no join.
func (l *loader) loadToken(kind, expr, alias string) (sel, join string) {
	if l.opts.Vault == nil || l.opts.everyStep {
		return l.keyToken(kind, expr), ""
	}
	join = fmt.Sprintf("\n\tLEFT JOIN id_ltok %[1]s ON %[1]s.key_type = '%[2]s' AND %[1]s.key_value = %[3]s", alias, kind, expr)
	return tokenOrCall(alias+".tok", kind, expr), join
}

// tokenOrCall is SQL for the token found (tok, NULL when not found) of the
// raw value expr, else the token ckm_token gives it; NULL for a NULL value,
// as ckm_token gives.
func tokenOrCall(tok, kind, expr string) string {
	return fmt.Sprintf("CASE WHEN %[1]s IS NOT NULL THEN %[1]s WHEN %[3]s IS NOT NULL THEN ckm_token('%[2]s', %[3]s) END", tok, kind, expr)
}

// identityTokenSQL builds id_tok: each identity key's stored form (tok: a
// token for personal keys on a protected warehouse) and its masked display
// value. The resolver works on raw values in its TEMP tables; only tok and
// disp are written to etl_identity and identity_link.
//
// The tokens of the load's own keys were computed once already, in id_ltok
// (identity_prior.go), and id_key keeps them (ltok, identityKeySQL): only
// the keys the prior records brought (an earlier customer's ID number
// opened from its seal) are tokenised here. The full path (everyStep)
// looks them up in id_ltok.
func (l *loader) identityTokenSQL() string {
	tok, from := "k.key_value", "id_key k"
	switch {
	case l.opts.Vault != nil && l.opts.everyStep:
		tok = "CASE WHEN k.key_type IN " + personalKeyTypes + " THEN coalesce(t.tok, ckm_token(k.key_type, k.key_value)) ELSE k.key_value END"
		from += " LEFT JOIN id_ltok t ON t.key_type = k.key_type AND t.key_value = k.key_value"
	case l.opts.Vault != nil:
		tok = "CASE WHEN k.key_type IN " + personalKeyTypes + " THEN coalesce(k.ltok, ckm_token(k.key_type, k.key_value)) ELSE k.key_value END"
	}
	return `CREATE OR REPLACE TEMP TABLE id_tok AS
	SELECT k.kid, ` + tok + ` AS tok, ` + keyDisplaySQL("k.key_type", "k.key_value") + ` AS disp FROM ` + from
}

// keyDisplaySQL is SQL for the masked display value of an identity key.
func keyDisplaySQL(typeCol, valueCol string) string {
	return fmt.Sprintf(`CASE %[1]s WHEN 'id_number' THEN ckm_mask_id_number(%[2]s) WHEN 'mobile' THEN ckm_mask_mobile(%[2]s)
		WHEN 'email' THEN ckm_mask_email(%[2]s) ELSE %[2]s END`, typeCol, valueCol)
}

// sealValues gives every customer this load resolved a key of their own
// (if they have none) and seals under it each raw personal key of their
// records and each name their CRM records give them (dim_customer holds the
// name's token on a protected warehouse), when not sealed before: the only
// place raw ID numbers, mobiles, e-mails and names are kept on a protected
// warehouse. The masked display of each token goes to vault_display, which
// the analyst's dim_customer shows in place of the token.
//
// The (customer, key) pairs to seal are the personal keys of this run's
// identity_link rows (identityLinkSQL): a row or a few per customer and key
// of the load's records, as a DISTINCT over every record's keys finds them,
// without joining the records again. Their raw values are id_ltok's, which
// holds every key of the load's own records by token. The names are sealed
// and displayed in the same two statements as the keys (cust_names).
//
// The full path (everyStep) seals the keys from every record's keys and
// the names in the customers step, in statements of their own (sealNames).
func (l *loader) sealValues() error {
	if l.opts.Vault == nil {
		return nil
	}
	customerKeys := fmt.Sprintf(`INSERT INTO vault_customer_key (customer_id, wrapped_key, run_id)
		SELECT customer_id, ckm_new_customer_key(customer_id), %d
		FROM (SELECT DISTINCT customer_id FROM id_grec ANTI JOIN vault_customer_key USING (customer_id))`, l.runID)
	keyDisplays := `SELECT DISTINCT t.tok, k.key_type AS kind, t.disp FROM id_key k JOIN id_tok t USING (kid)
		WHERE k.key_type IN ` + personalKeyTypes
	if l.opts.everyStep {
		return l.execAll("identity", []string{
			customerKeys,
			fmt.Sprintf(`INSERT INTO vault_value (token, customer_id, kind, sealed, run_id)
			SELECT p.tok, p.customer_id, p.key_type, ckm_seal(p.customer_id, ck.wrapped_key, p.tok, p.key_value), %d
			FROM (SELECT d.customer_id, k.key_type, k.key_value, t.tok
				FROM (SELECT DISTINCT r.customer_id, e.kid FROM id_rk_all e JOIN id_grec r USING (rec)) d
				JOIN id_key k USING (kid) JOIN id_tok t USING (kid)
				WHERE k.key_type IN `+personalKeyTypes+`) p
			JOIN vault_customer_key ck USING (customer_id)
			ANTI JOIN vault_value v ON v.token = p.tok AND v.customer_id = p.customer_id`, l.runID),
			`INSERT INTO vault_display (token, kind, display)
			SELECT * FROM (` + keyDisplays + `) WHERE tok NOT IN (SELECT token FROM vault_display)`,
		})
	}
	return l.execAll("identity", []string{
		customerKeys,
		custNamesSQL,
		// Key and name tokens differ in their prefix: one anti join does
		// for both.
		// Sealed in customer order: the vault keeps the ciphers of the
		// last 4,096 customers, and in hash order most seals missed and
		// made one (BenchmarkSeal: ~3.5 µs a seal against ~0.85 µs; the
		// 5 M load's 823,136 seals 4.5 s, 6.6 CPU s, in hash order, 3.5 s
		// and 5.3 in customer order).
		fmt.Sprintf(`INSERT INTO vault_value (token, customer_id, kind, sealed, run_id)
		SELECT tok, customer_id, kind, ckm_seal(customer_id, wrapped_key, tok, raw), %[1]d FROM (
			SELECT p.tok, p.customer_id, p.kind, ck.wrapped_key, p.raw
			FROM (
				SELECT p.tok, p.customer_id, p.key_type AS kind, t.key_value AS raw
				FROM (SELECT DISTINCT customer_id, key_type, key_value AS tok FROM identity_link
					WHERE run_id = %[1]d AND key_type IN `+personalKeyTypes+`) p
				JOIN id_ltok t ON t.key_type = p.key_type AND t.tok = p.tok
				UNION ALL
				SELECT tok, customer_id, 'name', name FROM cust_names) p
			JOIN vault_customer_key ck USING (customer_id)
			ANTI JOIN vault_value v ON v.token = p.tok AND v.customer_id = p.customer_id
			ORDER BY p.customer_id)`, l.runID),
		`INSERT INTO vault_display (token, kind, display)
		SELECT * FROM (
			` + keyDisplays + `
			UNION ALL
			SELECT tok, 'name', any_value(ckm_mask_name(name)) FROM cust_names GROUP BY tok)
		-- NOT IN as the full path has it, as an anti join: NOT IN hashed
		-- every token of vault_display (~45 ms CPU of a 10-line load at
		-- 100,000 customers, against ~13 ms); token is never NULL (held
		-- once: engine.UniqueKeys), and a NULL tok is left out as NOT IN
		-- leaves it.
		WHERE tok IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vault_display v WHERE v.token = tok)`,
	})
}

// custNamesSQL makes cust_names: each (customer, name) the CRM records of
// the load give, with the name's token. Each distinct name is tokenised
// once, not once per CRM record. It stays for cust_ev, which reads the
// names' tokens there (loadCustomers drops it).
var custNamesSQL = `CREATE OR REPLACE TEMP TABLE cust_names AS
		WITH n AS (SELECT DISTINCT r.customer_id, c.name_v AS name
			FROM ok_customers c JOIN id_grec r ON r.rec = ` + recIDOf("c") + ` WHERE c.name_v IS NOT NULL),
		t AS (SELECT name, ckm_token('name', name) AS tok FROM (SELECT DISTINCT name FROM n))
		SELECT n.customer_id, n.name, t.tok FROM n JOIN t USING (name)`

// sealNames, on the full path (everyStep), seals under each customer's
// key the names the CRM records of this load give them and keeps each
// token's masked display in vault_display, in the customers step (the
// keys sealValues gave every customer of the load are there already);
// otherwise sealValues did it.
func (l *loader) sealNames() error {
	if l.opts.Vault == nil || !l.opts.everyStep {
		return nil
	}
	return l.execAll("customers", []string{
		custNamesSQL,
		fmt.Sprintf(`INSERT INTO vault_value (token, customer_id, kind, sealed, run_id)
		SELECT n.tok, n.customer_id, 'name', ckm_seal(n.customer_id, ck.wrapped_key, n.tok, n.name), %d
		FROM cust_names n JOIN vault_customer_key ck USING (customer_id)
		ANTI JOIN vault_value v ON v.token = n.tok AND v.customer_id = n.customer_id`, l.runID),
		`INSERT INTO vault_display (token, kind, display)
		SELECT tok, 'name', any_value(ckm_mask_name(name)) FROM cust_names
		WHERE tok NOT IN (SELECT token FROM vault_display) GROUP BY tok`,
	})
}

// ledgerText is SQL for what the reject ledger stores of a raw value or
// record expr: sealed with the ledger key on a protected warehouse.
func (l *loader) ledgerText(expr string) string {
	if l.opts.Vault == nil {
		return expr
	}
	return "ckm_seal_text(" + expr + ")"
}
