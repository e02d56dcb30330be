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

// tsLiteral writes t as a SQL timestamp to the microsecond (DuckDB's
// precision): the default as-of is a load's start, and two loads in one
// second are two observations, not one (TestLoadsWithinOneSecondKeepTheirVersions).
func tsLiteral(t time.Time) string {
	return "TIMESTAMP '" + t.Format("2006-01-02 15:04:05.000000") + "'"
}

// ledgerColumns are the columns of ld_reject a rule or extract entry fills;
// references to other lines are filled by the duplicate and correction
// entries.
const ledgerColumns = "(file_id, line, stage, rule, severity, column_name, raw_value, raw_record, message)"

// applyRules records every rule violation of c_<target> in ld_reject and
// creates ok_<target>: the cleaned rows that are neither duplicates nor
// rejected. (Sales lines are judged as they are cleaned: validateSales.)
func (l *loader) applyRules(t *target, rules []rule) error {
	c := "c_" + t.Name
	if l.idle[t.Name] {
		// Nothing of this target in the load: no rule can fire, no reject
		// repeats, no duplicate; only the (empty) view is made.
		return l.okView(t, c)
	}
	// One scan for all rules: each rule that fires on a row gives a struct,
	// the rows where any fires (a few percent) are unnested into the ledger.
	hits, fired := ruleHits(t, rules)
	q := fmt.Sprintf(`INSERT INTO ld_reject `+ledgerColumns+`
		SELECT file_id, _line, h.stage, h.rule, h.severity, h.col, h.val, left(raw, 4096), NULL FROM (
			SELECT file_id, _line, %s AS raw, unnest(%s) AS h
			FROM %s WHERE NOT is_dup AND (%s))`,
		rawRecord(t), hits, c, fired)
	if err := l.exec("validate", q); err != nil {
		return fmt.Errorf("rules of %s: %w", t.Name, err)
	}
	if err := l.rejectRepeats(t); err != nil {
		return err
	}
	if err := l.recordDuplicates(t); err != nil {
		return err
	}
	return l.okView(t, c)
}

// ruleHits is SQL over a cleaned row for the list of the rules that fire
// on it, each a struct (stage, rule, severity, col, val: the raw value of
// its field), and for whether any does.
func ruleHits(t *target, rules []rule) (hits, fired string) {
	list := make([]string, len(rules))
	conds := make([]string, len(rules))
	for i, r := range rules {
		list[i] = fmt.Sprintf(`CASE WHEN %s THEN {'stage': %s, 'rule': %s, 'severity': %s, 'col': %s, 'val': left(CAST(%s AS VARCHAR), 4096)} END`,
			r.Cond, engine.QuoteString(r.Stage), engine.QuoteString(r.Name), engine.QuoteString(r.Severity),
			engine.QuoteString(r.Column), engine.QuoteIdent(r.Column))
		// NULL counts as false where this is read (WHERE, CASE WHEN), so
		// no coalesce: it would make DuckDB evaluate every condition on
		// every row instead of only on the rows the ones before left.
		conds[i] = "(" + r.Cond + ")"
	}
	return "list_filter([" + strings.Join(list, ",\n\t\t\t\t") + "], x -> x IS NOT NULL)", strings.Join(conds, " OR ")
}

