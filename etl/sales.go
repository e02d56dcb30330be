package etl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// salesContent are the staged fields that make up a sales line's content,
// as exported: two lines with the same natural key and the same content are
// duplicates; the same key with other content is a correction.
var salesContent = []string{"order_id", "ts", "product_code", "quantity", "unit_price", "discount", "amount",
	"store_code", "store_name", "salesperson", "member_card", "mobile", "email", "id_number", "province", "city"}

// salesContentV6 are the fields of a sales line's content added in schema
// version 6: they enter its hash only when given, so a line exported
// without them hashes as before.
var salesContentV6 = []string{"customer_ref", "country", "product_name", "category", "freight", "order_status",
	"payment_type", "payment_amount"}

// customerRef is SQL for the normalised customer_ref of the staged row
// aliased alias, scoped by the source's channel: a whole number written
// with a zero fraction (12346.0) is the number (12346).
func customerRef(alias string) string {
	v := fmt.Sprintf(`nullif(regexp_replace(trim(ckm_text(%s.customer_ref)), '^([0-9]+)\.0+$', '\1'), '')`, alias)
	return fmt.Sprintf("CASE WHEN %s IS NOT NULL THEN coalesce(%s.channel, '') || ':' || %s END", v, alias, v)
}

// contentHash is SQL for a stable 64-bit hash of text columns (md5 of their
// text with NULLs marked, as defined by RFC 1321, so hashes stored in
// fact_sales survive DuckDB upgrades); each optional column enters only
// when not NULL, so adding one keeps the hashes of lines without it.
func contentHash(cols, optional []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("coalesce(%s, chr(30))", engine.QuoteIdent(c))
	}
	extra := ""
	for _, c := range optional {
		extra += fmt.Sprintf(", coalesce(chr(31) || %s || '=' || %s, '')", engine.QuoteString(c), engine.QuoteIdent(c))
	}
	return md5Upper("concat(concat_ws(chr(31), " + strings.Join(parts, ", ") + ")" + extra + ")")
}

// md5Upper is SQL for DuckDB's md5_number_upper of a text expression (the
// first eight bytes of its RFC 1321 digest as a little-endian UBIGINT),
// computed from md5_number: the same value, six times faster on a million
// lines (md5_number_upper took 8.2 s, this 1.4 s, DuckDB 1.5.6).
func md5Upper(text string) string {
	return "CAST(md5_number(" + text + ") & 18446744073709551615 AS UBIGINT)"
}

// validateSales cleans the staged sales lines into c_sales, gives each its
// natural key — (source, store code, order id, line key) — and applies the
// rules. The line key is the export's line number where it has one; a line
// without one is numbered by its position in the order but keyed by its
// content, so removing a line never turns the later ones into corrections
// (and identical items of one record are numbered apart).
//
// c_sales is narrow: the keys, the cleaned fields, the few staged fields
// the later steps read raw (salesRawKept) and the rules' hits, with the
// raw record of the (few) lines a rule fired on. Tables dropped or
// replaced inside the load's transaction keep their memory until it
// commits, so a wide copy of stg_sales, even if dropped at once, would
// cost its full size; the raw record of a line judged later (duplicate,
// correction) is rebuilt from stg_sales.
func (l *loader) validateSales() error {
	if !l.cleanedAhead {
		if err := l.cleanSales(); err != nil {
			return err
		}
	}
	if err := l.exec("validate", `INSERT INTO ld_reject `+ledgerColumns+`
		SELECT file_id, _line, h.stage, h.rule, h.severity, h.col, h.val, raw, NULL FROM (
			SELECT file_id, _line, raw, unnest(hits) AS h FROM c_sales WHERE hits IS NOT NULL)`); err != nil {
		return fmt.Errorf("rules of sales: %w", err)
	}
	// Cleaned ahead, the lines still lack the rule that reads the warehouse
	// (productUnknown): classifySales applies it, rebuilding its lines' raw
	// records with those of the lines it decides.
	if err := l.classifySales(); err != nil {
		return err
	}
	if err := l.rejectRepeats(targets["sales"]); err != nil {
		return err
	}
	return l.okView(targets["sales"], "c_sales")
}

