package etl

import "fmt"

// identityLinkSQL records why each customer's records of this load are
// together (identity_link, read by ckm identity explain): per customer and
// key, the rule that used or refused the key, how many records carry it
// and when, and the channels of the records that gave it (a mobile or
// e-mail: without another mobile or e-mail, as the holder rule of orphanSQL
// counts them). The key is stored as id_tok holds it (a token on a protected
// warehouse) with its masked display value; an ID typo's detail names the
// other ID masked. The channels are collected as a mask when cs is not
// nil (channel_mask.go), with list() when it is.
func identityLinkSQL(runID int64, cs *channelSet) string {
	// Aggregated per customer and key id (with a list of channels: per
	// customer, key id and channel first, then per customer and key id),
	// and the key's strings joined last: a 5 million line load
	// spent 14 CPU s grouping its 4.9 million record keys by their strings
	// with a DISTINCT, ordered list of channels, and scanning them
	// materialised three times (holders read them too): 16.3 s wall, 26.0
	// CPU s for the statement; this one 10.8 s, 16.7 CPU s, the same
	// 825,397 rows (compared with EXCEPT ALL both ways there and on every
	// identity test's load).
	return fmt.Sprintf(`INSERT INTO identity_link (run_id, customer_id, key_type, key_value, rule, detail, records, first_seen, last_seen, key_display, channels)
	WITH typo AS (
		SELECT key_value, string_agg(ckm_mask_id_number(other), ', ' ORDER BY other) AS of FROM (
			SELECT id_b AS key_value, id_a AS other FROM id_typo
			UNION SELECT id_a, id_b FROM id_typo WHERE id_b NOT IN (SELECT key_value FROM id_key WHERE key_type = 'id_number' AND kid IN (SELECT kid FROM id_rk_all WHERE rec > 0))) GROUP BY key_value),
	kinfo AS (
		SELECT kid, weak, kid IN (SELECT kid FROM id_conflict) AS conflicted,
			key_type = 'id_number' AND key_value IN (SELECT key_value FROM typo) AS typo_key
		FROM id_key),
	rk AS (
		SELECT r.customer_id, e.kid, s.t_first, s.t, s.n, s.channel, k.conflicted,
			-- The rule as a number, named after the grouping: grouped by
			-- the name, the 5 M load's statement took 5.1 s and 7.5 CPU s,
			-- by the number 4.5 s and 6.3 CPU s (one run each).
			CASE
				WHEN k.conflicted AND o.alone THEN 1
				WHEN k.conflicted AND o.alone IS NOT NULL THEN 2
				WHEN k.conflicted THEN 3
				WHEN k.typo_key THEN 4
				WHEN k.weak THEN 5
				ELSE 6 END AS rule,
			k.weak AND e.rec IN (SELECT rec FROM id_rk_all WHERE weak GROUP BY rec HAVING count(*) > 1) AS paired
		FROM id_rk_all e JOIN kinfo k USING (kid) JOIN id_grec r USING (rec) JOIN id_src s USING (rec)
		LEFT JOIN id_orphan o USING (rec)),
	%s,
	holders AS (
		SELECT kid, list(DISTINCT customer_id ORDER BY customer_id) AS customers FROM (
			SELECT e.kid, r.customer_id FROM (FROM id_rk_all SEMI JOIN id_conflict USING (kid)) e
				JOIN id_key USING (kid) JOIN id_tok USING (kid) JOIN id_grec r USING (rec) JOIN id_src USING (rec)
			UNION ALL
			SELECT e.kid, p.customer_id FROM id_rk_all e JOIN id_prior_rec p USING (rec) SEMI JOIN id_conflict USING (kid))
		GROUP BY kid)
	SELECT %d, a.customer_id, k.key_type, t.tok,
		['shared_alone', 'shared_by_time', 'shared', 'id_typo', 'weak', 'strong'][a.rule],
		CASE WHEN a.rule = 4 THEN 'one digit from ' || ty.of
			WHEN a.conflicted THEN 'also held by customers ' ||
				array_to_string(list_filter(h.customers, x -> x <> a.customer_id), ', ') END,
		a.n, a.t0, a.t1, t.disp, %s
	FROM agg a JOIN id_key k USING (kid) JOIN id_tok t USING (kid)
	LEFT JOIN typo ty ON ty.key_value = k.key_value LEFT JOIN holders h USING (kid)`, linkAgg(cs, "rk", "customer_id, kid, rule, conflicted", "NOT paired", "n", "t_first", "t", "channel"), runID, linkChannels(cs))
}