// okView creates ok_<target>, the accepted rows of c (c_<target>).
func (l *loader) okView(t *target, c string) error {
	// A view, not a copy: the accepted rows are read a few times, each time
	// as one scan of c_<target> anti-joined with the few rejected lines and
	// the duplicates.
	cols, notDup := "c.*", "WHERE NOT c.is_dup"
	if t.Name == "sales" {
		// The file's settings, joined rather than copied onto every line.
		cols = "c.*, " + salesFileColumns
		notDup = "JOIN ld_file f ON f.file_id = c.file_id ANTI JOIN sales_skip k ON k.file_id = c.file_id AND k._line = c._line AND k._item = c._item"
	}
	return l.exec("validate", fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW ok_%s AS
		SELECT %s FROM %s c ANTI JOIN ld_err e ON e.file_id = c.file_id AND e.line = c._line
		ANTI JOIN ld_skip s ON s.file_id = c.file_id AND s.line = c._line
		%s`, t.Name, cols, c, notDup))
}

// recordDuplicates writes one ledger entry (rule duplicate, severity info)
// for every line of c_<target> that repeats an earlier record's key,
// pointing at that record. The raw record is built for duplicate rows
// only (a line is one when all its rows are): min() over every row's
// record kept one string per line of the target in the C library's malloc
// (about 80 MB in use at once for the 5 M set's 200,000 customers).
func (l *loader) recordDuplicates(t *target) error {
	return l.exec("validate", fmt.Sprintf(`INSERT INTO ld_reject (file_id, line, stage, rule, severity, raw_record, message, ref_run_id, ref_file_id, ref_line)
		SELECT file_id, _line, 'validate', 'duplicate', 'info', left(min(raw), 4096),
			CASE WHEN min(dup_run) IS NOT NULL THEN 'same key as a record loaded in run ' || min(dup_run)
				ELSE 'same key as an earlier record of this load' END || ': the first record is kept',
			min(dup_run), min(dup_file), min(dup_line)
		FROM (SELECT file_id, _line, is_dup, dup_run, dup_file, dup_line, CASE WHEN is_dup THEN %s END AS raw FROM c_%s)
		GROUP BY file_id, _line HAVING bool_and(is_dup)`, rawRecord(t), t.Name))
}

// rejectRepeats turns the rejected lines of c_<target> whose raw record is
// the same as a line rejected earlier from the same source (in an earlier
// run, or earlier in this load) into duplicates of that reject: a
// re-exported file's unchanged bad lines are not rejected twice, and every
// line read still has exactly one outcome in the ledger.
func (l *loader) rejectRepeats(t *target) error {
	steps := []string{
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE ld_rep AS
		WITH bad AS (
			SELECT r.file_id, r.line, f.source, md5_number_upper(min(r.raw_record)) AS h
			FROM ld_reject r JOIN ld_file f USING (file_id)
			WHERE f.target = %s AND r.severity = 'error' AND r.raw_record IS NOT NULL
			GROUP BY ALL),
		earlier AS (
			SELECT f.source, e.record_hash AS h, arg_min([e.run_id, e.file_id, e.line], [e.run_id, e.file_id, e.line]) AS ref
			FROM etl_reject e JOIN etl_file f ON f.file_id = e.file_id
			WHERE e.severity = 'error' AND e.record_hash IN (SELECT h FROM bad)
			GROUP BY ALL),
		firsts AS (
			SELECT *, first_value(file_id) OVER w AS first_file, first_value(line) OVER w AS first_line
			FROM bad WINDOW w AS (PARTITION BY source, h ORDER BY file_id, line))
		SELECT b.file_id, b.line,
			CASE WHEN e.ref IS NOT NULL THEN e.ref[1] END AS ref_run,
			CASE WHEN e.ref IS NOT NULL THEN e.ref[2] ELSE b.first_file END AS ref_file,
			CASE WHEN e.ref IS NOT NULL THEN e.ref[3] ELSE b.first_line END AS ref_line
		FROM firsts b LEFT JOIN earlier e ON e.source = b.source AND e.h = b.h
		WHERE e.ref IS NOT NULL OR (b.first_file, b.first_line) <> (b.file_id, b.line)`, engine.QuoteString(t.Name)),
		`DELETE FROM ld_reject WHERE (file_id, line) IN (SELECT (file_id, line) FROM ld_rep)`,
		`INSERT INTO ld_reject (file_id, line, stage, rule, severity, message, ref_run_id, ref_file_id, ref_line)
		SELECT file_id, line, 'validate', 'duplicate', 'info',
			'same record as a line rejected ' || CASE WHEN ref_run IS NOT NULL THEN 'in run ' || ref_run ELSE 'earlier in this load' END ||
			': see that line for the reason', ref_run, ref_file, ref_line
		FROM ld_rep`,
		`INSERT INTO ld_skip SELECT file_id, line FROM ld_rep`,
	}
	for _, q := range steps {
		if err := l.exec("validate", q); err != nil {
			return fmt.Errorf("repeated rejects of %s: %w", t.Name, err)
		}
	}
	return nil
}

