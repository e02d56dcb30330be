package etl

import "fmt"

// Tracked (SCD type 2) attributes of dim_customer: a change closes the
// current version and opens a new one. The other attributes are type 1:
// corrections overwrite every version.
var scd2Attributes = []string{"member_level", "region_code", "customer_type", "mobile"}

// loadCustomers merges the customers this load touched into dim_customer.
// CRM master data wins over what sales records tell; a value a source does
// not carry keeps the dimension's current one.
func (l *loader) loadCustomers() error {
	if err := l.exec("customers", `CREATE OR REPLACE TEMP TABLE cust_in AS
	WITH crm AS (
		SELECT r.customer_id, c.* FROM ok_customers c JOIN id_rec r ON r.rec = `+recIDOf("c")+`
		QUALIFY row_number() OVER (PARTITION BY r.customer_id ORDER BY c.file_id DESC, c._line DESC) = 1),
	sales AS (
		SELECT r.customer_id, max(s.mobile_v) AS mobile_v, max(s.email_v) AS email_v, max(s.idn) AS idn,
			arg_max(s.region_v, s.ts_v) AS region_v
		FROM ok_sales s JOIN id_rec r ON r.rec = `+recIDOf("s")+` GROUP BY r.customer_id),
	chan AS (
		SELECT customer_id, string_agg(DISTINCT channel, ',' ORDER BY channel) AS channels FROM (
			SELECT r.customer_id, c.channel FROM ok_customers c JOIN id_rec r ON r.rec = `+recIDOf("c")+`
			UNION ALL
			SELECT r.customer_id, s.channel FROM ok_sales s JOIN id_rec r ON r.rec = `+recIDOf("s")+`)
		GROUP BY customer_id),
	ids AS (SELECT DISTINCT customer_id FROM id_rec)
	SELECT ids.customer_id,
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
	FROM ids LEFT JOIN crm USING (customer_id) LEFT JOIN sales USING (customer_id) LEFT JOIN chan USING (customer_id)`); err != nil {
		return err
	}
	changed := ""
	for i, a := range scd2Attributes {
		if i > 0 {
			changed += " OR "
		}
		changed += fmt.Sprintf("m.%s IS DISTINCT FROM d.%s", a, a)
	}
	steps := []string{
		`CREATE OR REPLACE TEMP TABLE cust_m AS
		SELECT n.customer_id, d.customer_key AS old_key,
			coalesce(n.id_number, d.id_number) AS id_number,
			coalesce(n.name, d.name) AS name,
			coalesce(n.sex, d.sex) AS sex,
			coalesce(n.birth_date, d.birth_date) AS birth_date,
			coalesce(n.mobile, d.mobile) AS mobile,
			coalesce(n.email, d.email) AS email,
			coalesce(n.region_code, d.region_code) AS region_code,
			coalesce(n.member_level, d.member_level) AS member_level,
			coalesce(n.registered_date, d.registered_date) AS registered_date,
			CASE WHEN n.type_in IS NOT NULL THEN n.type_in
				WHEN n.distributor THEN 'distributor'
				WHEN n.bought_now THEN 'current'
				WHEN d.customer_type IS NOT NULL THEN d.customer_type
				ELSE 'potential' END AS customer_type,
			array_to_string(list_sort(list_distinct(list_filter(
				string_split(coalesce(d.source_systems, '') || ',' || coalesce(n.channels, ''), ','), x -> x <> ''))), ',') AS source_systems
		FROM cust_in n LEFT JOIN dim_customer d ON d.customer_id = n.customer_id AND d.is_current`,
		// Type 1: corrections reach every version.
		fmt.Sprintf(`UPDATE dim_customer SET id_number = m.id_number, name = m.name, sex = m.sex, birth_date = m.birth_date,
			email = m.email, registered_date = m.registered_date, source_systems = m.source_systems, etl_run_id = %d
		FROM cust_m m
		WHERE dim_customer.customer_id = m.customer_id AND m.old_key IS NOT NULL AND (
			dim_customer.id_number IS DISTINCT FROM m.id_number OR dim_customer.name IS DISTINCT FROM m.name
			OR dim_customer.sex IS DISTINCT FROM m.sex OR dim_customer.birth_date IS DISTINCT FROM m.birth_date
			OR dim_customer.email IS DISTINCT FROM m.email OR dim_customer.registered_date IS DISTINCT FROM m.registered_date
			OR dim_customer.source_systems IS DISTINCT FROM m.source_systems)`, l.runID),
		`CREATE OR REPLACE TEMP TABLE cust_v AS
		SELECT m.*, m.old_key IS NULL AS is_new, m.old_key IS NOT NULL AND (` + changed + `) AS is_changed
		FROM cust_m m LEFT JOIN dim_customer d ON d.customer_key = m.old_key`,
		fmt.Sprintf(`UPDATE dim_customer SET valid_to = %s, is_current = false
		WHERE customer_key IN (SELECT old_key FROM cust_v WHERE is_changed)`, tsLiteral(l.start)),
		fmt.Sprintf(`INSERT INTO dim_customer (customer_key, customer_id, id_number, name, sex, birth_date, mobile, email,
			region_code, region_key, customer_type, member_level, registered_date, source_systems, valid_from, valid_to, is_current, etl_run_id)
		SELECT (SELECT greatest(coalesce(max(customer_key), 0), 0) FROM dim_customer) + row_number() OVER (ORDER BY v.customer_id),
			v.customer_id, v.id_number, v.name, v.sex, v.birth_date, v.mobile, v.email,
			v.region_code, coalesce(r.region_key, -1), v.customer_type, v.member_level, v.registered_date, v.source_systems,
			CASE WHEN v.is_new THEN TIMESTAMP '1900-01-01' ELSE %s END, TIMESTAMP '9999-12-31', true, %d
		FROM cust_v v LEFT JOIN dim_region r ON r.region_code = v.region_code
		WHERE v.is_new OR v.is_changed`, tsLiteral(l.start), l.runID),
	}
	for _, q := range steps {
		if err := l.exec("customers", q); err != nil {
			return err
		}
	}
	bad, err := l.count(`SELECT count(*) FROM (SELECT customer_id FROM dim_customer GROUP BY customer_id
		HAVING count(*) FILTER (WHERE is_current) <> 1)`)
	if err != nil {
		return fmt.Errorf("customers: %w", err)
	}
	if bad > 0 {
		return fmt.Errorf("customers: %d customers do not have exactly one current dim_customer row", bad)
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
