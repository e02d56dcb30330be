package etl

import (
	"fmt"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// Bounds of a plausible order line: beyond them a value is rejected rather
// than overflowing the fact table's types.
const (
	maxQuantity  = 1_000_000     // units on one order line
	maxUnitPrice = 1_000_000_000 // yuan per unit
)

// rule is a validation rule over a cleaned staging table c_<target>: where
// Cond holds, the record is rejected (severity error) or flagged (warn).
type rule struct {
	Name     string
	Severity string // error | warn
	Stage    string // clean | validate
	Column   string // canonical field
	Cond     string // SQL over the cleaned row
}

// nz is SQL for a trimmed field, NULL when blank.
func nz(field string) string {
	return fmt.Sprintf("nullif(trim(%s), '')", engine.QuoteIdent(field))
}

// rawRecord is SQL rebuilding a staged record as JSON for the ledger.
func rawRecord(t *target) string {
	var parts []string
	for _, f := range t.Fields {
		parts = append(parts, fmt.Sprintf("%s := %s", engine.QuoteIdent(f.Name), engine.QuoteIdent(f.Name)))
	}
	return "CAST(to_json(struct_pack(" + strings.Join(parts, ", ") + ")) AS VARCHAR)"
}

func tsLiteral(t time.Time) string {
	return "TIMESTAMP '" + t.Format("2006-01-02 15:04:05") + "'"
}

// applyRules records every rule violation of c_<target> in ld_reject and
// creates ok_<target>: the cleaned rows that are neither duplicates nor
// rejected.
func (l *loader) applyRules(t *target, rules []rule) error {
	c := "c_" + t.Name
	// One scan for all rules: each rule that fires on a row gives a struct,
	// the rows where any fires (a few percent) are unnested into the ledger.
	hits := make([]string, len(rules))
	conds := make([]string, len(rules))
	for i, r := range rules {
		hits[i] = fmt.Sprintf(`CASE WHEN %s THEN {'stage': %s, 'rule': %s, 'severity': %s, 'col': %s, 'val': left(CAST(%s AS VARCHAR), 4096)} END`,
			r.Cond, engine.QuoteString(r.Stage), engine.QuoteString(r.Name), engine.QuoteString(r.Severity),
			engine.QuoteString(r.Column), engine.QuoteIdent(r.Column))
		conds[i] = "coalesce(" + r.Cond + ", false)"
	}
	q := fmt.Sprintf(`INSERT INTO ld_reject
		SELECT file_id, _line, h.stage, h.rule, h.severity, h.col, h.val, left(raw, 4096), NULL FROM (
			SELECT file_id, _line, %s AS raw, unnest(list_filter([%s], x -> x IS NOT NULL)) AS h
			FROM %s WHERE NOT is_dup AND (%s))`,
		rawRecord(t), strings.Join(hits, ",\n\t\t\t\t"), c, strings.Join(conds, " OR "))
	if err := l.exec("validate", q); err != nil {
		return fmt.Errorf("rules of %s: %w", t.Name, err)
	}
	// A view, not a copy: the accepted rows are read a few times, each time
	// as one scan of c_<target> anti-joined with the few rejected lines.
	return l.exec("validate", fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW ok_%s AS
		SELECT c.* FROM %s c ANTI JOIN ld_err e ON e.file_id = c.file_id AND e.line = c._line
		WHERE NOT c.is_dup`, t.Name, c))
}

// dateRules are the date checks of a timestamp field cleaned into <v>.
func (l *loader) dateRules(field, v string) []rule {
	return []rule{
		{"date_missing", "error", "clean", field, nz(field) + " IS NULL"},
		{"date_invalid", "error", "clean", field, nz(field) + " IS NOT NULL AND " + v + " IS NULL"},
		{"date_future", "error", "validate", field, v + " > " + tsLiteral(l.opts.AsOf)},
	}
}

// mobileRule flags a mobile that is there but did not clean (into v).
func mobileRule(field, v string) rule {
	return rule{"mobile_invalid", "warn", "clean", field, nz(field) + " IS NOT NULL AND " + v + " IS NULL"}
}

// amountRule rejects an amount that is there but did not clean (into v).
func amountRule(field, v string) rule {
	return rule{"amount_invalid", "error", "clean", field, nz(field) + " IS NOT NULL AND " + v + " IS NULL"}
}

// validateFacts cleans and validates the customer and fact targets.
func (l *loader) validateFacts() error {
	// Free-text places resolve once per distinct (province, city) pair.
	if err := l.exec("validate", `CREATE OR REPLACE TEMP TABLE ld_region AS
		SELECT province, city, ckm_region_code(ckm_text(province), ckm_text(city)) AS code
		FROM (SELECT DISTINCT province, city FROM stg_sales UNION SELECT DISTINCT province, city FROM stg_customers)`); err != nil {
		return err
	}
	for _, fn := range []func() error{l.validateCustomers, l.validateSales, l.validateInteractions, l.validateResponses} {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) validateCustomers() error {
	// A card seen again is a duplicate unless its record takes effect at
	// another time: then it is a change of its own (a later version).
	q := `CREATE OR REPLACE TEMP TABLE c_customers AS
	WITH s AS (
		SELECT s.*, f.channel, nullif(trim(ckm_text(member_card)), '') AS card,
			ckm_timestamp(nullif(trim(changed_at), '')) AS changed_v
		FROM stg_customers s JOIN ld_file f USING (file_id))
	SELECT *,
		card IS NOT NULL AND row_number() OVER (PARTITION BY card, changed_v ORDER BY file_id, _line) > 1 AS is_dup,
		nullif(trim(ckm_text(name)), '') AS name_v,
		ckm_id_normalize(id_number) AS idn,
		ckm_id_problem(id_number) AS id_p,
		ckm_mobile(mobile) AS mobile_v,
		ckm_email(email) AS email_v,
		ckm_date(birth_date) AS birth_in,
		ckm_date(registered_date) AS registered_v,
		nullif(trim(ckm_text(member_level)), '') AS level_v,
		lower(trim(ckm_text(distributor))) IN ('是', 'y', 'yes', 'true', 't', '1', '经销商') AS distributor_v,
		nullif(lower(trim(ckm_text(customer_type))), '') AS type_in,
		CASE upper(trim(ckm_text(sex))) WHEN '男' THEN 'M' WHEN 'M' THEN 'M' WHEN 'MALE' THEN 'M'
			WHEN '女' THEN 'F' WHEN 'F' THEN 'F' WHEN 'FEMALE' THEN 'F' END AS sex_in,
		(SELECT g.code FROM ld_region g WHERE g.province IS NOT DISTINCT FROM s.province AND g.city IS NOT DISTINCT FROM s.city) AS region_in
	FROM s`
	if err := l.exec("validate", q); err != nil {
		return err
	}
	return l.applyRules(targets["customers"], []rule{
		// The change date is optional; when given it must be a date, not
		// after the as-of, and not before the start of every history.
		{"date_invalid", "error", "clean", "changed_at", nz("changed_at") + " IS NOT NULL AND (changed_v IS NULL OR changed_v < " + historyStart + ")"},
		{"date_future", "error", "validate", "changed_at", "changed_v > " + tsLiteral(l.opts.AsOf)},
		{"id_checksum", "error", "clean", "id_number", "id_p = 'id_checksum'"},
		{"id_invalid", "error", "clean", "id_number", nz("id_number") + " IS NOT NULL AND id_p IS NOT NULL AND id_p <> 'id_checksum'"},
		mobileRule("mobile", "mobile_v"),
		{"email_invalid", "warn", "clean", "email", nz("email") + " IS NOT NULL AND email_v IS NULL"},
		{"no_customer_key", "error", "validate", "member_card", nz("id_number") + " IS NULL AND card IS NULL AND mobile_v IS NULL AND email_v IS NULL"},
		{"name_missing", "warn", "validate", "name", "name_v IS NULL"},
	})
}

// memo cleans one staged column once per distinct value: Go functions cost
// far more per call than a hash join, and till exports repeat their
// prices, quantities, stores, cashiers, products, times and customers.
type memo struct {
	column string // staged field
	expr   string // SQL over raw
	out    string // cleaned column
}

var salesMemos = []memo{
	{"ts", "ckm_timestamp(raw)", "ts_v"},
	{"quantity", "TRY_CAST(nullif(trim(ckm_text(raw)), '') AS DECIMAL(18,3))", "qty_d"},
	{"unit_price", "ckm_amount(raw)", "price_v"},
	{"discount", "ckm_amount(raw)", "discount_in"},
	{"amount", "ckm_amount(raw)", "amount_in"},
	{"member_card", "nullif(trim(ckm_text(raw)), '')", "card"},
	{"mobile", "ckm_mobile(raw)", "mobile_v"},
	{"product_code", "nullif(trim(ckm_text(raw)), '')", "product_v"},
	{"store_code", "nullif(trim(ckm_text(raw)), '')", "store_v"},
	{"store_name", "nullif(trim(ckm_text(raw)), '')", "store_name_v"},
	{"salesperson", "nullif(trim(ckm_text(raw)), '')", "salesperson_v"},
}

// buildMemos creates the table md_<out> (raw, v) of each memo over the
// distinct values of its column in table.
func (l *loader) buildMemos(table string, memos []memo) error {
	for _, m := range memos {
		q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE md_%s AS SELECT raw, %s AS v FROM (SELECT DISTINCT %s AS raw FROM %s WHERE %s IS NOT NULL)`,
			m.out, m.expr, engine.QuoteIdent(m.column), table, engine.QuoteIdent(m.column))
		if err := l.exec("validate", q); err != nil {
			return err
		}
	}
	return nil
}