// cleanSales creates c_sales from stg_sales: the cleaned lines, each with
// the hits of the rules that judge a line alone (salesRules).
func (l *loader) cleanSales() error {
	// A few lines are cleaned in place: the memo tables and their joins
	// cost more than the calls they save (a 10-line load spent a third of
	// its c_sales statement setting up the thirteen joins).
	lines, err := l.count(`SELECT count(*) FROM stg_sales`)
	if err != nil {
		return err
	}
	inline := lines <= inlineSalesLines && !l.opts.memoAlways
	cols, joins, err := l.cleanedColumns("stg_sales", "s", salesMemos, inline)
	if err != nil {
		return err
	}
	// Lines without a line number: their position in the order, and for
	// identical items of one record (a JSON order listing the same item
	// twice) their occurrence, which keeps them apart.
	if err := l.exec("validate", `CREATE OR REPLACE TEMP TABLE sales_pos AS
		SELECT file_id, _line, _item,
			row_number() OVER (PARTITION BY file_id, order_id ORDER BY _line, _item) AS pos,
			row_number() OVER (PARTITION BY file_id, _line, product_code, quantity, unit_price, discount, amount ORDER BY _item) AS n
		FROM stg_sales WHERE nullif(trim(line_no), '') IS NULL`); err != nil {
		return err
	}
	// The columns of c_sales this load leaves empty (no file gave their
	// field) are not stored: c_sales is then a view giving them as NULL
	// over a narrower table (a million lines of a plain order export left
	// ~14 of its columns empty, ~150 MB written for nothing, and spilled
	// later under the load's memory limit).
	var empty map[string]bool
	if !inline && !l.opts.everyStep {
		if empty, err = l.emptySalesColumns(); err != nil {
			return err
		}
	}
	for _, q := range l.salesCleanSQL(cols, joins, empty) {
		if err := l.exec("validate", q); err != nil {
			return err
		}
	}
	return nil
}

// salesOmissible are the columns of c_sales that are NULL on every line
// when the staged field named is: what cleaning makes of a NULL is NULL
// (memos and inline cleaning alike), and the kept raw fields are the
// fields themselves. Each with its type, for the view that gives it.
var salesOmissible = []struct{ col, field, typ string }{
	{"freight_v", "freight", "DECIMAL(18,2)"},
	{"payment_v", "payment_amount", "DECIMAL(18,2)"},
	{"mobile_v", "mobile", "VARCHAR"},
	{"email_v", "email", "VARCHAR"},
	{"idn", "id_number", "VARCHAR"},
	{"cref", "customer_ref", "VARCHAR"},
	{"country_v", "country", "VARCHAR"},
	{"status_v", "order_status", "VARCHAR"},
	{"mobile", "mobile", "VARCHAR"},
	{"payment_type", "payment_type", "VARCHAR"},
	{"province", "province", "VARCHAR"},
	{"city", "city", "VARCHAR"},
	{"product_name", "product_name", "VARCHAR"},
	{"category", "category", "VARCHAR"},
}

// emptySalesColumns tells which columns of salesOmissible are NULL on
// every line of this load: those whose staged field is.
func (l *loader) emptySalesColumns() (map[string]bool, error) {
	var fields []string
	seen := map[string]int{}
	for _, o := range salesOmissible {
		if _, ok := seen[o.field]; !ok {
			seen[o.field] = len(fields)
			fields = append(fields, o.field)
		}
	}
	counts := make([]string, len(fields))
	given := make([]bool, len(fields))
	ptrs := make([]any, len(fields))
	for i, f := range fields {
		counts[i] = "count(" + engine.QuoteIdent(f) + ") > 0"
		ptrs[i] = &given[i]
	}
	if err := l.tx.QueryRowContext(l.ctx, "SELECT "+strings.Join(counts, ", ")+" FROM stg_sales").Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("validate: empty fields: %w", err)
	}
	empty := map[string]bool{}
	for _, o := range salesOmissible {
		if !given[seen[o.field]] {
			empty[o.col] = true
		}
	}
	return empty, nil
}

