package etl

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// historyStart is the valid_from of a customer's first version (a change
// dated before it is invalid): see engine.HistoryStart.
const historyStart = engine.HistoryStart

// loadCustomers merges the customers this load touched into dim_customer
// through engine.ApplyCustomerChanges, the one SCD2 writer (it says how a
// change dated inside, before or between versions is merged, so the order
// of loads does not matter).
//
// Each accepted CRM record is a change effective at its changed_at (the
// source's change or export date), else at the load's as-of; never at the
// machine's clock. CRM master data wins over what sales records tell; a value a change does
// not carry keeps the one of the version it splits. What sales tell (mobile,
// region, having bought) rides with the customer's latest change in the
// load. Type 1 attributes of a back-dated change only fill blanks: the later
// changes corrected them already. Facts of the customers whose history moved
// are pointed at the version holding their time, and the whole history is
// checked for gaps and overlaps before the load may commit.
func (l *loader) loadCustomers() error {
	if err := l.sealNames(); err != nil {
		return err
	}
	if err := l.exec("customers", l.customerChangesSQL()); err != nil {
		return err
	}
	if l.opts.Vault != nil {
		if err := l.exec("customers", `DROP TABLE cust_names`); err != nil {
			return err
		}
	}
	var q engine.HistoryQuerier = l.tx
	if l.opts.Trace != nil {
		q = tracedQuerier{l: l, step: "customers"}
	}
	if err := engine.ApplyCustomerChanges(l.ctx, q, l.customerChanges()); err != nil {
		return fmt.Errorf("customers: %w; the load was rolled back", err)
	}
	return nil
}

// customerChangesSQL builds cust_ev: one row per customer and effective
// date, the latest record (by file and line) winning within one date, with
// rnk numbering a customer's changes in date order.
//
// On a protected warehouse the personal values are stored as tokens, looked
// up where the load computed them once (id_ltok for the identity keys,
// cust_names for the names: loadToken) rather than tokenised per row.
func (l *loader) customerChangesSQL() string {
	asOf := tsLiteral(l.opts.AsOf)
	eff := "coalesce(c.changed_v, " + asOf + ")"
	idnTok, idnJoin := l.loadToken("id_number", "coalesce(crm.idn, sales.idn)", "t_idn")
	mobTok, mobJoin := l.loadToken("mobile", "coalesce(crm.mobile_v, sales.mobile_v)", "t_mob")
	mailTok, mailJoin := l.loadToken("email", "coalesce(crm.email_v, sales.email_v)", "t_mail")
	nameTok, nameJoin := l.keyToken("name", "crm.name_v"), ""
	if l.opts.Vault != nil && !l.opts.everyStep {
		// cust_names holds every (customer, name) of crm (sealNames).
		nameTok = tokenOrCall("t_name.tok", "name", "crm.name_v")
		nameJoin = "\n\tLEFT JOIN cust_names t_name ON t_name.customer_id = crm.customer_id AND t_name.name = crm.name_v"
	}
	// The channels a customer came by, from its CRM rows and its sales
	// records: a mask of the load's channels (channel_mask.go), or lists.
	salesChannels := "list_distinct(list(s.channel)) AS sales_channels"
	chanSQL := `-- A list made distinct, not a DISTINCT aggregate (a hash set per
		-- customer: 0.14 s of 50,000 customers).
		SELECT customer_id, CASE WHEN count(channel) > 0 THEN array_to_string(list_sort(list_distinct(list(channel))), ',') END AS channels FROM (
			SELECT r.customer_id, c.channel FROM ok_customers c JOIN id_grec r ON r.rec = ` + recIDOf("c") + `
			UNION ALL
			SELECT customer_id, unnest(sales_channels) FROM sales)
		GROUP BY customer_id`
	if cs := l.channels; cs != nil {
		salesChannels = "bit_or(" + cs.bit("s.channel", true) + ") AS sales_channels"
		chanSQL = `SELECT customer_id, CASE WHEN m <> 0 THEN array_to_string(` + cs.list("m") + `, ',') END AS channels FROM (
			SELECT customer_id, bit_or(m) AS m FROM (
				SELECT r.customer_id, ` + cs.bit("c.channel", true) + ` AS m FROM ok_customers c JOIN id_grec r ON r.rec = ` + recIDOf("c") + `
				UNION ALL
				SELECT customer_id, sales_channels FROM sales)
			GROUP BY customer_id)`
	}
	return `CREATE OR REPLACE TEMP TABLE cust_ev AS
	WITH crm AS (
		-- A CRM row is a record of identity's graph: its customer is in
		-- id_grec, a third the size of id_rec at 5 M lines.
		SELECT r.customer_id, ` + eff + ` AS eff, c.* FROM ok_customers c JOIN id_grec r ON r.rec = ` + recIDOf("c") + `
		QUALIFY row_number() OVER (PARTITION BY r.customer_id, ` + eff + ` ORDER BY c.file_id DESC, c._line DESC) = 1),
	-- One pass over the sales records of identity's graph (the rows of
	-- id_src marked sales; a CRM row is not): what they tell of each
	-- customer and the channels they came by. A record is a group of lines
	-- with the same keys, channel, region and store, so the region of the
	-- latest line is that of the record whose last line is latest. (Read
	-- from every line joined to id_rec, with DISTINCT aggregates for the
	-- channels, cust_ev took 0.29 s of a million-line load; so 0.18 s.)
	sales AS MATERIALIZED (
		SELECT r.customer_id, max(s.mobile_v) AS mobile_v, max(s.email_v) AS email_v, max(s.idn) AS idn,
			arg_max(s.region_s, s.t) AS region_v,
			` + salesChannels + `
		FROM id_src s JOIN id_grec r USING (rec) WHERE s.sales GROUP BY r.customer_id),
	chan AS (
		` + chanSQL + `),
	ids AS (SELECT DISTINCT customer_id FROM id_grec),
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
		` + idnTok + ` AS id_number,
		` + nameTok + ` AS name,
		coalesce(ckm_id_sex(coalesce(crm.idn, sales.idn)), crm.sex_in) AS sex,
		coalesce(ckm_id_birth(coalesce(crm.idn, sales.idn)), crm.birth_in) AS birth_date,
		` + mobTok + ` AS mobile,
		` + mailTok + ` AS email,
		coalesce(crm.region_in, sales.region_v, ckm_region_of(ckm_id_region(coalesce(crm.idn, sales.idn)))) AS region_code,
		crm.level_v AS member_level,
		crm.registered_v AS registered_date,
		coalesce(crm.distributor_v, false) AS distributor,
		crm.consent_v AS marketing_consent,
		crm.dnc_v AS do_not_contact,
		crm.type_in,
		chan.channels,
		sales.customer_id IS NOT NULL AS bought_now
	FROM evr e
	LEFT JOIN crm ON crm.customer_id = e.customer_id AND crm.eff = e.eff
	LEFT JOIN sales ON sales.customer_id = e.last_id
	LEFT JOIN chan ON chan.customer_id = e.last_id` + idnJoin + mobJoin + mailJoin + nameJoin
}