func memoColumns(memos []memo) string {
	cols := make([]string, len(memos))
	for i, m := range memos {
		cols[i] = fmt.Sprintf("md_%s.v AS %s", m.out, m.out)
	}
	return strings.Join(cols, ",\n\t\t\t")
}

func memoJoins(memos []memo, alias string) string {
	joins := make([]string, len(memos))
	for i, m := range memos {
		joins[i] = fmt.Sprintf("LEFT JOIN md_%s ON md_%s.raw = %s.%s", m.out, m.out, alias, engine.QuoteIdent(m.column))
	}
	return strings.Join(joins, "\n\t\t")
}

func (l *loader) validateSales() error {
	if err := l.buildMemos("stg_sales", salesMemos); err != nil {
		return err
	}
	q := `CREATE OR REPLACE TEMP TABLE c_sales AS
	WITH s AS (
		SELECT s.*, f.channel, f.channel_key, f.customer_required,
			nullif(trim(ckm_text(order_id)), '') AS k_order,
			-- the line number given, else the item's position; NULL when given but unusable (rule line_no_invalid)
			CASE WHEN nullif(trim(line_no), '') IS NULL THEN _item
				ELSE TRY_CAST(nullif(trim(ckm_text(line_no)), '') AS INTEGER) END AS k_line
		FROM stg_sales s JOIN ld_file f USING (file_id)),
	-- Keys seen more than once in this load, with their first record: a
	-- hash aggregate, far cheaper than a window over every row.
	dupkeys AS (
		SELECT channel_key, k_order, k_line, min` + recID + ` AS first_rec
		FROM s WHERE k_order IS NOT NULL AND k_line IS NOT NULL
		GROUP BY ALL HAVING count(*) > 1),
	loaded AS (SELECT DISTINCT channel_key, order_id, line_no FROM fact_sales),
	d AS (
		SELECT s.*,
			s.k_order IS NOT NULL AND s.k_line IS NOT NULL AND (
				` + recIDOf("s") + ` > coalesce(dk.first_rec, ` + recIDOf("s") + `)
				OR loaded.order_id IS NOT NULL) AS is_dup
		FROM s
		LEFT JOIN dupkeys dk ON dk.channel_key = s.channel_key AND dk.k_order = s.k_order AND dk.k_line = s.k_line
		LEFT JOIN loaded ON loaded.channel_key = s.channel_key AND loaded.order_id = s.k_order AND loaded.line_no = s.k_line),
	x AS (
		SELECT d.*,
			` + memoColumns(salesMemos) + `,
			ckm_email(email) AS email_v,
			ckm_id_normalize(id_number) AS idn,
			g.code AS region_v
		FROM d
		` + memoJoins(salesMemos, "d") + `
		LEFT JOIN ld_region g ON g.province IS NOT DISTINCT FROM d.province AND g.city IS NOT DISTINCT FROM d.city)
	SELECT *, coalesce(discount_in, 0) AS discount_v FROM x`
	if err := l.exec("validate", q); err != nil {
		return err
	}
	rules := []rule{
		{"key_missing", "error", "validate", "order_id", "k_order IS NULL"},
		{"line_no_invalid", "error", "clean", "line_no", "k_line IS NULL OR k_line <= 0"},
	}
	rules = append(rules, l.dateRules("ts", "ts_v")...)
	rules = append(rules,
		rule{"quantity_invalid", "error", "clean", "quantity", fmt.Sprintf("qty_d IS NULL OR qty_d <> round(qty_d) OR abs(qty_d) > %d", maxQuantity)},
		rule{"quantity_zero", "error", "validate", "quantity", "qty_d = 0"},
		rule{"amount_invalid", "error", "clean", "unit_price", nz("unit_price") + " IS NULL OR price_v IS NULL"},
		amountRule("discount", "discount_in"),
		amountRule("amount", "amount_in"),
		rule{"price_negative", "error", "validate", "unit_price", "price_v < 0"},
		// Keeps quantity × price and the line amount inside DECIMAL(18,2).
		rule{"amount_invalid", "error", "validate", "unit_price", fmt.Sprintf("abs(price_v) > %d", maxUnitPrice)},
		mobileRule("mobile", "mobile_v"),
		rule{"no_customer_key", "error", "validate", "mobile", "customer_required AND card IS NULL AND mobile_v IS NULL AND email_v IS NULL AND idn IS NULL"},
		rule{"product_unknown", "warn", "validate", "product_code",
			"product_v IS NULL OR product_v NOT IN (SELECT product_code FROM dim_product WHERE product_code IS NOT NULL AND NOT is_inferred)"},
	)
	return l.applyRules(targets["sales"], rules)
}

