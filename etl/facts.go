package etl

import (
	"fmt"
	"strings"
)

// dimDateRow is the SELECT list of a dim_date row for a DATE column d (the
// same calendar the schema's seed generates).
const dimDateRow = `CAST(strftime(d, '%Y%m%d') AS INTEGER), d, year(d), quarter(d), month(d), day(d), isoyear(d), week(d), isodow(d),
	strftime(d, '%A'), strftime(d, '%B'), strftime(d, '%Y') || '-Q' || quarter(d), strftime(d, '%Y-%m'),
	CAST(isoyear(d) AS VARCHAR) || '-W' || lpad(CAST(week(d) AS VARCHAR), 2, '0'), isodow(d) >= 6`

// loadFacts completes the small dimensions the facts refer to (stores,
// salespeople and agents, inferred products, calendar days outside the
// generated range) and appends the fact rows.
func (l *loader) loadFacts() error {
	run := l.runID
	sales := salesFactSQL(run)
	// A target with nothing in this load has no fact to append.
	var others, contactTokens []string
	mobileKey, mobileJoin := l.keyToken("mobile", "s.mobile_v"), ""
	if l.opts.Vault != nil && !l.opts.everyStep && (!l.idle["interactions"] || !l.idle["responses"]) {
		// The contacts' mobiles as etl_identity stores them, one token per
		// distinct mobile, looked up in id_ltok where the load's customers
		// and sales carried it.
		contactTokens = []string{`CREATE OR REPLACE TEMP TABLE ld_ctok AS
		SELECT m.mobile_v AS raw, ` + tokenOrCall("t.tok", "mobile", "m.mobile_v") + ` AS tok
		FROM (SELECT mobile_v FROM ok_interactions WHERE mobile_v IS NOT NULL
			UNION SELECT mobile_v FROM ok_responses WHERE mobile_v IS NOT NULL) m
		LEFT JOIN id_ltok t ON t.key_type = 'mobile' AND t.key_value = m.mobile_v`}
		mobileKey, mobileJoin = "ct.tok", "\n\t\tLEFT JOIN ld_ctok ct ON ct.raw = s.mobile_v"
	}
	if !l.idle["interactions"] {
		others = append(others, interactionFactSQL(run, mobileKey, mobileJoin))
	}
	if !l.idle["responses"] {
		others = append(others, campaignFactSQL(run, mobileKey, mobileJoin))
	}
	// The stores' cities are completed on the stores this run inferred:
	// none inferred, nothing to complete.
	members := inferredMembersSQL(run, func(target string) bool { return !l.idle[target] || l.opts.everyStep })
	stores, err := l.execRows("facts", members[0])
	if err != nil {
		return err
	}
	if stores == 0 && !l.opts.everyStep {
		members = members[2:]
	} else {
		members = members[1:]
	}
	// Nothing is dropped here to make room for the fact insert: a table
	// dropped inside the load's transaction keeps its memory (or its
	// spilled blocks) until the transaction ends, whether the load made it
	// or staging ahead did (TestDroppedTempTableKeepsMemoryUntilCommit). Dropping
	// identity's working tables here, as loads did until 2026-12, left
	// DuckDB's in-memory tables of a million-line load at 955.3 MB in
	// memory / 291.7 MB spilled before and after (CKM_DEBUG_SQL=mem).
	for _, steps := range [][]string{
		members,
		sales[:1], // ld_sales: the accepted lines, narrowed
		contactTokens,
		sales[1:],
		others,
	} {
		if err := l.execAll("facts", steps); err != nil {
			return err
		}
	}
	return l.restateSales()
}

