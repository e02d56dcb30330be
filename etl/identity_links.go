package etl

import "fmt"

// identityLinkSQL records why each customer's records of this load are
// together (identity_link, read by ckm identity explain): per customer and
// key, the rule that used or refused the key, how many records carry it
// and when, and the channels of the records that gave it (a mobile or
// e-mail: without another mobile or e-mail, as the holder rule of orphanSQL
// counts them). The key is stored as id_tok holds it (a token on a protected
// warehouse) with its masked display value; an ID typo's detail names the
// other ID masked.
func identityLinkSQL(runID int64) string {
	return fmt.Sprintf(`INSERT INTO identity_link (run_id, customer_id, key_type, key_value, rule, detail, records, first_seen, last_seen, key_display, channels)
	WITH rk AS (
		SELECT e.rec, e.kid, k.key_type, k.key_value, t.tok, t.disp, k.weak, r.customer_id, s.t, s.channel,
			e.kid IN (SELECT kid FROM id_conflict) AS conflicted, o.alone,
			k.weak AND e.rec IN (SELECT rec FROM id_rk_all WHERE weak GROUP BY rec HAVING count(*) > 1) AS paired
		FROM id_rk_all e JOIN id_key k USING (kid) JOIN id_tok t USING (kid) JOIN id_rec r USING (rec) JOIN id_src s USING (rec)
		LEFT JOIN id_orphan o USING (rec)),
	holders AS (
		SELECT kid, list(DISTINCT customer_id ORDER BY customer_id) AS customers FROM (
			SELECT kid, customer_id FROM rk WHERE conflicted
			UNION ALL
			SELECT e.kid, p.customer_id FROM id_rk_all e JOIN id_prior_rec p USING (rec) SEMI JOIN id_conflict USING (kid))
		GROUP BY kid),
	typo AS (
		SELECT key_value, string_agg(ckm_mask_id_number(other), ', ' ORDER BY other) AS of FROM (
			SELECT id_b AS key_value, id_a AS other FROM id_typo
			UNION SELECT id_a, id_b FROM id_typo WHERE id_b NOT IN (SELECT key_value FROM id_key WHERE key_type = 'id_number' AND kid IN (SELECT kid FROM id_rk_all WHERE rec > 0))) GROUP BY key_value),
	classed AS (
		SELECT rk.*, CASE
			WHEN conflicted AND alone THEN 'shared_alone'
			WHEN conflicted AND alone IS NOT NULL THEN 'shared_by_time'
			WHEN conflicted THEN 'shared'
			WHEN key_type = 'id_number' AND key_value IN (SELECT key_value FROM typo) THEN 'id_typo'
			WHEN weak THEN 'weak'
			ELSE 'strong' END AS rule
		FROM rk)
	SELECT %d, c.customer_id, c.key_type, c.tok, c.rule,
		CASE WHEN c.rule = 'id_typo' THEN 'one digit from ' || any_value(t.of)
			WHEN c.conflicted THEN 'also held by customers ' ||
				array_to_string(list_filter(any_value(h.customers), x -> x <> c.customer_id), ', ') END,
		count(*), min(c.t), max(c.t), c.disp, coalesce(list(DISTINCT c.channel ORDER BY c.channel) FILTER (WHERE NOT c.paired), [])
	FROM classed c LEFT JOIN typo t USING (key_value) LEFT JOIN holders h USING (kid)
	GROUP BY c.customer_id, c.kid, c.key_type, c.key_value, c.tok, c.disp, c.rule, c.conflicted`, runID)
}