// salesCleanSQL creates c_sales from stg_sales: cols are the cleaned
// columns of salesMemos and joins the memo tables they read. The columns
// in empty are left out of the table, c_sales_d, and c_sales is a view
// giving them as NULL (with their types); with none, c_sales is the table.
func (l *loader) salesCleanSQL(cols, joins string, empty map[string]bool) []string {
	t := targets["sales"]
	hits, fired := ruleHits(t, l.salesRules())
	kept := append(append([]string{"file_id", "_line", "_item"}, salesCleaned...), salesRawKept...)
	name, view := "c_sales", ""
	if len(empty) > 0 {
		types := map[string]string{}
		for _, o := range salesOmissible {
			types[o.col] = o.typ
		}
		var stored, all []string
		for _, c := range kept {
			if empty[c] {
				all = append(all, "NULL::"+types[c]+" AS "+c)
			} else {
				stored = append(stored, c)
				all = append(all, c)
			}
		}
		kept = stored
		name = "c_sales_d"
		view = `CREATE OR REPLACE TEMP VIEW c_sales AS SELECT ` + strings.Join(all, ", ") + `, hits, raw FROM c_sales_d`
	}
	q := `CREATE OR REPLACE TEMP TABLE ` + name + ` AS
	WITH s AS (
		SELECT s.*, f.source, f.channel, f.channel_key, f.customer_required, f.corrections, f.guests, f.cancel_as,
			f.cancel_status, f.cancel_prefix,
			` + textMemo("order_id", "k_order").cleaned("order_id") + ` AS k_order,
			p.pos IS NULL AS line_given,
			` + contentHash(salesContent, salesContentV6) + ` AS record_hash,
			p.pos, p.n AS item_occurrence
		FROM stg_sales s JOIN ld_file f USING (file_id)
		LEFT JOIN sales_pos p ON p.file_id = s.file_id AND p._line = s._line AND p._item = s._item),
	x AS (
		SELECT s.*,
			` + cols + `,
			g.code AS region_code
		FROM s
		` + joins + `
		LEFT JOIN ld_region g ON g.province IS NOT DISTINCT FROM s.province AND g.city IS NOT DISTINCT FROM s.city),
	k AS (
		SELECT * EXCLUDE (pos, line_v, cref_v, region_code),
			-- NULL where a line number is given but unusable (rule line_no_invalid)
			CASE WHEN pos IS NULL THEN line_v ELSE CAST(pos AS INTEGER) END AS k_line,
			-- The source's customer id, scoped by the channel.
			CASE WHEN cref_v IS NOT NULL THEN coalesce(channel, '') || ':' || cref_v END AS cref,
			-- Outside China a place is free text, not a GB/T 2260 region.
			CASE WHEN coalesce(country_v, 'CN') = 'CN' THEN region_code END AS region_v
		FROM x),
	y AS (
		SELECT * EXCLUDE (cancel_status, cancel_prefix, item_occurrence), coalesce(discount_in, 0) AS discount_v,
			coalesce(list_contains(cancel_status, status_v), false)
				OR coalesce(starts_with(k_order, cancel_prefix), false) AS cancelled,
			CASE WHEN line_given THEN CAST(k_line AS VARCHAR)
				ELSE '#' || CAST(record_hash AS VARCHAR) || CASE WHEN item_occurrence > 1 THEN '.' || item_occurrence ELSE '' END END AS line_key
		FROM k),
	-- A cancelled order loaded as a return: its lines negative.
	z AS (
		SELECT * REPLACE (
			CASE WHEN cancelled AND cancel_as = 'return' THEN -abs(qty_d) ELSE qty_d END AS qty_d,
			CASE WHEN cancelled AND cancel_as = 'return' THEN -abs(amount_in) ELSE amount_in END AS amount_in,
			CASE WHEN cancelled AND cancel_as = 'return' THEN -abs(freight_v) ELSE freight_v END AS freight_v)
		FROM y),
	h AS (SELECT *, CASE WHEN ` + fired + ` THEN ` + hits + ` END AS hits FROM z)
	SELECT ` + strings.Join(kept, ", ") + `, hits,
		CASE WHEN hits IS NOT NULL THEN left(` + rawRecord(t) + `, 4096) END AS raw
	FROM h`
	if view == "" {
		return []string{q}
	}
	return []string{q, view}
}