// inferredMembersSQL adds the dimension members the facts of run refer to
// and the dimensions lack: stores, salespeople and agents, products and
// calendar days. busy tells whether a target has lines in the load: the
// salespeople and days of one that has none are not read, as each read of
// an ok_ view is planned with its joins (a 10-line sales load, eight
// alternated runs: the two statements 7–10 ms against 9–15 ms); with none
// at all the statement goes.
func inferredMembersSQL(run int64, busy func(target string) bool) []string {
	var people, days []string
	if busy("sales") {
		people = append(people, `SELECT DISTINCT salesperson_v AS code, 'sales' AS role FROM ok_sales`)
		days = append(days, `SELECT DISTINCT CAST(ts_v AS DATE) AS d FROM ok_sales`)
	}
	if busy("interactions") {
		people = append(people, `SELECT DISTINCT agent_v AS code, 'agent' AS role FROM ok_interactions`)
		days = append(days, `SELECT DISTINCT CAST(ts_v AS DATE) AS d FROM ok_interactions`)
	}
	if busy("responses") {
		days = append(days, `SELECT DISTINCT targeted_v AS d FROM ok_responses`, `SELECT DISTINCT response_v AS d FROM ok_responses`)
	}
	steps := []string{
		fmt.Sprintf(`INSERT INTO dim_store (store_key, store_code, store_name, region_key, etl_run_id)
		SELECT (SELECT greatest(coalesce(max(store_key), 0), 0) FROM dim_store) + row_number() OVER (ORDER BY code), code, name,
			coalesce(TRY_CAST(ckm_region_in_text(name) AS INTEGER), -1), %d
		FROM (SELECT store_v AS code, max(store_name_v) AS name FROM ok_sales GROUP BY 1)
		WHERE code IS NOT NULL AND code NOT IN (SELECT store_code FROM dim_store WHERE store_code IS NOT NULL)`, run),
		fmt.Sprintf(`UPDATE dim_store SET city = r.city FROM dim_region r
		WHERE dim_store.region_key = r.region_key AND dim_store.city IS NULL AND dim_store.etl_run_id = %d`, run),
	}
	if len(people) > 0 {
		steps = append(steps, fmt.Sprintf(`INSERT INTO dim_salesperson (salesperson_key, salesperson_code, name, role, store_key, etl_run_id)
		SELECT (SELECT greatest(coalesce(max(salesperson_key), 0), 0) FROM dim_salesperson) + row_number() OVER (ORDER BY role, code), code, code, role, -2, %d
		FROM (`+strings.Join(people, "\n\t\t\tUNION ")+`) p
		WHERE code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dim_salesperson s WHERE s.salesperson_code = p.code AND s.role = p.role)`, run))
	}
	// Products sold before they arrive: inferred members, completed in
	// place when the product master brings them; named and categorised
	// as the sales lines say, when they say.
	steps = append(steps, fmt.Sprintf(`INSERT INTO dim_product (product_key, product_code, product_name, category, subcategory, product_line, brand, is_inferred, etl_run_id)
		SELECT (SELECT greatest(coalesce(max(product_key), 0), 0) FROM dim_product) + row_number() OVER (ORDER BY product_v),
			product_v, coalesce(name, product_v), coalesce(category, 'Inferred'), coalesce(category, 'Inferred'), 'Inferred', 'Inferred', true, %d
		FROM (SELECT product_v, max(nullif(trim(ckm_text(product_name)), '')) AS name, max(nullif(trim(ckm_text(category)), '')) AS category
			FROM ok_sales WHERE product_v IS NOT NULL GROUP BY product_v)
		WHERE product_v NOT IN (SELECT product_code FROM dim_product WHERE product_code IS NOT NULL)`, run))
	if len(days) > 0 {
		steps = append(steps, `INSERT INTO dim_date SELECT `+dimDateRow+` FROM (
			`+strings.Join(days, "\n\t\t\tUNION ")+`)
		WHERE d IS NOT NULL AND CAST(strftime(d, '%Y%m%d') AS INTEGER) NOT IN (SELECT date_key FROM dim_date)`)
	}
	return steps
}