// linkAgg is the CTE agg of identity_link's statements: from the rows of
// from, per group, the records (sum of n), their first and last times
// (least t0, greatest t1) and the channels of the rows where keep holds.
// With a channel set, one GROUP BY with a mask of the channels (channels:
// the mask); without, grouped per channel first and the channels listed
// (channels: the list).
func linkAgg(cs *channelSet, from, group, keep, n, t0, t1, channel string) string {
	if cs != nil {
		return fmt.Sprintf(`agg AS (
		SELECT %s, sum(%s) AS n, min(%s) AS t0, max(%s) AS t1,
			bit_or(CASE WHEN %s THEN %s END) AS channels
		FROM %s GROUP BY %s)`, group, n, t0, t1, keep, cs.bit(channel, false), from, group)
	}
	return fmt.Sprintf(`by_channel AS (
		SELECT %s, %s AS channel, sum(%s) AS n, min(%s) AS t0, max(%s) AS t1, bool_or(%s) AS unpaired
		FROM %s GROUP BY %s, %s),
	agg AS (
		SELECT %s, sum(n) AS n, min(t0) AS t0, max(t1) AS t1,
			coalesce(list(channel ORDER BY channel) FILTER (WHERE unpaired), []) AS channels
		FROM by_channel GROUP BY %s)`, group, channel, n, t0, t1, keep, from, group, channel, group, group)
}

// linkChannels is identity_link's channels of the group a of linkAgg.
func linkChannels(cs *channelSet) string {
	if cs != nil {
		return cs.list("a.channels")
	}
	return "a.channels"
}

// stronglessLinkSQL is identityLinkSQL for a graph labelled by
// labelStrongless: no key is conflicted, no record left alone, no ID typo
// accepted and no ID number there to be one, so every key's rule is weak
// (a mobile or e-mail) or strong and there is no detail; the channels are
// those of its records but a mobile's or e-mail's records giving another.
// The same rows in one join and a GROUP BY, without the holders, typos
// and rules to work out.
func stronglessLinkSQL(runID int64, cs *channelSet) string {
	// Grouped as identityLinkSQL is (linkAgg); the keys' strings joined to
	// the groups.
	return fmt.Sprintf(`INSERT INTO identity_link (run_id, customer_id, key_type, key_value, rule, detail, records, first_seen, last_seen, key_display, channels)
	WITH paired AS (SELECT rec FROM id_rk_all WHERE weak GROUP BY rec HAVING count(*) > 1),
	rk AS (
		SELECT r.customer_id, e.kid, s.channel, s.n, s.t_first, s.t, NOT (e.weak AND p.rec IS NOT NULL) AS unpaired
		FROM id_rk_all e JOIN id_grec r USING (rec) JOIN id_src s USING (rec) LEFT JOIN paired p USING (rec)),
	%s
	SELECT %d, a.customer_id, k.key_type, t.tok, CASE WHEN k.weak THEN 'weak' ELSE 'strong' END, CAST(NULL AS VARCHAR),
		a.n, a.t0, a.t1, t.disp, %s
	FROM agg a JOIN id_key k USING (kid) JOIN id_tok t USING (kid)`, linkAgg(cs, "rk", "customer_id, kid", "unpaired", "n", "t_first", "t", "channel"), runID, linkChannels(cs))
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
	// The resolved records' rows need no DISTINCT: id_rk_all holds each
	// record's key once (id_edge gives one edge per key type of a record;
	// id_key numbers each key once), a group of sales lines gives its keys
	// to each of its lines once (a line is in one group of id_member), and distinct
	// keys have distinct hashes of their type and stored form. At 5 M lines
	// the DISTINCT was a hash aggregate over ~5 million rows.
	resolvedKeys := `SELECT r // 10000000000, r % 10000000000, h FROM (
		SELECT ` + sourceRecs("e") + ` AS r, h.h
		FROM id_rk_all e ` + sourceJoin("e") + `
		JOIN (SELECT k.kid, hash(k.key_type, CAST(t.tok AS VARCHAR)) AS h FROM id_key k JOIN id_tok t USING (kid)) h USING (kid)
		WHERE e.rec > 0)`
	resolved := `INSERT INTO etl_record_key
	` + resolvedKeys
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
	` + resolvedKeys + `
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
