package etl

import (
	"fmt"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// Tracked (SCD type 2) attributes of dim_customer: a change opens a new
// version from its effective date. The other attributes are type 1:
// corrections overwrite every version.
var scd2Attributes = []string{"member_level", "region_code", "customer_type", "mobile"}

// historyStart is the valid_from of a customer's first version: it stands
// for everything before the first change the warehouse learns of, so every
// sale, however old, has a version to point at.
const historyStart = "TIMESTAMP '1900-01-01'"

// historyEnd is the valid_to of the current version.
const historyEnd = "TIMESTAMP '9999-12-31'"

// loadCustomers merges the customers this load touched into dim_customer.
//
// Each accepted CRM record is a change effective at its changed_at (the
// source's change or export date), else at the load's as-of; never at the
// machine's clock. The changes of a customer are merged one at a time in
// date order (round r merges every customer's r-th change), each into the
// version in force at its date:
//
//   - a change dated inside the current version closes it at that date and
//     opens the new current version;
//   - a back-dated change (a correction exported late, dated inside an older
//     version) splits that version at its date: the inserted version runs
//     until the next one starts, and the later versions keep their own
//     values, which they were given by changes that happened later;
//   - a change dated exactly where a version's values start holding
//     corrects that version;
//   - a change equal to the version after it moves that version's start
//     back instead of adding a twin, so loads in any date order give the
//     same history.
//
// A new customer's first version starts at historyStart, so it covers every
// fact before, but its values are only known from the change's date
// (effective_from). A change dated before that, loaded later, takes the
// part of the history before it; one with equal values moves
// effective_from back. So the order of loads does not matter.
//
// CRM master data wins over what sales records tell; a value a change does
// not carry keeps the one of the version it splits. What sales tell (mobile,
// region, having bought) rides with the customer's latest change in the
// load. Type 1 attributes of a back-dated change only fill blanks: the later
// changes corrected them already. Facts of the customers whose history moved
// are pointed at the version holding their time, and the whole history is
// checked for gaps and overlaps before the load may commit.
func (l *loader) loadCustomers() error {
	if err := l.exec("customers", l.customerChangesSQL()); err != nil {
		return err
	}
	rounds, err := l.count(`SELECT max(rnk) FROM cust_ev`)
	if err != nil {
		return fmt.Errorf("customers: %w", err)
	}
	if err := l.exec("customers", `CREATE OR REPLACE TEMP TABLE cust_moved (customer_id BIGINT)`); err != nil {
		return err
	}
	for r := int64(1); r <= rounds; r++ {
		if err := l.mergeCustomerChanges(r); err != nil {
			return err
		}
	}
	moved, err := l.count(`SELECT count(*) FROM cust_moved`)
	if err != nil {
		return fmt.Errorf("customers: %w", err)
	}
	if moved > 0 {
		if err := engine.AlignCustomerVersions(l.ctx, l.tx, `SELECT customer_id FROM cust_moved`); err != nil {
			return fmt.Errorf("customers: %w", err)
		}
	}
	if err := engine.CheckCustomerHistory(l.ctx, l.tx); err != nil {
		return fmt.Errorf("customers: %w; the load was rolled back", err)
	}
	return nil
}

// customerChangesSQL builds cust_ev: one row per customer and effective
// date, the latest record (by file and line) winning within one date, with
// rnk numbering a customer's changes in date order.
func (l *loader) customerChangesSQL() string {
	asOf := tsLiteral(l.opts.AsOf)
	eff := "coalesce(c.changed_v, " + asOf + ")"
	return `CREATE OR REPLACE TEMP TABLE cust_ev AS
	WITH crm AS (
		SELECT r.customer_id, ` + eff + ` AS eff, c.* FROM ok_customers c JOIN id_rec r ON r.rec = ` + recIDOf("c") + `
		QUALIFY row_number() OVER (PARTITION BY r.customer_id, ` + eff + ` ORDER BY c.file_id DESC, c._line DESC) = 1),
	sales AS (
		SELECT r.customer_id, max(s.mobile_v) AS mobile_v, max(s.email_v) AS email_v, max(s.idn) AS idn,
			arg_max(s.region_v, s.ts_v) AS region_v
		FROM ok_sales s JOIN id_rec r ON r.rec = ` + recIDOf("s") + ` GROUP BY r.customer_id),
	chan AS (
		SELECT customer_id, string_agg(DISTINCT channel, ',' ORDER BY channel) AS channels FROM (
			SELECT r.customer_id, c.channel FROM ok_customers c JOIN id_rec r ON r.rec = ` + recIDOf("c") + `
			UNION ALL
			SELECT r.customer_id, s.channel FROM ok_sales s JOIN id_rec r ON r.rec = ` + recIDOf("s") + `)
		GROUP BY customer_id),
	ids AS (SELECT DISTINCT customer_id FROM id_rec),
	ev AS (
		SELECT customer_id, eff FROM crm
		UNION ALL
		SELECT customer_id, ` + asOf + ` FROM ids WHERE customer_id NOT IN (SELECT customer_id FROM crm)),
	evr AS (
		-- last_id: the customer id on its latest change only, so what
		-- sales tell joins that one by equality (a hash join).
		SELECT customer_id, eff, row_number() OVER (PARTITION BY customer_id ORDER BY eff) AS rnk,
			CASE WHEN eff = max(eff) OVER (PARTITION BY customer_id) THEN customer_id END AS last_id
		FROM ev)
	SELECT e.customer_id, e.eff, e.rnk,
		coalesce(crm.idn, sales.idn) AS id_number,
		crm.name_v AS name,
		coalesce(ckm_id_sex(coalesce(crm.idn, sales.idn)), crm.sex_in) AS sex,
		coalesce(ckm_id_birth(coalesce(crm.idn, sales.idn)), crm.birth_in) AS birth_date,
		coalesce(crm.mobile_v, sales.mobile_v) AS mobile,
		coalesce(crm.email_v, sales.email_v) AS email,
		coalesce(crm.region_in, sales.region_v, ckm_region_of(ckm_id_region(coalesce(crm.idn, sales.idn)))) AS region_code,
		crm.level_v AS member_level,
		crm.registered_v AS registered_date,
		coalesce(crm.distributor_v, false) AS distributor,
		crm.type_in,
		chan.channels,
		sales.customer_id IS NOT NULL AS bought_now
	FROM evr e
	LEFT JOIN crm ON crm.customer_id = e.customer_id AND crm.eff = e.eff
	LEFT JOIN sales ON sales.customer_id = e.last_id
	LEFT JOIN chan ON chan.customer_id = e.last_id`
}

// distinctFrom is SQL that holds when the tracked attributes of a and b differ.
func distinctFrom(a, b string) string {
	parts := make([]string, len(scd2Attributes))
	for i, c := range scd2Attributes {
		parts[i] = fmt.Sprintf("%s.%s IS DISTINCT FROM %s.%s", a, c, b, c)
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// knownFrom is SQL for when the values of the version aliased v are known
// to hold: its effective_from where that lies inside it (a first version,
// which starts at historyStart), else its valid_from.
func knownFrom(v string) string {
	return fmt.Sprintf("CASE WHEN %[1]s.effective_from > %[1]s.valid_from AND %[1]s.effective_from < %[1]s.valid_to THEN %[1]s.effective_from ELSE %[1]s.valid_from END", v)
}

// backDated is SQL (in cust_m) that holds when the change n is older than
// what the dimension knows: a version starts after it, or the version it
// falls in is known only from later.
var backDated = "(nv.customer_key IS NOT NULL OR n.eff < " + knownFrom("pv") + ")"

// typeOne is SQL for a type 1 attribute of a change: the change's value
// wins unless the change is back-dated, then it only fills a blank.
func typeOne(col string) string {
	return fmt.Sprintf("CASE WHEN NOT %[2]s THEN coalesce(n.%[1]s, b.%[1]s) ELSE coalesce(b.%[1]s, n.%[1]s) END AS %[1]s", col, backDated)
}

// mergeCustomerChanges merges every customer's change number rnk (at most
// one per customer) into dim_customer.
func (l *loader) mergeCustomerChanges(rnk int64) error {
	run := l.runID
	steps := []string{
		// prev: the version in force at the change's date; next: the first
		// version after it; base: prev, else next (a change before the
		// first version), else nothing (a new customer).
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE cust_m AS
		WITH n AS (SELECT * FROM cust_ev WHERE rnk = %d),
		pv AS (SELECT d.* FROM n JOIN dim_customer d USING (customer_id) WHERE d.valid_from <= n.eff
			QUALIFY row_number() OVER (PARTITION BY d.customer_id ORDER BY d.valid_from DESC) = 1),
		nv AS (SELECT d.* FROM n JOIN dim_customer d USING (customer_id) WHERE d.valid_from > n.eff
			QUALIFY row_number() OVER (PARTITION BY d.customer_id ORDER BY d.valid_from) = 1),
		b AS (SELECT * FROM pv UNION ALL SELECT * FROM nv WHERE customer_id NOT IN (SELECT customer_id FROM pv))
		SELECT n.customer_id, n.eff, b.customer_key AS old_key,
			pv.customer_key AS prev_key, pv.valid_from AS prev_from, `+knownFrom("pv")+` AS prev_known,
			nv.customer_key AS next_key, nv.valid_from AS next_from,
			%s, %s, %s, %s, %s, %s,
			coalesce(n.mobile, b.mobile) AS mobile,
			coalesce(n.region_code, b.region_code) AS region_code,
			coalesce(n.member_level, b.member_level) AS member_level,
			CASE WHEN n.type_in IS NOT NULL THEN n.type_in
				WHEN n.distributor THEN 'distributor'
				WHEN n.bought_now THEN 'current'
				WHEN b.customer_type IS NOT NULL THEN b.customer_type
				ELSE 'potential' END AS customer_type,
			array_to_string(list_sort(list_distinct(list_filter(
				string_split(coalesce(b.source_systems, '') || ',' || coalesce(n.channels, ''), ','), x -> x <> ''))), ',') AS source_systems
		FROM n LEFT JOIN b USING (customer_id) LEFT JOIN pv USING (customer_id) LEFT JOIN nv USING (customer_id)`,
			rnk, typeOne("id_number"), typeOne("name"), typeOne("sex"), typeOne("birth_date"), typeOne("email"), typeOne("registered_date")),
		// Type 1: corrections reach every version.
		fmt.Sprintf(`UPDATE dim_customer SET id_number = m.id_number, name = m.name, sex = m.sex, birth_date = m.birth_date,
			email = m.email, registered_date = m.registered_date, source_systems = m.source_systems, etl_run_id = %d
		FROM cust_m m
		WHERE dim_customer.customer_id = m.customer_id AND m.old_key IS NOT NULL AND (
			dim_customer.id_number IS DISTINCT FROM m.id_number OR dim_customer.name IS DISTINCT FROM m.name
			OR dim_customer.sex IS DISTINCT FROM m.sex OR dim_customer.birth_date IS DISTINCT FROM m.birth_date
			OR dim_customer.email IS DISTINCT FROM m.email OR dim_customer.registered_date IS DISTINCT FROM m.registered_date
			OR dim_customer.source_systems IS DISTINCT FROM m.source_systems)`, run),
		`CREATE OR REPLACE TEMP TABLE cust_v AS
		SELECT m.*, CASE
			WHEN m.old_key IS NULL THEN 'new'
			WHEN m.eff < m.prev_known AND NOT ` + distinctFrom("m", "p") + ` THEN 'known_earlier'
			WHEN m.eff < m.prev_known THEN 'prepend'
			WHEN m.prev_key IS NOT NULL AND NOT ` + distinctFrom("m", "p") + ` THEN 'none'
			WHEN m.prev_known = m.eff THEN 'correct'
			WHEN m.next_key IS NOT NULL AND NOT ` + distinctFrom("m", "nx") + ` THEN 'extend'
			ELSE 'insert' END AS action
		FROM cust_m m
		LEFT JOIN dim_customer p ON p.customer_key = m.prev_key
		LEFT JOIN dim_customer nx ON nx.customer_key = m.next_key`,
		`UPDATE dim_customer SET valid_to = v.eff, is_current = false
		FROM cust_v v WHERE dim_customer.customer_key = v.prev_key AND v.action IN ('extend', 'insert')`,
		`UPDATE dim_customer SET valid_from = v.eff, effective_from = v.eff
		FROM cust_v v WHERE dim_customer.customer_key = v.next_key AND v.action = 'extend'`,
		`UPDATE dim_customer SET effective_from = v.eff
		FROM cust_v v WHERE dim_customer.customer_key = v.prev_key AND v.action = 'known_earlier'`,
		// The version known from later keeps that part; the change takes
		// the part before it.
		`UPDATE dim_customer SET valid_from = v.prev_known, effective_from = v.prev_known
		FROM cust_v v WHERE dim_customer.customer_key = v.prev_key AND v.action = 'prepend'`,
		fmt.Sprintf(`UPDATE dim_customer SET mobile = v.mobile, region_code = v.region_code, region_key = coalesce(r.region_key, -1),
			customer_type = v.customer_type, member_level = v.member_level, etl_run_id = %d
		FROM cust_v v LEFT JOIN dim_region r ON r.region_code = v.region_code
		WHERE dim_customer.customer_key = v.prev_key AND v.action = 'correct'`, run),
		fmt.Sprintf(`INSERT INTO dim_customer (customer_key, customer_id, id_number, name, sex, birth_date, mobile, email,
			region_code, region_key, customer_type, member_level, registered_date, source_systems,
			valid_from, valid_to, is_current, effective_from, etl_run_id)
		SELECT (SELECT greatest(coalesce(max(customer_key), 0), 0) FROM dim_customer) + row_number() OVER (ORDER BY v.customer_id),
			v.customer_id, v.id_number, v.name, v.sex, v.birth_date, v.mobile, v.email,
			v.region_code, coalesce(r.region_key, -1), v.customer_type, v.member_level, v.registered_date, v.source_systems,
			CASE v.action WHEN 'new' THEN %[1]s WHEN 'prepend' THEN v.prev_from ELSE v.eff END,
			CASE v.action WHEN 'prepend' THEN v.prev_known ELSE coalesce(v.next_from, %[2]s) END,
			v.action <> 'prepend' AND v.next_key IS NULL, v.eff, %[3]d
		FROM cust_v v LEFT JOIN dim_region r ON r.region_code = v.region_code
		WHERE v.action IN ('new', 'insert', 'prepend')`, historyStart, historyEnd, run),
		`INSERT INTO cust_moved SELECT customer_id FROM cust_v WHERE action IN ('extend', 'insert', 'prepend')`,
	}
	for _, q := range steps {
		if err := l.exec("customers", q); err != nil {
			return err
		}
	}
	return nil
}

// recIDOf is SQL for the record id (file and line) of a staged row of the
// table aliased alias ("" for an unqualified reference).
func recIDOf(alias string) string {
	if alias != "" {
		alias += "."
	}
	return fmt.Sprintf("(%sfile_id * 10000000000 + %s_line)", alias, alias)
}