// salesFactSQL appends the sales lines of run to fact_sales, each with
// the dimension versions in force at its time.
func salesFactSQL(run int64) []string {
	return []string{
		// The accepted lines with their customer, narrowed: a view the fact
		// insert reads once. (A table of them cost a write of every line,
		// 1.2–3 CPU s of a million-line plain load, most of it spilled
		// under the load's memory limit.) The joins below build their hash
		// tables on the small dimensions because each is a temp table of
		// known size, not because the lines' size is known.
		`CREATE OR REPLACE TEMP VIEW ld_sales AS
		SELECT s.k_order, s.k_line, s.ts_v, s.mobile_v IS NULL AND nullif(trim(s.mobile), '') IS NOT NULL AS bad_mobile,
			r.customer_id, s.product_v, s.channel_key, s.store_v, s.salesperson_v, s.region_v,
			s.qty_d, s.price_v, s.amount_in, s.discount_v, s.file_id, s._line, s.source, s.line_key, s.record_hash,
			s.guests, s.status_v, s.freight_v, s.country_v, s.payment_v,
			nullif(trim(ckm_text(s.payment_type)), '') AS payment_type_v,
			CASE WHEN coalesce(s.country_v, 'CN') <> 'CN' THEN nullif(trim(ckm_text(s.province)), '') END AS region_text,
			CASE WHEN coalesce(s.country_v, 'CN') <> 'CN' THEN nullif(trim(ckm_text(s.city)), '') END AS city_text
		FROM ok_sales s LEFT JOIN id_rec r ON r.rec = ` + recIDOf("s"),
		// Small copies of the dimensions with exact sizes, so the optimizer
		// builds its hash tables on them rather than on the fact lines.
		// Every version: a line belongs to the version in force at its time.
		// Only the customers and products of this load's records and lines
		// (id_rec's customers, c_sales' products: supersets of the accepted
		// lines', read without the view): the joins below match on them, so
		// the rest of the warehouse's (a small load into a large warehouse)
		// would be copied for nothing.
		`CREATE OR REPLACE TEMP TABLE ld_cust AS SELECT customer_id, customer_key, valid_from, valid_to FROM dim_customer
		WHERE customer_id > 0 AND customer_id IN (SELECT customer_id FROM id_rec)`,
		`CREATE OR REPLACE TEMP TABLE ld_prod AS SELECT product_code, product_key, cost FROM dim_product
		WHERE product_code IS NOT NULL AND product_code IN (SELECT product_v FROM c_sales)`,
		// Stores and salespeople too: joined straight from the warehouse
		// tables, the optimizer misjudged their size against the lines' and
		// a million-line load built a hash table of the lines (4 s in
		// EXPLAIN ANALYZE of a 1 M plain load) to probe it with 20 stores.
		`CREATE OR REPLACE TEMP TABLE ld_store AS SELECT store_code, store_key, region_key FROM dim_store
		WHERE store_code IS NOT NULL`,
		`CREATE OR REPLACE TEMP TABLE ld_sp AS SELECT salesperson_code, salesperson_key FROM dim_salesperson
		WHERE salesperson_code IS NOT NULL AND role = 'sales'`,
		fmt.Sprintf(`INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id, product_key, channel_key,
			store_key, salesperson_key, region_key, quantity, unit_price, amount, cost_amount, is_return, etl_run_id, etl_file_id,
			source_line, source, store_code, line_key, record_hash, is_reversal, restated_by_run,
			order_status, freight, country_code, region_text, city_text, payment_type, payment_amount)
		SELECT s.k_order, s.k_line, CAST(strftime(s.ts_v, '%%Y%%m%%d') AS INTEGER), s.ts_v,
			CASE WHEN s.customer_id IS NOT NULL THEN dc.customer_key WHEN s.bad_mobile THEN -3 WHEN s.guests THEN -5 ELSE -1 END,
			coalesce(s.customer_id, CASE WHEN s.guests AND NOT s.bad_mobile THEN -5 ELSE -1 END),
			coalesce(p.product_key, -1), s.channel_key,
			CASE WHEN s.store_v IS NULL THEN -2 ELSE coalesce(st.store_key, -1) END,
			CASE WHEN s.salesperson_v IS NULL THEN -2 ELSE coalesce(sp.salesperson_key, -1) END,
			coalesce(TRY_CAST(s.region_v AS INTEGER), st.region_key, -1), -- ckm_region_code only returns codes of dim_region
			CAST(s.qty_d AS INTEGER), s.price_v,
			coalesce(s.amount_in, CAST(round(s.qty_d * s.price_v - s.discount_v, 2) AS DECIMAL(18,2))), -- rounded half away from zero
			CAST(s.qty_d * p.cost AS DECIMAL(18,2)), s.qty_d < 0,
			%d, s.file_id, s._line, s.source, s.store_v, s.line_key, s.record_hash, false, NULL,
			s.status_v, s.freight_v,
			-- A line placed in a GB/T 2260 region is in China.
			coalesce(s.country_v, CASE WHEN coalesce(TRY_CAST(s.region_v AS INTEGER), st.region_key, -1) > 0 THEN 'CN' END),
			s.region_text, s.city_text, s.payment_type_v, s.payment_v
		FROM ld_sales s
		LEFT JOIN ld_cust dc ON dc.customer_id = s.customer_id AND s.ts_v >= dc.valid_from AND s.ts_v < dc.valid_to
		LEFT JOIN ld_prod p ON p.product_code = s.product_v
		LEFT JOIN ld_store st ON st.store_code = s.store_v
		LEFT JOIN ld_sp sp ON sp.salesperson_code = s.salesperson_v`, run),
		`DROP VIEW IF EXISTS ld_sales`,
	}
}