// firstOfKey is SQL for the duplicate columns of a cleaned record: is_dup
// when a record with the same key came earlier in this load (the first is
// kept) or was loaded before (loaded_run, loaded_file, loaded_line columns,
// where the query has them); dup_run, dup_file and dup_line point at the
// record it repeats. keyed says when the key is usable at all.
func firstOfKey(key, keyed string) string {
	w := fmt.Sprintf("OVER (PARTITION BY %s ORDER BY file_id, _line, _item)", key)
	return fmt.Sprintf(`(%[2]s) AND (row_number() %[1]s > 1 OR loaded_line IS NOT NULL) AS is_dup,
		CASE WHEN loaded_line IS NOT NULL THEN loaded_run END AS dup_run,
		CASE WHEN loaded_line IS NOT NULL THEN loaded_file ELSE first_value(file_id) %[1]s END AS dup_file,
		CASE WHEN loaded_line IS NOT NULL THEN loaded_line ELSE first_value(_line) %[1]s END AS dup_line`, w, keyed)
}

// notLoadedBefore fills the loaded_* columns firstOfKey reads for master
// data, whose repeats across loads are updates, not duplicates.
const notLoadedBefore = "NULL::BIGINT AS loaded_run, NULL::BIGINT AS loaded_file, NULL::BIGINT AS loaded_line"

// dateRules are the date checks of a timestamp field cleaned into <v>.
func (l *loader) dateRules(field, v string) []rule {
	return []rule{
		// The cleaned value first: it is rarely NULL, and the raw one is
		// then not trimmed (a blank never cleans into a time).
		{"date_missing", "error", "clean", field, v + " IS NULL AND " + nz(field) + " IS NULL"},
		{"date_invalid", "error", "clean", field, v + " IS NULL AND " + nz(field) + " IS NOT NULL"},
		{"date_future", "error", "validate", field, v + " > " + tsLiteral(l.opts.AsOf)},
	}
}

// mobileRule flags a mobile that is there but did not clean (into v).
func mobileRule(field, v string) rule {
	return rule{"mobile_invalid", "warn", "clean", field, v + " IS NULL AND " + nz(field) + " IS NOT NULL"}
}

// amountRule rejects an amount that is there but did not clean (into v).
func amountRule(field, v string) rule {
	return rule{"amount_invalid", "error", "clean", field, v + " IS NULL AND " + nz(field) + " IS NOT NULL"}
}