// salesCleaned are the columns of c_sales besides the line's identity
// (file_id, _line, _item) and salesRawKept: its natural key and content
// hash, and what cleaning made of its fields. The file's own settings
// (source, channel, corrections …) are not repeated on every line: ok_sales
// joins them from ld_file.
var salesCleaned = []string{"k_order", "k_line", "line_given", "line_key", "record_hash",
	"ts_v", "qty_d", "price_v", "amount_in", "discount_v", "freight_v", "payment_v",
	"card", "mobile_v", "email_v", "idn", "cref", "product_v", "store_v", "store_name_v", "salesperson_v",
	"country_v", "status_v", "region_v"}

// salesRawKept are the staged fields of a sales line that the steps after
// validation read as exported (the fact insert cleans them itself).
var salesRawKept = []string{"mobile", "payment_type", "province", "city", "product_name", "category"}

// salesFileColumns are the columns of ld_file that ok_sales gives every
// sales line.
const salesFileColumns = "f.source, f.channel, f.channel_key, f.corrections, f.guests"

// productUnknown warns of a sales line whose product the warehouse does
// not know, after this load's products step: the one rule of a line that
// reads the warehouse, so cleaning ahead of the load's transaction
// (stageAhead) leaves it to validateSales.
var productUnknown = rule{"product_unknown", "warn", "validate", "product_code",
	"product_v IS NULL OR product_v NOT IN (SELECT product_code FROM dim_product WHERE product_code IS NOT NULL AND NOT is_inferred)"}

// salesRules are the validation rules of a cleaned sales line.
func (l *loader) salesRules() []rule {
	rules := []rule{
		{"key_missing", "error", "validate", "order_id", "k_order IS NULL"},
		{"order_cancelled", "error", "validate", "order_status", "cancelled AND cancel_as = 'exclude'"},
		{"line_no_invalid", "error", "clean", "line_no", "k_line IS NULL OR k_line <= 0"},
	}
	rules = append(rules, l.dateRules("ts", "ts_v")...)
	rules = append(rules,
		rule{"quantity_invalid", "error", "clean", "quantity", fmt.Sprintf("qty_d IS NULL OR qty_d <> round(qty_d) OR abs(qty_d) > %d", maxQuantity)},
		rule{"quantity_zero", "error", "validate", "quantity", "qty_d = 0"},
		rule{"amount_invalid", "error", "clean", "unit_price", nz("unit_price") + " IS NULL OR price_v IS NULL"},
		amountRule("discount", "discount_in"),
		amountRule("amount", "amount_in"),
		amountRule("freight", "freight_v"),
		amountRule("payment_amount", "payment_v"),
		rule{"price_negative", "error", "validate", "unit_price", "price_v < 0"},
		// Keeps quantity × price and the line amount inside DECIMAL(18,2).
		rule{"amount_invalid", "error", "validate", "unit_price", fmt.Sprintf("abs(price_v) > %d", maxUnitPrice)},
		mobileRule("mobile", "mobile_v"),
		rule{"no_customer_key", "error", "validate", "mobile", "customer_required AND card IS NULL AND mobile_v IS NULL AND email_v IS NULL AND idn IS NULL AND cref IS NULL"},
		rule{"country_unknown", "warn", "clean", "country", "country_v IS NULL AND " + nz("country") + " IS NOT NULL"},
	)
	if l.stageConn == nil {
		rules = append(rules, productUnknown)
	}
	return append(rules, rule{"region_unknown", "warn", "validate", "city",
		"region_v IS NULL AND coalesce(country_v, 'CN') = 'CN' AND (" + nz("province") + " IS NOT NULL OR " + nz("city") + " IS NOT NULL)"})
}

