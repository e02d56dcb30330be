package vault

import (
	"context"
	"fmt"

	"github.com/ckm-dev/ckm/engine"
)

// personalKinds is SQL for the identity key types that are personal data.
const personalKinds = "('id_number', 'mobile', 'email')"

// sealedKinds is SQL for the kinds sealed in vault_value: the personal
// identity keys and the names of dim_customer.
const sealedKinds = "('id_number', 'mobile', 'email', 'name')"

// maskSQL is SQL for the mask of a raw value of the kind in column kind.
func maskSQL(kind, value string) string {
	return fmt.Sprintf(`CASE %[1]s WHEN 'id_number' THEN ckm_mask_id_number(%[2]s) WHEN 'mobile' THEN ckm_mask_mobile(%[2]s)
		WHEN 'email' THEN ckm_mask_email(%[2]s) WHEN 'name' THEN ckm_mask_name(%[2]s) ELSE %[2]s END`, kind, value)
}

// Protect converts a warehouse loaded in the clear, in db (the caller's
// transaction, after Init gave it a data key and Register the vault's
// functions): every customer gets a key sealing their raw values; the
// identity map, its links, dim_customer and the contact and response keys
// hold tokens (and masks) instead of raw values; the reject ledger's raw
// texts are sealed. The old values stay in the file's freed blocks until
// it is rewritten whole (engine.Rewrite), which the caller does next.
func Protect(ctx context.Context, db Querier) error {
	steps := []string{
		`CREATE OR REPLACE TEMP TABLE ckm_protect_pv AS
		SELECT DISTINCT customer_id, kind, value FROM (
			SELECT customer_id, 'id_number' AS kind, id_number AS value FROM dim_customer
			UNION ALL SELECT customer_id, 'mobile', mobile FROM dim_customer
			UNION ALL SELECT customer_id, 'email', email FROM dim_customer
			UNION ALL SELECT customer_id, 'name', name FROM dim_customer
			UNION ALL SELECT customer_id, key_type, key_value FROM etl_identity
			UNION ALL SELECT customer_id, key_type, key_value FROM identity_link)
		WHERE customer_id > 0 AND value IS NOT NULL AND kind IN ` + sealedKinds,
		`INSERT INTO vault_customer_key (customer_id, wrapped_key)
		SELECT customer_id, ckm_new_customer_key(customer_id) FROM (SELECT DISTINCT customer_id FROM ckm_protect_pv)`,
		`INSERT INTO vault_value (token, customer_id, kind, sealed)
		SELECT tok, p.customer_id, kind, ckm_seal(p.customer_id, k.wrapped_key, tok, value)
		FROM (SELECT *, ckm_token(kind, value) AS tok FROM ckm_protect_pv) p JOIN vault_customer_key k USING (customer_id)`,
		`INSERT INTO vault_display (token, kind, display)
		SELECT DISTINCT ckm_token(kind, value), kind, ` + maskSQL("kind", "value") + ` FROM (SELECT DISTINCT kind, value FROM ckm_protect_pv)`,
		`CREATE OR REPLACE TEMP TABLE ckm_protect_ei AS
		SELECT * REPLACE (ckm_token(key_type, key_value) AS key_value) FROM etl_identity WHERE key_type IN ` + personalKinds,
		`DELETE FROM etl_identity WHERE key_type IN ` + personalKinds,
		`INSERT INTO etl_identity SELECT * FROM ckm_protect_ei`,
		`UPDATE identity_link SET key_display = coalesce(key_display, ` + maskSQL("key_type", "key_value") + `),
			key_value = CASE WHEN key_type IN ` + personalKinds + ` THEN ckm_token(key_type, key_value) ELSE key_value END,
			detail = regexp_replace(detail, '([0-9]{6})[0-9]{11}[0-9Xx]', '\1************', 'g')`,
		`UPDATE fact_interaction SET interaction_id = ckm_token('mobile', split_part(interaction_id, '|', 1)) || substr(interaction_id, strpos(interaction_id, '|'))
		WHERE strpos(interaction_id, '|') > 1`,
		`UPDATE fact_campaign SET response_id = split_part(response_id, '|', 1) || '|' || ckm_token('mobile', substr(response_id, strpos(response_id, '|') + 1))
		WHERE strpos(response_id, '|') > 0 AND strpos(response_id, '|') < length(response_id)`,
		`UPDATE etl_reject SET raw_value = CASE WHEN raw_value IS NULL OR starts_with(raw_value, '` + ledgerPrefix + `') THEN raw_value ELSE ckm_seal_text(raw_value) END,
			raw_record = CASE WHEN raw_record IS NULL OR starts_with(raw_record, '` + ledgerPrefix + `') THEN raw_record ELSE ckm_seal_text(raw_record) END`,
		`DROP TABLE ckm_protect_pv`,
		`DROP TABLE ckm_protect_ei`,
	}
	for i, q := range steps {
		if i == 4 {
			if err := engine.TokeniseCustomers(ctx, db); err != nil {
				return err
			}
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("protect the warehouse (step %d): %w", i+1, err)
		}
	}
	// Every key of the tables it wrote is held once (no primary key checks
	// them since schema version 22).
	if err := engine.CheckKeysHeldOnce(ctx, db, 0); err != nil {
		return fmt.Errorf("protect the warehouse: %w", err)
	}
	// The lake's change record: both fact tables changed anywhere.
	for _, table := range []string{"fact_interaction", "fact_campaign"} {
		if err := engine.RecordChange(ctx, db, "protect", table); err != nil {
			return fmt.Errorf("protect the warehouse: %w", err)
		}
	}
	return nil
}