// validateFacts cleans and validates the customer and fact targets.
func (l *loader) validateFacts() error {
	// Cleaning ahead made ld_region from the same staged lines.
	if !l.cleanedAhead {
		if err := l.regions(); err != nil {
			return err
		}
	}
	for _, fn := range []func() error{l.validateCustomers, l.validateSales, l.validateInteractions, l.validateResponses} {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// regions creates ld_region: free-text places resolve once per distinct
// (province, city) pair.
func (l *loader) regions() error {
	return l.exec("validate", `CREATE OR REPLACE TEMP TABLE ld_region AS
		SELECT province, city, ckm_region_code(ckm_text(province), ckm_text(city)) AS code
		FROM (SELECT DISTINCT province, city FROM stg_sales UNION SELECT DISTINCT province, city FROM stg_customers)`)
}

// createCleaned creates the TEMP table name of target as the query
// selects it. For a target the load has nothing of (idle) the table is
// made empty with the query's columns (LIMIT 0): DuckDB then plans no
// scan of the warehouse tables the query joins (earlier facts, for the
// repeats of contacts and responses), and the later steps find the
// columns they read.
func (l *loader) createCleaned(target, name, query string) error {
	if l.idle[target] {
		query = "SELECT * FROM (" + query + ") LIMIT 0"
	}
	return l.exec("validate", "CREATE OR REPLACE TEMP TABLE "+name+" AS "+query)
}

func (l *loader) validateCustomers() error {
	// A card seen again is a duplicate unless its record takes effect at
	// another time: then it is a change of its own (a later version).
	q := `WITH s AS (
		SELECT s.*, f.channel, nullif(trim(ckm_text(member_card)), '') AS card,
			ckm_timestamp(nullif(trim(changed_at), '')) AS changed_v, ` + notLoadedBefore + `
		FROM stg_customers s JOIN ld_file f USING (file_id))
	SELECT *,
		` + firstOfKey("card, changed_v", "card IS NOT NULL") + `,
		nullif(trim(ckm_text(name)), '') AS name_v,
		ckm_id_normalize(id_number) AS idn,
		ckm_id_problem(id_number) AS id_p,
		ckm_mobile(mobile) AS mobile_v,
		ckm_email(email) AS email_v,
		` + customerRef("s") + ` AS cref,
		ckm_date(birth_date) AS birth_in,
		ckm_date(registered_date) AS registered_v,
		nullif(trim(ckm_text(member_level)), '') AS level_v,
		lower(trim(ckm_text(distributor))) IN ('是', 'y', 'yes', 'true', 't', '1', '经销商') AS distributor_v,
		CASE WHEN lower(trim(ckm_text(marketing_consent))) IN ('是', '同意', 'y', 'yes', 'true', 't', '1') THEN true
			WHEN lower(trim(ckm_text(marketing_consent))) IN ('否', '不同意', 'n', 'no', 'false', 'f', '0') THEN false END AS consent_v,
		CASE WHEN lower(trim(ckm_text(do_not_contact))) IN ('是', 'y', 'yes', 'true', 't', '1') THEN true
			WHEN lower(trim(ckm_text(do_not_contact))) IN ('否', 'n', 'no', 'false', 'f', '0') THEN false END AS dnc_v,
		nullif(lower(trim(ckm_text(customer_type))), '') AS type_in,
		CASE upper(trim(ckm_text(sex))) WHEN '男' THEN 'M' WHEN 'M' THEN 'M' WHEN 'MALE' THEN 'M'
			WHEN '女' THEN 'F' WHEN 'F' THEN 'F' WHEN 'FEMALE' THEN 'F' END AS sex_in,
		(SELECT g.code FROM ld_region g WHERE g.province IS NOT DISTINCT FROM s.province AND g.city IS NOT DISTINCT FROM s.city) AS region_in
	FROM s`
	if err := l.createCleaned("customers", "c_customers", q); err != nil {
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
		{"no_customer_key", "error", "validate", "member_card", nz("id_number") + " IS NULL AND card IS NULL AND mobile_v IS NULL AND email_v IS NULL AND cref IS NULL"},
		{"name_missing", "warn", "validate", "name", "name_v IS NULL"},
		// A place ckm cannot resolve is kept in the ledger, not turned into "unknown" silently.
		{"region_unknown", "warn", "validate", "city", "region_in IS NULL AND (" + nz("province") + " IS NOT NULL OR " + nz("city") + " IS NOT NULL)"},
	})
}

// memo cleans one staged column once per distinct value: Go functions cost
// far more per call than a hash join, and till exports repeat their
// prices, quantities, stores, cashiers, products, times and customers.
type memo struct {
	column string // staged field
	out    string // cleaned column
	// expr is SQL cleaning the staged value x.
	expr func(x string) string
	// fast, when set, is SQL giving what expr gives for a value that
	// matches guard (an RE2 pattern matched whole) without calling Go: a
	// plain ASCII code, a number, a time written as 2024-03-05 14:22:31.
	guard string
	fast  func(x string) string
}

// cleaned is SQL for the memo's cleaned value of x: fast where guard
// matches, expr elsewhere.
func (m memo) cleaned(x string) string {
	if m.fast == nil {
		return m.expr(x)
	}
	return fmt.Sprintf("CASE WHEN regexp_full_match(%s, %s) THEN %s ELSE %s END", x, engine.QuoteString(m.guard), m.fast(x), m.expr(x))
}

// fastGoFree tells whether the memo's fast path is SQL alone, calling no
// Go function (every Go scalar ckm registers is named ckm_…): a
// regular expression and a cast per line then cost less than a memo's
// DISTINCT and join. A fast path that calls Go (country's ckm_country)
// still costs one Go call per line cleaned in place, one per distinct
// value through the memo.
func (m memo) fastGoFree() bool {
	return m.fast != nil && !strings.Contains(m.fast("x"), "ckm_")
}

// plainText matches a value clean.Text returns unchanged and that trim
// leaves as it is: printable ASCII words, each two apart by one space
// (TestPlainTextIsClean). ckm_text(x) is then x.
const plainText = `[!-~]+( [!-~]+)*`

// plainTimestamp matches a time written as 2024-03-05 14:22:31 whose
// fields are in range (a year from 1000, month 01–12, day 01–31, hour
// 00–23, minute and second 00–59): ckm_timestamp then gives what DuckDB's
// cast does, a day that is no calendar day (02-30) included — NULL
// (TestMemoFastPathsChangeNothing).
const plainTimestamp = `[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]`

// textMemo is the memo of a free-text code or name: NFKC-folded and
// trimmed, NULL when blank.
func textMemo(column, out string) memo {
	return memo{column: column, out: out,
		expr:  func(x string) string { return "nullif(trim(ckm_text(" + x + ")), '')" },
		guard: plainText, fast: func(x string) string { return x }}
}

var salesMemos = []memo{
	{column: "ts", out: "ts_v", expr: func(x string) string { return "ckm_timestamp(" + x + ")" },
		guard: plainTimestamp, fast: func(x string) string { return "TRY_CAST(" + x + " AS TIMESTAMP)" }},
	{column: "quantity", out: "qty_d", expr: func(x string) string { return "TRY_CAST(nullif(trim(ckm_text(" + x + ")), '') AS DECIMAL(18,3))" },
		guard: plainText, fast: func(x string) string { return "TRY_CAST(" + x + " AS DECIMAL(18,3))" }},
	{column: "unit_price", out: "price_v", expr: func(x string) string { return "CAST(ckm_unit_price(" + x + ") AS DECIMAL(18,4))" }},
	{column: "freight", out: "freight_v", expr: func(x string) string { return "ckm_amount(" + x + ")" }},
	{column: "payment_amount", out: "payment_v", expr: func(x string) string { return "ckm_amount(" + x + ")" }},
	{column: "discount", out: "discount_in", expr: func(x string) string { return "ckm_amount(" + x + ")" }},
	{column: "amount", out: "amount_in", expr: func(x string) string { return "ckm_amount(" + x + ")" }},
	textMemo("member_card", "card"),
	{column: "mobile", out: "mobile_v", expr: func(x string) string { return "ckm_mobile(" + x + ")" }},
	textMemo("product_code", "product_v"),
	textMemo("store_code", "store_v"),
	textMemo("store_name", "store_name_v"),
	textMemo("salesperson", "salesperson_v"),
	{column: "line_no", out: "line_v", expr: func(x string) string { return "TRY_CAST(nullif(trim(ckm_text(" + x + ")), '') AS INTEGER)" },
		guard: plainText, fast: func(x string) string { return "TRY_CAST(" + x + " AS INTEGER)" }},
	{column: "email", out: "email_v", expr: func(x string) string { return "ckm_email(" + x + ")" }},
	{column: "id_number", out: "idn", expr: func(x string) string { return "ckm_id_normalize(" + x + ")" }},
	// The source's customer id: a whole number written with a zero
	// fraction (12346.0) is the number (12346); see customerRef.
	{column: "customer_ref", out: "cref_v",
		expr: func(x string) string {
			return `nullif(regexp_replace(trim(ckm_text(` + x + `)), '^([0-9]+)\.0+$', '\1'), '')`
		},
		guard: plainText, fast: func(x string) string { return `nullif(regexp_replace(` + x + `, '^([0-9]+)\.0+$', '\1'), '')` }},
	{column: "country", out: "country_v", expr: func(x string) string { return "ckm_country(ckm_text(" + x + "))" },
		guard: plainText, fast: func(x string) string { return "ckm_country(" + x + ")" }},
	{column: "order_status", out: "status_v", expr: func(x string) string { return "nullif(lower(trim(ckm_text(" + x + "))), '')" },
		guard: plainText, fast: func(x string) string { return "lower(" + x + ")" }},
}

// buildMemos creates the table md_<out> (raw, v) of each memo over the
// distinct values of its column in table.
func (l *loader) buildMemos(table string, memos []memo) error {
	for _, m := range memos {
		q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE md_%s AS SELECT raw, %s AS v FROM (SELECT DISTINCT %s AS raw FROM %s WHERE %s IS NOT NULL)`,
			m.out, m.cleaned("raw"), engine.QuoteIdent(m.column), table, engine.QuoteIdent(m.column))
		if err := l.exec("validate", q); err != nil {
			return err
		}
	}
	return nil
}

// memoSample is the number of staged rows, from the first, whose distinct
// values tell whether a column repeats enough to be worth a memo.
const memoSample = 8192

// memoMaxDistinct is the share of distinct values in memoSample above
// which a column is cleaned in place rather than through a memo: the
// memo's DISTINCT and join cost about as much as the calls they save when
// each value comes about twice (a time stamped to the second on every
// line comes once).
const memoMaxDistinct = 0.5

// cleanedColumns is SQL for the cleaned columns of memos over table
// (aliased alias in the query that reads them) and the joins they need.
// A column the load leaves empty, whose values hardly repeat, or whose
// sampled values all take a fast path that calls no Go (plain codes and
// numbers: a regular expression per line costs less than a memo's
// DISTINCT and join; see fastGoFree) is cleaned in place; the others
// through a memo table. inline
// cleans all in place (a small load), opts.memoAlways none.
func (l *loader) cleanedColumns(table, alias string, memos []memo, inline bool) (cols, joins string, err error) {
	if inline {
		return inlineMemoColumns(memos, alias), "", nil
	}
	use := make([]bool, len(memos))
	if l.opts.memoAlways {
		for i := range use {
			use[i] = true
		}
	} else {
		var given, sampled, distinct, fast []string
		for _, m := range memos {
			c := engine.QuoteIdent(m.column)
			given = append(given, "count("+c+")")
			sampled = append(sampled, "count("+c+")")
			distinct = append(distinct, "count(DISTINCT "+c+")")
			if m.fastGoFree() {
				fast = append(fast, fmt.Sprintf("count(*) FILTER (WHERE regexp_full_match(%s, %s))", c, engine.QuoteString(m.guard)))
			} else {
				fast = append(fast, "0")
			}
		}
		n := len(memos)
		vals := make([]int64, 4*n)
		ptrs := make([]any, 4*n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		q := fmt.Sprintf(`SELECT * FROM (SELECT %s FROM %s), (SELECT %s, %s, %s FROM (FROM %s LIMIT %d))`,
			strings.Join(given, ", "), table, strings.Join(sampled, ", "), strings.Join(distinct, ", "), strings.Join(fast, ", "), table, memoSample)
		if err := l.tx.QueryRowContext(l.ctx, q).Scan(ptrs...); err != nil {
			return "", "", fmt.Errorf("validate: which columns repeat: %w", err)
		}
		for i, m := range memos {
			given, sampled, distinct, fast := vals[i], vals[n+i], vals[2*n+i], vals[3*n+i]
			allFast := m.fastGoFree() && fast == sampled
			use[i] = given > 0 && !allFast && float64(distinct) <= memoMaxDistinct*float64(sampled)
		}
	}
	var memoed, inPlace []memo
	for i, m := range memos {
		if use[i] {
			memoed = append(memoed, m)
		} else {
			inPlace = append(inPlace, m)
		}
	}
	if err := l.buildMemos(table, memoed); err != nil {
		return "", "", err
	}
	var parts []string
	if len(memoed) > 0 {
		parts = append(parts, memoColumns(memoed))
	}
	if len(inPlace) > 0 {
		parts = append(parts, inlineMemoColumns(inPlace, alias))
	}
	return strings.Join(parts, ",\n\t\t\t"), memoJoins(memoed, alias), nil
}

func memoColumns(memos []memo) string {
	cols := make([]string, len(memos))
	for i, m := range memos {
		cols[i] = fmt.Sprintf("md_%s.v AS %s", m.out, m.out)
	}
	return strings.Join(cols, ",\n\t\t\t")
}

// inlineSalesLines is the number of staged sales lines up to which
// validateSales cleans each line in place instead of through memos.
const inlineSalesLines = 2048

// inlineMemoColumns is memoColumns without the memo tables: each memo's
// expression over the staged column of alias itself, NULL where it is NULL
// (as the memo's LEFT JOIN gives).
func inlineMemoColumns(memos []memo, alias string) string {
	cols := make([]string, len(memos))
	for i, m := range memos {
		col := alias + "." + engine.QuoteIdent(m.column)
		cols[i] = fmt.Sprintf("CASE WHEN %s IS NOT NULL THEN %s END AS %s", col, m.cleaned(col), m.out)
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

func (l *loader) validateInteractions() error {
	// The contact's mobile cleaned, and its key tokenised, once per
	// distinct (mobile, card): not a Go call per contact.
	if err := l.createCleaned("interactions", "mt_interactions", `SELECT mobile, member_card, mobile_v,
			`+l.keyToken("mobile", "coalesce(mobile_v, nullif(trim(mobile), ''), nullif(trim(member_card), ''))")+` AS k_tok
		FROM (SELECT mobile, member_card, ckm_mobile(mobile) AS mobile_v FROM (SELECT DISTINCT mobile, member_card FROM stg_interactions))`); err != nil {
		return err
	}
	q := `WITH s AS (
		SELECT s.*, f.channel, f.channel_key, ckm_timestamp(ts) AS ts_v, t.mobile_v, t.k_tok
		FROM stg_interactions s JOIN ld_file f USING (file_id)
		JOIN mt_interactions t ON t.mobile IS NOT DISTINCT FROM s.mobile AND t.member_card IS NOT DISTINCT FROM s.member_card),
	k AS (SELECT s.*, fi.etl_run_id AS loaded_run, fi.etl_file_id AS loaded_file, fi.source_line AS loaded_line FROM (
		SELECT *, coalesce(k_tok, '') || '|' ||
			coalesce(strftime(ts_v, '%Y-%m-%d %H:%M:%S'), nullif(trim(ts), ''), '') AS k_id FROM s) s
		LEFT JOIN (SELECT interaction_id, min(etl_run_id) AS etl_run_id, min(etl_file_id) AS etl_file_id, min(source_line) AS source_line
			FROM fact_interaction WHERE interaction_id IS NOT NULL GROUP BY ALL) fi ON fi.interaction_id = s.k_id)
	SELECT k.*,
		` + firstOfKey("k.k_id", "nullif(trim(k.ts), '') IS NOT NULL") + `, -- a contact without a time has no key
		nullif(trim(ckm_text(member_card)), '') AS card,
		TRY_CAST(nullif(trim(ckm_text(satisfaction)), '') AS INTEGER) AS satisfaction_v,
		TRY_CAST(TRY_CAST(nullif(trim(ckm_text(duration)), '') AS DOUBLE) AS INTEGER) AS duration_v,
		nullif(trim(ckm_text(category)), '') AS category_v,
		nullif(trim(ckm_text(agent)), '') AS agent_v
	FROM k`
	if err := l.createCleaned("interactions", "c_interactions", q); err != nil {
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
	// The respondent's card and mobile cleaned, and their key tokenised,
	// once per distinct (card, mobile): not a Go call per response.
	if err := l.createCleaned("responses", "mt_responses", `SELECT member_card, mobile, card, mobile_v, `+l.keyToken("mobile", "coalesce(card, mobile_v, nullif(trim(mobile), ''))")+` AS k_tok
		FROM (SELECT member_card, mobile, nullif(trim(ckm_text(member_card)), '') AS card, ckm_mobile(mobile) AS mobile_v
			FROM (SELECT DISTINCT member_card, mobile FROM stg_responses))`); err != nil {
		return err
	}
	q := `WITH s AS (
		SELECT s.*, f.channel, f.channel_key,
			nullif(trim(ckm_text(campaign_code)), '') AS code,
			t.card, t.mobile_v, t.k_tok
		FROM stg_responses s JOIN ld_file f USING (file_id)
		JOIN mt_responses t ON t.member_card IS NOT DISTINCT FROM s.member_card AND t.mobile IS NOT DISTINCT FROM s.mobile),
	k AS (SELECT s.*, fc.etl_run_id AS loaded_run, fc.etl_file_id AS loaded_file, fc.source_line AS loaded_line FROM (
		SELECT *, code || '|' || coalesce(k_tok, '') AS k_id FROM s) s
		LEFT JOIN (SELECT response_id, min(etl_run_id) AS etl_run_id, min(etl_file_id) AS etl_file_id, min(source_line) AS source_line
			FROM fact_campaign WHERE response_id IS NOT NULL GROUP BY ALL) fc ON fc.response_id = s.k_id)
	SELECT k.*,
		` + firstOfKey("k.k_id", "k.code IS NOT NULL") + `,
		ckm_date(targeted_date) AS targeted_v,
		ckm_date(response_date) AS response_v,
		lower(trim(ckm_text(responded))) IN ('是', 'y', 'yes', 'true', 't', '1') AS responded_v,
		ckm_amount(revenue) AS revenue_in,
		coalesce(ckm_amount(revenue), 0) AS revenue_v
	FROM k`
	if err := l.createCleaned("responses", "c_responses", q); err != nil {
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