// classifySales decides, for every valid sales line, whether it is new, a
// duplicate (the same content as the line before it under its natural key,
// in the warehouse or earlier in this load) or a correction (the same key
// with other content). Corrections are restated (the line they replace is
// reversed) or rejected, as the source's mapping says. Lines that are not
// loaded go to sales_skip; every decision gets a ledger entry.
func (l *loader) classifySales() error {
	// A warehouse without sales lines has none under this load's keys:
	// no need to gather the keys of every line (a first load of millions).
	// Nor, without lines loaded by schema version 1 (no record hash), is
	// there any to repeat by position.
	var facts, v1 int64
	if err := l.tx.QueryRowContext(l.ctx, `SELECT (SELECT count(*) FROM (SELECT 1 FROM fact_sales LIMIT 1)),
		(SELECT count(*) FROM (SELECT 1 FROM fact_sales WHERE record_hash IS NULL LIMIT 1))`).Scan(&facts, &v1); err != nil {
		return fmt.Errorf("sales keys: %w", err)
	}
	active := salesActiveSQL
	if facts == 0 {
		active = salesActiveSQL[:strings.Index(salesActiveSQL, "SEMI JOIN")] + "WHERE false"
	}
	steps := []string{salesValidSQL, active, salesChainSQL, salesClassSQL}
	if v1 > 0 || l.opts.everyStep {
		steps = append(steps, salesV1DuplicatesSQL)
	}
	if err := l.execAll("validate", steps); err != nil {
		return fmt.Errorf("sales keys: %w", err)
	}
	// The lines whose raw records the ledger needs: those decided here,
	// and, when the lines were cleaned ahead, those of an unknown product
	// (productUnknown). Their raw records are rebuilt in one scan of
	// stg_sales (the 5 M bench set's 24,199 decided and 14,656 unknown
	// lines were two scans of every staged field, ~2 s each under the
	// load's memory limit). Most lines repeat no key and name a known
	// product: with no line needed, nothing reads stg_sales, and with no
	// decision the ledger insert and the warnings' cleanup have nothing
	// to do.
	decided, err := l.count(`SELECT count(*) FROM sales_class`)
	if err != nil {
		return fmt.Errorf("sales keys: %w", err)
	}
	// need: the lines needed, with whether their product is unknown — a
	// table when cleaned ahead (the decided lines and the unknown
	// products' together), else sales_class's lines as they are.
	need, needed := "", decided
	switch {
	case l.cleanedAhead:
		if err := l.exec("validate", `CREATE OR REPLACE TEMP TABLE sales_need AS
			SELECT file_id, _line, _item, bool_or(unknown) AS unknown FROM (
				SELECT file_id, _line, _item, false AS unknown FROM sales_class
				UNION ALL SELECT file_id, _line, _item, true FROM c_sales WHERE `+productUnknown.Cond+`) GROUP BY ALL`); err != nil {
			return fmt.Errorf("sales keys: %w", err)
		}
		if needed, err = l.count(`SELECT count(*) FROM sales_need`); err != nil {
			return fmt.Errorf("sales keys: %w", err)
		}
		if err := l.checkSalesKept("sales_need"); err != nil {
			return err
		}
		need = "sales_need"
	case decided > 0 || l.opts.everyStep:
		need = "(SELECT file_id, _line, _item, false AS unknown FROM sales_class)"
	}
	steps = []string{salesSkipSQL}
	if need != "" {
		if needed > 0 || l.opts.everyStep {
			// A few lines (a re-sent line or ten in a file of millions):
			// their line numbers, written into the statement, let the scan
			// of stg_sales skip the vectors without one instead of reading
			// every staged field of every line into the join (1.7 CPU s
			// for 10 lines of a million). The join still matches on the
			// whole line id.
			filter := ""
			if needed <= ledgerLinesListed && !l.opts.everyStep {
				if filter, err = l.neededLines(need); err != nil {
					return fmt.Errorf("sales keys: %w", err)
				}
			}
			steps = append(steps, salesRawSQL(need, filter))
			if l.cleanedAhead {
				steps = append(steps, productUnknownLedgerSQL)
			}
		}
		if decided > 0 || l.opts.everyStep {
			steps = append(steps, salesLedgerSQL, salesSkippedWarningsSQL)
		}
	}
	// The working tables stay to the load's cleanup: dropped here, inside
	// the load's transaction, they would hold their memory to its end all
	// the same (TestDroppedTempTableKeepsMemoryUntilCommit).
	if err := l.execAll("validate", steps); err != nil {
		return fmt.Errorf("sales keys: %w", err)
	}
	return nil
}

// salesKey is the natural key of a sales line.
const salesKey = "source, store_k, k_order, line_key"