// backDated is SQL (over the aliases of engine.CustomerChanges.Values)
// that holds when the change n is older than what the dimension knows: a
// version starts after it, or the version it falls in is known only from
// later.
const backDated = "(nv.customer_key IS NOT NULL OR n.eff < CASE WHEN pv.effective_from > pv.valid_from AND pv.effective_from < pv.valid_to THEN pv.effective_from ELSE pv.valid_from END)"

// typeOne is SQL for a type 1 attribute of a change: the change's value
// wins unless the change is back-dated, then it only fills a blank.
func typeOne(col string) string {
	return fmt.Sprintf("CASE WHEN NOT %[2]s THEN coalesce(n.%[1]s, b.%[1]s) ELSE coalesce(b.%[1]s, n.%[1]s) END", col, backDated)
}

// customerChanges is the changes of cust_ev for engine.ApplyCustomerChanges:
// CRM master data wins over what sales records tell; a value a change does
// not carry keeps the one of the version it falls in; type 1 attributes are
// corrected on every version.
func (l *loader) customerChanges() engine.CustomerChanges {
	values := map[string]string{
		"mobile":       "coalesce(n.mobile, b.mobile)",
		"region_code":  "coalesce(n.region_code, b.region_code)",
		"member_level": "coalesce(n.member_level, b.member_level)",
		"customer_type": `CASE WHEN n.type_in IS NOT NULL THEN n.type_in
				WHEN n.distributor THEN 'distributor'
				WHEN n.bought_now THEN 'current'
				WHEN b.customer_type IS NOT NULL THEN b.customer_type
				ELSE 'potential' END`,
		"source_systems": `array_to_string(list_sort(list_distinct(list_filter(
				string_split(coalesce(b.source_systems, '') || ',' || coalesce(n.channels, ''), ','), x -> x <> ''))), ',')`,
		"etl_run_id": fmt.Sprint(l.runID),
	}
	typeOneAttrs := []string{"id_number", "name", "sex", "birth_date", "email", "registered_date", "marketing_consent", "do_not_contact"}
	for _, c := range typeOneAttrs {
		values[c] = typeOne(c)
	}
	return engine.CustomerChanges{Changes: "cust_ev", Values: values, TypeOne: append(typeOneAttrs, "source_systems"), EveryStep: l.opts.everyStep}
}

// recIDOf is SQL for the record id (file and line) of a staged row of the
// table aliased alias ("" for an unqualified reference).
func recIDOf(alias string) string {
	if alias != "" {
		alias += "."
	}
	return fmt.Sprintf("(%sfile_id * 10000000000 + %s_line)", alias, alias)
}

// tracedQuerier is the load's transaction for engine code that runs
// statements of a step (ApplyCustomerChanges): with a trace, each
// statement it executes is written to it with its time (and DuckDB's
// memory with TraceMemory), as the load's own are (CKM_DEBUG_SQL); its
// reads, like the load's own, are not.
type tracedQuerier struct {
	l    *loader
	step string
}

func (t tracedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t0 := time.Now()
	c0, _ := ProcessCPU()
	res, err := t.l.tx.ExecContext(ctx, query, args...)
	cpu := ""
	if c1, ok := ProcessCPU(); ok {
		cpu = fmt.Sprintf(" cpu %.3fs", (c1 - c0).Seconds())
	}
	fmt.Fprintf(t.l.opts.Trace, "%8.3fs %s %.60q%s\n", time.Since(t0).Seconds(), t.step, query, cpu)
	if t.l.opts.TraceMemory {
		t.l.traceMemory()
	}
	return res, err
}

func (t tracedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.l.tx.QueryContext(ctx, query, args...)
}

func (t tracedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.l.tx.QueryRowContext(ctx, query, args...)
}