// interactionFactSQL appends the interactions of run to fact_interaction.
// mobileKey is SQL for the contact's mobile as etl_identity stores it,
// reading the tables mobileJoin joins (none: "").
func interactionFactSQL(run int64, mobileKey, mobileJoin string) string {
	return fmt.Sprintf(`INSERT INTO fact_interaction
		SELECT s.k_id, CAST(strftime(s.ts_v, '%%Y%%m%%d') AS INTEGER), s.ts_v,
			coalesce(dc.customer_key, -1), coalesce(dc.customer_id, -1), s.channel_key,
			CASE WHEN s.agent_v IS NULL THEN -2 ELSE coalesce(sp.salesperson_key, -1) END,
			s.category_v, s.satisfaction_v, s.duration_v, %[1]d, s.file_id, s._line
		FROM ok_interactions s%[3]s
		LEFT JOIN etl_identity ic ON ic.key_type = 'member_card' AND ic.key_value = s.card
		LEFT JOIN etl_identity im ON im.key_type = 'mobile' AND im.key_value = %[2]s
		LEFT JOIN dim_customer dc ON dc.customer_id = coalesce(ic.customer_id, im.customer_id)
			AND s.ts_v >= dc.valid_from AND s.ts_v < dc.valid_to
		LEFT JOIN dim_salesperson sp ON sp.salesperson_code = s.agent_v AND sp.role = 'agent'`, run, mobileKey, mobileJoin)
}

// campaignFactSQL appends the campaign responses of run to fact_campaign.
// mobileKey is SQL for the contact's mobile as etl_identity stores it,
// reading the tables mobileJoin joins (none: "").
func campaignFactSQL(run int64, mobileKey, mobileJoin string) string {
	return fmt.Sprintf(`INSERT INTO fact_campaign
		SELECT s.k_id, cp.campaign_key,
			coalesce(CAST(strftime(s.targeted_v, '%%Y%%m%%d') AS INTEGER), -1),
			coalesce(dc.customer_key, -1), coalesce(dc.customer_id, -1), s.channel_key,
			true, s.responded_v,
			CASE WHEN s.response_v IS NULL THEN -2 ELSE CAST(strftime(s.response_v, '%%Y%%m%%d') AS INTEGER) END,
			s.revenue_v, %[1]d, s.file_id, s._line
		FROM ok_responses s
		JOIN dim_campaign cp ON cp.campaign_code = s.code%[3]s
		LEFT JOIN etl_identity ic ON ic.key_type = 'member_card' AND ic.key_value = s.card
		LEFT JOIN etl_identity im ON im.key_type = 'mobile' AND im.key_value = %[2]s
		LEFT JOIN dim_customer dc ON dc.customer_id = coalesce(ic.customer_id, im.customer_id) AND dc.is_current`, run, mobileKey, mobileJoin)
}