// salesValidSQL keeps the sales lines of this load that passed validation:
// a view, not another table the size of the load (it is read before the
// ledger gets this step's own rejects).
const salesValidSQL = `CREATE OR REPLACE TEMP VIEW sales_valid AS
		SELECT c.file_id, c._line, c._item, f.source, coalesce(c.store_v, '') AS store_k, c.k_order, c.line_key, c.k_line,
			c.line_given, c.record_hash, f.corrections
		FROM c_sales c JOIN ld_file f USING (file_id) ANTI JOIN ld_err e ON e.file_id = c.file_id AND e.line = c._line`

// salesActiveSQL finds the current lines of the warehouse under the keys
// this load brings.
const salesActiveSQL = `CREATE OR REPLACE TEMP TABLE sales_active AS
		SELECT f.source, coalesce(f.store_code, '') AS store_k, f.order_id AS k_order, f.line_key, f.record_hash,
			f.etl_run_id, f.etl_file_id, f.source_line
		FROM fact_sales f
		SEMI JOIN (SELECT DISTINCT ` + salesKey + ` FROM sales_valid) k
			ON k.source = f.source AND k.store_k = coalesce(f.store_code, '') AND k.k_order = f.order_id AND k.line_key = f.line_key
		WHERE NOT f.is_reversal AND f.restated_by_run IS NULL`

// salesChainSQL orders, under each key seen more than once (only those
// need ordering), the warehouse's line and this load's, grouping runs of
// equal content. A key with a NULL part matches nothing (as in a join).
const salesChainSQL = `CREATE OR REPLACE TEMP TABLE sales_chain AS
		WITH ch AS NOT MATERIALIZED (
			SELECT ` + salesKey + `, record_hash, etl_run_id AS run, etl_file_id AS file_id, source_line AS _line, 0 AS _item,
				true AS is_fact, NULL::VARCHAR AS corrections FROM sales_active
			UNION ALL
			SELECT ` + salesKey + `, record_hash, NULL, file_id, _line, _item, false, corrections FROM sales_valid),
		-- Keys seen more than once, found by a 64-bit hash of the key (a
		-- collision only lets a key seen once through: alone in its
		-- partition below, it is its own first row and gets no decision).
		multi AS (SELECT hash(` + salesKey + `) AS h FROM ch GROUP BY h HAVING count(*) > 1),
		m AS (SELECT ch.* FROM ch SEMI JOIN multi ON multi.h = hash(` + salesKey + `)
			WHERE source IS NOT NULL AND store_k IS NOT NULL AND k_order IS NOT NULL AND line_key IS NOT NULL),
		g AS (
			SELECT *, sum(CASE WHEN record_hash IS NOT DISTINCT FROM prev_hash AND NOT first_row THEN 0 ELSE 1 END) OVER w AS grp
			FROM (SELECT *, lag(record_hash) OVER w AS prev_hash, row_number() OVER w = 1 AS first_row FROM m
				WINDOW w AS (PARTITION BY ` + salesKey + ` ORDER BY is_fact DESC, file_id, _line, _item))
			WINDOW w AS (PARTITION BY ` + salesKey + ` ORDER BY is_fact DESC, file_id, _line, _item ROWS UNBOUNDED PRECEDING)),
		f AS (
			SELECT *,
				first_value([coalesce(run, -1), file_id, _line, _item]) OVER gw AS grp_first,
				first_value([coalesce(run, -1), file_id, _line, _item]) OVER kw AS key_first,
				first_value(record_hash) OVER kw AS key_hash,
				first_value(is_fact AND record_hash IS NULL) OVER kw AS key_v1
			FROM g
			WINDOW gw AS (PARTITION BY ` + salesKey + `, grp ORDER BY is_fact DESC, file_id, _line, _item),
				kw AS (PARTITION BY ` + salesKey + ` ORDER BY is_fact DESC, file_id, _line, _item))
		SELECT *, lag(grp_first) OVER (PARTITION BY ` + salesKey + ` ORDER BY is_fact DESC, file_id, _line, _item) AS prev_first FROM f`