// stronglessLinkSQL is identityLinkSQL for a graph labelled by
// labelStrongless: no key is conflicted, no record left alone, no ID typo
// accepted and no ID number there to be one, so every key's rule is weak
// (a mobile or e-mail) or strong and there is no detail; the channels are
// those of its records but a mobile's or e-mail's records giving another.
// The same rows in one join and a GROUP BY, without the holders, typos
// and rules to work out.
func stronglessLinkSQL(runID int64) string {
	return fmt.Sprintf(`INSERT INTO identity_link (run_id, customer_id, key_type, key_value, rule, detail, records, first_seen, last_seen, key_display, channels)
	WITH paired AS (SELECT rec FROM id_rk_all WHERE weak GROUP BY rec HAVING count(*) > 1)
	SELECT %d, r.customer_id, k.key_type, t.tok, CASE WHEN k.weak THEN 'weak' ELSE 'strong' END, CAST(NULL AS VARCHAR),
		count(*), min(s.t), max(s.t), t.disp,
		coalesce(list(DISTINCT s.channel ORDER BY s.channel) FILTER (WHERE NOT (k.weak AND p.rec IS NOT NULL)), [])
	FROM id_rk_all e JOIN id_key k USING (kid) JOIN id_tok t USING (kid) JOIN id_rec r USING (rec) JOIN id_src s USING (rec)
	LEFT JOIN paired p USING (rec)
	GROUP BY r.customer_id, e.kid, k.key_type, k.key_value, t.tok, t.disp, k.weak`, runID)
}

// recordKeySQL records which identifiers each source record of the load
// carried (etl_record_key), as a hash of key type and value: customer
// records and sales lines as resolved, and the card and mobile by which
// contacts and campaign responses find their customer. A split
// (merge_steward.go) moves the records carrying the keys it names.
func (l *loader) recordKeySQL() string {
	// The hash is of the stored form, as etl_identity holds it and a split
	// names it: id_tok's token for the resolved records' keys, computed
	// once per key, and the contacts' and responses' mobiles tokenised once
	// per distinct mobile. On an unprotected warehouse id_tok's tok is the
	// key's value (identityTokenSQL) and a mobile is stored as it is.
	mobileTok := "key_value"
	if l.opts.Vault != nil {
		mobileTok = "ckm_token('mobile', key_value)"
	}
	resolved := `INSERT INTO etl_record_key
	SELECT DISTINCT e.rec // 10000000000, e.rec % 10000000000, h.h
	FROM id_rk_all e JOIN (SELECT k.kid, hash(k.key_type, CAST(t.tok AS VARCHAR)) AS h FROM id_key k JOIN id_tok t USING (kid)) h USING (kid)
	WHERE e.rec > 0`
	if l.idle["interactions"] && l.idle["responses"] {
		// No contact or campaign response in the load (everyTarget reads
		// their empty tables): the resolved records' keys alone.
		return resolved
	}
	return `INSERT INTO etl_record_key
	WITH c AS (
		SELECT file_id, _line, 'member_card' AS key_type, card AS key_value FROM ok_interactions WHERE card IS NOT NULL
		UNION ALL SELECT file_id, _line, 'mobile', mobile_v FROM ok_interactions WHERE mobile_v IS NOT NULL
		UNION ALL SELECT file_id, _line, 'member_card', card FROM ok_responses WHERE card IS NOT NULL
		UNION ALL SELECT file_id, _line, 'mobile', mobile_v FROM ok_responses WHERE mobile_v IS NOT NULL)
	SELECT DISTINCT e.rec // 10000000000, e.rec % 10000000000, h.h
	FROM id_rk_all e JOIN (SELECT k.kid, hash(k.key_type, CAST(t.tok AS VARCHAR)) AS h FROM id_key k JOIN id_tok t USING (kid)) h USING (kid)
	WHERE e.rec > 0
	UNION ALL
	SELECT DISTINCT file_id, _line, hash(key_type, CAST(key_value AS VARCHAR)) FROM c WHERE key_type <> 'mobile'
	UNION ALL
	-- A mobile's hash differs from a card's (the key type is hashed too):
	-- the two DISTINCTs find what one over both would.
	SELECT DISTINCT c.file_id, c._line, hash(c.key_type, CAST(ct.tok AS VARCHAR))
	FROM c JOIN (SELECT key_value, ` + mobileTok + ` AS tok FROM (SELECT DISTINCT key_value FROM c WHERE key_type = 'mobile')) ct
		ON ct.key_value = c.key_value
	WHERE c.key_type = 'mobile'`
}