func (l *loader) validateInteractions() error {
	q := `CREATE OR REPLACE TEMP TABLE c_interactions AS
	WITH s AS (
		SELECT s.*, f.channel, f.channel_key, ckm_timestamp(ts) AS ts_v, ckm_mobile(mobile) AS mobile_v
		FROM stg_interactions s JOIN ld_file f USING (file_id)),
	k AS (SELECT *, coalesce(mobile_v, nullif(trim(mobile), ''), nullif(trim(member_card), ''), '') || '|' ||
			coalesce(strftime(ts_v, '%Y-%m-%d %H:%M:%S'), nullif(trim(ts), ''), '') AS k_id FROM s)
	SELECT k.*,
		row_number() OVER (PARTITION BY k.k_id ORDER BY file_id, _line) > 1
			OR k.k_id IN (SELECT interaction_id FROM fact_interaction WHERE interaction_id IS NOT NULL) AS is_dup,
		nullif(trim(ckm_text(member_card)), '') AS card,
		TRY_CAST(nullif(trim(ckm_text(satisfaction)), '') AS INTEGER) AS satisfaction_v,
		TRY_CAST(TRY_CAST(nullif(trim(ckm_text(duration)), '') AS DOUBLE) AS INTEGER) AS duration_v,
		nullif(trim(ckm_text(category)), '') AS category_v,
		nullif(trim(ckm_text(agent)), '') AS agent_v
	FROM k`
	if err := l.exec("validate", q); err != nil {
		return err
	}
	rules := l.dateRules("ts", "ts_v")
	rules = append(rules,
		rule{"satisfaction_range", "error", "validate", "satisfaction",
			nz("satisfaction") + " IS NOT NULL AND (satisfaction_v IS NULL OR satisfaction_v NOT BETWEEN 1 AND 5)"},
		rule{"duration_invalid", "warn", "clean", "duration", nz("duration") + " IS NOT NULL AND (duration_v IS NULL OR duration_v < 0)"},
		mobileRule("mobile", "mobile_v"),
	)
	return l.applyRules(targets["interactions"], rules)
}