// salesClassSQL makes one decision per valid line of this load whose key
// was seen before.
const salesClassSQL = `CREATE OR REPLACE TEMP TABLE sales_class AS
		SELECT file_id, _line, _item, ` + salesKey + `,
			CASE
				WHEN key_v1 THEN 'duplicate_v1'
				WHEN corrections = 'reject' AND record_hash = key_hash THEN 'duplicate'
				WHEN corrections = 'reject' THEN 'correction_rejected'
				WHEN grp_first <> [coalesce(run, -1), file_id, _line, _item] THEN 'duplicate'
				ELSE 'correction' END AS outcome,
			CASE
				WHEN key_v1 OR corrections = 'reject' THEN key_first
				WHEN grp_first <> [coalesce(run, -1), file_id, _line, _item] THEN grp_first
				ELSE prev_first END AS ref
		FROM sales_chain
		WHERE NOT is_fact AND NOT first_row`

// salesV1DuplicatesSQL: lines without a line number loaded by schema
// version 1 were keyed by position, so the same position under the same
// order repeats them.
const salesV1DuplicatesSQL = `INSERT INTO sales_class
		SELECT v.file_id, v._line, v._item, v.source, v.store_k, v.k_order, v.line_key, 'duplicate_v1',
			[f.etl_run_id, f.etl_file_id, f.source_line, 0]
		FROM sales_valid v JOIN fact_sales f ON f.source = v.source AND coalesce(f.store_code, '') = v.store_k
			AND f.order_id = v.k_order AND f.line_key = CAST(v.k_line AS VARCHAR) AND f.record_hash IS NULL
			AND NOT f.is_reversal AND f.restated_by_run IS NULL
		WHERE NOT v.line_given AND NOT EXISTS (SELECT 1 FROM sales_class c WHERE c.file_id = v.file_id AND c._line = v._line AND c._item = v._item)`

// salesSkipSQL lists the lines that are not loaded.
const salesSkipSQL = `CREATE OR REPLACE TEMP TABLE sales_skip AS
		SELECT file_id, _line, _item FROM sales_class WHERE outcome IN ('duplicate', 'duplicate_v1', 'correction_rejected')`

// ledgerLinesListed is the number of needed lines up to which the
// rebuild of their raw records names their line numbers (salesRawSQL's
// filter).
const ledgerLinesListed = 2048

// neededLines is SQL filtering stg_sales on the line numbers of the lines
// in need (classifySales): " WHERE _line IN (…)".
func (l *loader) neededLines(need string) (string, error) {
	rows, err := l.tx.QueryContext(l.ctx, `SELECT DISTINCT _line FROM `+need+` ORDER BY 1`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return "", err
		}
		lines = append(lines, strconv.FormatInt(n, 10))
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return " WHERE _line IN (" + strings.Join(lines, ", ") + ")", nil
}

// salesRawSQL makes sales_raw: the staged product code and the raw record
// of each line in need (with its unknown flag; see classifySales). filter,
// when not "", narrows the scan of stg_sales to the lines needed
// (neededLines).
func salesRawSQL(need, filter string) string {
	return `CREATE OR REPLACE TEMP TABLE sales_raw AS
		SELECT c.f AS file_id, c.l AS _line, c.i AS _item, n.unknown, c.product_code, ` + rawRecord(targets["sales"]) + ` AS raw
		FROM (SELECT file_id AS f, _line AS l, _item AS i, ` + strings.Join(targets["sales"].fieldNames(), ", ") + ` FROM stg_sales` + filter + `) c
		JOIN ` + need + ` n ON n.file_id = c.f AND n._line = c.l AND n._item = c.i`
}

// productUnknownLedgerSQL writes the warnings of productUnknown for lines
// cleaned ahead, with their raw records.
var productUnknownLedgerSQL = `INSERT INTO ld_reject ` + ledgerColumns + `
		SELECT file_id, _line, ` + engine.QuoteString(productUnknown.Stage) + `, ` + engine.QuoteString(productUnknown.Name) + `, ` +
	engine.QuoteString(productUnknown.Severity) + `, ` + engine.QuoteString(productUnknown.Column) + `,
			left(CAST(product_code AS VARCHAR), 4096), left(raw, 4096), NULL
		FROM sales_raw WHERE unknown`

// salesLedgerSQL writes the ledger entries: one per line and decision (the
// items of a JSON order share its line), with the raw records of
// sales_raw.
const salesLedgerSQL = `INSERT INTO ld_reject (file_id, line, stage, rule, severity, column_name, raw_value, raw_record, message, ref_run_id, ref_file_id, ref_line)
		SELECT file_id, _line, 'validate',
			CASE outcome WHEN 'duplicate_v1' THEN 'duplicate' ELSE outcome END,
			CASE outcome WHEN 'correction_rejected' THEN 'error' ELSE 'info' END,
			'line_key', min(k_order || ' / ' || line_key), left(min(raw), 4096),
			CASE outcome
				WHEN 'duplicate' THEN 'same content as an earlier line under the same key'
				WHEN 'duplicate_v1' THEN 'same key as a line loaded before content was recorded (schema version 1): compared by key only'
				WHEN 'correction' THEN 'changed line under a known key: the line it replaces is reversed and this one loaded'
				ELSE 'changed line under a known key: the source keeps the loaded line (corrections: reject)' END,
			nullif(min(ref[1]), -1), min(ref[2]), min(ref[3])
		FROM (SELECT k.*, r.raw FROM sales_class k JOIN sales_raw r USING (file_id, _line, _item))
		GROUP BY file_id, _line, outcome`

// salesSkippedWarningsSQL drops the warnings of a line none of whose items
// is loaded: its outcome is "duplicate".
const salesSkippedWarningsSQL = `DELETE FROM ld_reject WHERE severity = 'warn' AND (file_id, line) IN (
			SELECT (k.file_id, k._line) FROM (SELECT file_id, _line, count(*) AS n FROM sales_skip GROUP BY ALL) k
			JOIN (SELECT file_id, _line, count(*) AS n FROM c_sales SEMI JOIN sales_skip USING (file_id, _line) GROUP BY ALL) c
				USING (file_id, _line)
			WHERE k.n = c.n)`

// restateSales appends, for every applied correction, a reversal of the
// line it replaces (negated quantity and amounts, traceable to the
// correcting run, file and line) and marks the replaced line restated.
func (l *loader) restateSales() error {
	// Most loads correct nothing: then both statements below would still
	// read every fact line of the warehouse (the join's build side).
	n, err := l.count(`SELECT count(*) FROM sales_class WHERE outcome = 'correction'`)
	if err != nil {
		return fmt.Errorf("corrections: %w", err)
	}
	if n == 0 {
		return nil
	}
	match := `f.source = c.source AND coalesce(f.store_code, '') = c.store_k AND f.order_id = c.k_order
		AND f.line_key = c.line_key AND f.etl_file_id = c.ref[2] AND f.source_line = c.ref[3] AND NOT f.is_reversal`
	steps := []string{
		fmt.Sprintf(`INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id, product_key, channel_key,
			store_key, salesperson_key, region_key, quantity, unit_price, amount, cost_amount, is_return, etl_run_id, etl_file_id,
			source_line, source, store_code, line_key, record_hash, is_reversal, restated_by_run,
			order_status, freight, country_code, region_text, city_text, payment_type, payment_amount)
		SELECT f.order_id, f.line_no, f.date_key, f.order_ts, f.customer_key, f.customer_id, f.product_key, f.channel_key,
			f.store_key, f.salesperson_key, f.region_key, -f.quantity, f.unit_price, -f.amount, -f.cost_amount, f.is_return,
			%d, c.file_id, c._line, f.source, f.store_code, f.line_key, f.record_hash, true, NULL,
			f.order_status, -f.freight, f.country_code, f.region_text, f.city_text, f.payment_type, -f.payment_amount
		FROM sales_class c JOIN fact_sales f ON %s
		WHERE c.outcome = 'correction'`, l.runID, match),
		fmt.Sprintf(`UPDATE fact_sales AS f SET restated_by_run = %d FROM sales_class c
		WHERE c.outcome = 'correction' AND %s AND f.restated_by_run IS NULL`, l.runID, match),
		// The lake's change record: the months of the rows restated
		// (in the load's transaction).
		engine.ChangeRecordSQL(fmt.Sprintf("load %d: restatement", l.runID), "fact_sales", fmt.Sprintf("restated_by_run = %d", l.runID)),
	}
	for _, q := range steps {
		if err := l.exec("facts", q); err != nil {
			return err
		}
	}
	return nil
}