func (l *loader) validateResponses() error {
	q := `CREATE OR REPLACE TEMP TABLE c_responses AS
	WITH s AS (
		SELECT s.*, f.channel, f.channel_key,
			nullif(trim(ckm_text(campaign_code)), '') AS code,
			nullif(trim(ckm_text(member_card)), '') AS card,
			ckm_mobile(mobile) AS mobile_v
		FROM stg_responses s JOIN ld_file f USING (file_id)),
	k AS (SELECT *, code || '|' || coalesce(card, mobile_v, nullif(trim(mobile), ''), '') AS k_id FROM s)
	SELECT k.*,
		k.code IS NOT NULL AND (row_number() OVER (PARTITION BY k.k_id ORDER BY file_id, _line) > 1
			OR k.k_id IN (SELECT response_id FROM fact_campaign WHERE response_id IS NOT NULL)) AS is_dup,
		ckm_date(targeted_date) AS targeted_v,
		ckm_date(response_date) AS response_v,
		lower(trim(ckm_text(responded))) IN ('是', 'y', 'yes', 'true', 't', '1') AS responded_v,
		ckm_amount(revenue) AS revenue_in,
		coalesce(ckm_amount(revenue), 0) AS revenue_v
	FROM k`
	if err := l.exec("validate", q); err != nil {
		return err
	}
	return l.applyRules(targets["responses"], []rule{
		{"key_missing", "error", "validate", "campaign_code", "code IS NULL"},
		{"campaign_unknown", "error", "validate", "campaign_code",
			"code IS NOT NULL AND code NOT IN (SELECT campaign_code FROM dim_campaign WHERE campaign_code IS NOT NULL)"},
		{"date_invalid", "error", "clean", "targeted_date", nz("targeted_date") + " IS NOT NULL AND targeted_v IS NULL"},
		{"date_invalid", "error", "clean", "response_date", nz("response_date") + " IS NOT NULL AND response_v IS NULL"},
		amountRule("revenue", "revenue_in"),
		mobileRule("mobile", "mobile_v"),
	})
}
