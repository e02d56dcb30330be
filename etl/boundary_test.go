package etl

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// ledgerSizes are the numbers of ledger entries one target's rules produce
// in TestLedgerBoundary: around a vector (2,048 rows) and around a row
// group (122,880), where DuckDB changes how it inserts. Without
// preserve_insertion_order=false, DuckDB 1.5.6 lost the whole ledger of
// products, campaigns, customers and interactions from 122,879 entries
// and of sales and responses from 122,880.
var ledgerSizes = []int{2047, 2048, 2049, 122879, 122880, 122881}

// issue is one planted ledger entry of a row kind.
type issue struct{ rule, severity, column string }

// rowKind is one kind of row a boundary file is made of: the ledger
// entries it must produce, and whether it is rejected (an error among them).
type rowKind struct {
	name   string
	issues []issue
}

func (k rowKind) rejected() bool {
	for _, is := range k.issues {
		if is.severity == "error" {
			return true
		}
	}
	return false
}

// boundaryTarget writes narrow files of one target whose every line is
// planted: rows of known kinds, each producing known ledger entries.
type boundaryTarget struct {
	target string
	file   string // name of the file under test
	header string
	kinds  []rowKind // kinds[0] is the accepted row
	cycle  []int     // kinds along the file, repeated: a known fraction bad
	// row is one CSV line (no line break) of a kind at a source line.
	row func(line int64, kind int) string
	// key identifies the row a line leaves in the target table; kept gives
	// the values it must have there.
	key  func(line int64, kind int) string
	kept func(line int64) string
	// table is SQL for (key, values) of every row the file left in its
	// table; a ? in it is the file id.
	table string
}

// companions are small clean files loaded alongside every boundary file,
// as in a real export set. They add no ledger entries, so each target's
// rules insert into the ledger exactly the planted entries; and they make
// the inserts before it empty ones (the web order's missing-items check
// runs before the first target's rules; empty targets insert nothing),
// which is what DuckDB 1.5.6 needed to lose a batch.
var companions = map[string]string{
	"products_companion.csv":      "商品编码,商品名称,成本,标价\nPC-COMPANION,伴侣商品,10.00,20.00\n",
	"campaigns_companion.csv":     "活动编号,活动名称,开始日期,结束日期,费用\nCC-COMPANION,伴侣活动,2024-01-01,2024-12-01,1000.00\n",
	"web_orders_companion.ndjson": `{"order_id":"WC1","created_at":"2024-06-01T10:00:00+08:00","customer":{"mobile":"13800138000"},"lines":[{"sku":"PC-COMPANION","qty":1,"price":"20.00","discount":"0"}]}` + "\n",
}

// boundaryMappings read customers from a plain CSV: the built-in CRM
// mapping takes XLSX, too slow to write at these sizes.
const boundaryMappings = `
sources:
  - name: boundary_customers
    target: customers
    channel: crm
    pattern: "customers_*.csv"
    format: csv
    columns:
      member_card: card
      name: name
      id_number: id_number
      email: email
`

// cents formats a number of cents as DuckDB prints a DECIMAL(18,2).
func cents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

func lineKey(line int64, _ int) string { return strconv.FormatInt(line, 10) }

func boundaryTargets() []boundaryTarget {
	warn := func(rule, col string) issue { return issue{rule, "warn", col} }
	bad := func(rule, col string) issue { return issue{rule, "error", col} }
	// Sales: every line sells an unknown product (warn); one in four has an
	// invalid quantity or date (error).
	salesQty := func(line int64) int64 { return line%9 + 1 }
	salesPrice := func(line int64) int64 { return (line%500)*100 + 50 }
	sales := boundaryTarget{
		target: "sales", file: "pos_sales_boundary.csv",
		header: "单号,行号,销售时间,商品编码,数量,单价",
		kinds: []rowKind{
			{"ok", []issue{warn("product_unknown", "product_code")}},
			{"quantity", []issue{warn("product_unknown", "product_code"), bad("quantity_invalid", "quantity")}},
			{"date", []issue{warn("product_unknown", "product_code"), bad("date_invalid", "ts")}},
		},
		cycle: []int{0, 0, 0, 1, 0, 0, 0, 2},
		row: func(line int64, kind int) string {
			ts, qty := "2024-03-05 10:00:00", strconv.FormatInt(salesQty(line), 10)
			switch kind {
			case 1:
				qty = "x"
			case 2:
				ts = "2023-02-30 10:00:00"
			}
			return fmt.Sprintf("S%d,1,%s,PU-UNKNOWN,%s,%s", line, ts, qty, cents(salesPrice(line)))
		},
		key: lineKey,
		kept: func(line int64) string {
			q, p := salesQty(line), salesPrice(line)
			return fmt.Sprintf("S%d 1 %d %s %s", line, q, cents(p), cents(q*p))
		},
		table: `SELECT CAST(source_line AS VARCHAR), concat_ws(' ', order_id, line_no, quantity, CAST(unit_price AS DECIMAL(18,2)), amount)
			FROM fact_sales WHERE etl_file_id = ?`,
	}
	// Interactions: every caller's number is invalid (warn); one in four has
	// a satisfaction out of range or an impossible date (error).
	interactions := boundaryTarget{
		target: "interactions", file: "callcenter_contacts_boundary.csv",
		header: "来电号码,来电时间,满意度,时长秒",
		kinds: []rowKind{
			{"ok", []issue{warn("mobile_invalid", "mobile")}},
			{"satisfaction", []issue{warn("mobile_invalid", "mobile"), bad("satisfaction_range", "satisfaction")}},
			{"date", []issue{warn("mobile_invalid", "mobile"), bad("date_invalid", "ts")}},
		},
		cycle: []int{0, 0, 0, 1, 0, 0, 0, 2},
		row: func(line int64, kind int) string {
			ts, sat := "2024-05-01 10:00:00", strconv.FormatInt(line%5+1, 10)
			switch kind {
			case 1:
				sat = "9"
			case 2:
				ts = "2023-02-30 10:00:00"
			}
			return fmt.Sprintf("x%d,%s,%s,%d", line, ts, sat, line%600)
		},
		key:  lineKey,
		kept: func(line int64) string { return fmt.Sprintf("%d %d", line%5+1, line%600) },
		table: `SELECT CAST(source_line AS VARCHAR), concat_ws(' ', satisfaction, duration_seconds)
			FROM fact_interaction WHERE etl_file_id = ?`,
	}
	// Responses: every respondent's mobile is invalid (warn); one in four
	// names an unknown campaign or an invalid revenue (error).
	revenue := func(line int64) int64 { return (line % 1000) * 25 }
	responses := boundaryTarget{
		target: "responses", file: "campaign_responses_boundary.csv",
		header: "活动编号,会员卡号,手机,触达日期,是否响应,带来收入",
		kinds: []rowKind{
			{"ok", []issue{warn("mobile_invalid", "mobile")}},
			{"revenue", []issue{warn("mobile_invalid", "mobile"), bad("amount_invalid", "revenue")}},
			{"campaign", []issue{warn("mobile_invalid", "mobile"), bad("campaign_unknown", "campaign_code")}},
		},
		cycle: []int{0, 0, 0, 1, 0, 0, 0, 2},
		row: func(line int64, kind int) string {
			code, rev := "CC-COMPANION", cents(revenue(line))
			switch kind {
			case 1:
				rev = "abc"
			case 2:
				code = "NOPE"
			}
			return fmt.Sprintf("%s,R%d,x%d,2024-03-01,%s,%s", code, line, line, map[bool]string{true: "是", false: "否"}[line%2 == 0], rev)
		},
		key:  lineKey,
		kept: func(line int64) string { return fmt.Sprintf("%s %t", cents(revenue(line)), line%2 == 0) },
		table: `SELECT CAST(source_line AS VARCHAR), concat_ws(' ', revenue, responded)
			FROM fact_campaign WHERE etl_file_id = ?`,
	}
	// Customers: every email is invalid (warn); one in four has no key at
	// all or an invalid resident ID (error). A loaded customer is found by
	// name, with its card.
	customers := boundaryTarget{
		target: "customers", file: "customers_boundary.csv",
		header: "card,name,id_number,email",
		kinds: []rowKind{
			{"ok", []issue{warn("email_invalid", "email")}},
			{"no key", []issue{warn("email_invalid", "email"), bad("no_customer_key", "member_card")}},
			{"id", []issue{bad("id_invalid", "id_number"), warn("email_invalid", "email")}},
		},
		cycle: []int{0, 0, 0, 1, 0, 0, 0, 2},
		row: func(line int64, kind int) string {
			card, id := fmt.Sprintf("C%d", line), ""
			switch kind {
			case 1:
				card = ""
			case 2:
				id = "123"
			}
			return fmt.Sprintf("%s,N%d,%s,e%d", card, line, id, line)
		},
		key:  func(line int64, _ int) string { return fmt.Sprintf("N%d", line) },
		kept: func(line int64) string { return fmt.Sprintf("C%d", line) },
		table: `SELECT d.name, coalesce(i.key_value, '') FROM dim_customer d
			LEFT JOIN etl_identity i ON i.customer_id = d.customer_id AND i.key_type = 'member_card'
			WHERE d.is_current AND d.customer_id > 0 AND d.name IS NOT NULL`,
	}
	// Products and campaigns have no warn rule: three rows in four have one
	// to three errors (fewer would make the files three times longer).
	cost := func(line int64) int64 { return (line%300)*100 + 25 }
	products := boundaryTarget{
		target: "products", file: "products_boundary.csv",
		header: "商品编码,商品名称,成本,标价",
		kinds: []rowKind{
			{"ok", nil},
			{"cost", []issue{bad("amount_invalid", "cost")}},
			{"cost and price", []issue{bad("amount_invalid", "cost"), bad("price_negative", "list_price")}},
			{"price", []issue{bad("price_negative", "list_price")}},
		},
		cycle: []int{0, 1, 2, 3},
		row: func(line int64, kind int) string {
			c, p := cents(cost(line)), cents(2*cost(line))
			switch kind {
			case 1:
				c = "abc"
			case 2:
				c, p = "abc", "-5.00"
			case 3:
				p = "-5.00"
			}
			return fmt.Sprintf("PB%d,品%d,%s,%s", line, line, c, p)
		},
		key: func(line int64, _ int) string { return fmt.Sprintf("PB%d", line) },
		kept: func(line int64) string {
			return fmt.Sprintf("品%d %s %s", line, cents(cost(line)), cents(2*cost(line)))
		},
		table: `SELECT product_code, concat_ws(' ', product_name, cost, list_price) FROM dim_product
			WHERE product_code LIKE 'PB%'`,
	}
	campaigns := boundaryTarget{
		target: "campaigns", file: "campaigns_boundary.csv",
		header: "活动编号,活动名称,开始日期,结束日期,费用",
		kinds: []rowKind{
			{"ok", nil},
			{"start", []issue{bad("date_invalid", "start_date")}},
			{"all", []issue{bad("date_invalid", "start_date"), bad("date_invalid", "end_date"), bad("amount_invalid", "cost")}},
			{"cost", []issue{bad("amount_invalid", "cost")}},
		},
		cycle: []int{0, 1, 2, 3},
		row: func(line int64, kind int) string {
			start, end, c := "2024-01-01", "2024-02-01", cents(cost(line))
			switch kind {
			case 1:
				start = "2023-02-30"
			case 2:
				start, end, c = "2023-02-30", "2024-13-01", "abc"
			case 3:
				c = "abc"
			}
			return fmt.Sprintf("CB%d,活动%d,%s,%s,%s", line, line, start, end, c)
		},
		key: func(line int64, _ int) string { return fmt.Sprintf("CB%d", line) },
		kept: func(line int64) string {
			return fmt.Sprintf("活动%d 2024-01-01 2024-02-01 %s", line, cents(cost(line)))
		},
		table: `SELECT campaign_code, concat_ws(' ', campaign_name, start_date, end_date, cost) FROM dim_campaign
			WHERE campaign_code LIKE 'CB%'`,
	}
	return []boundaryTarget{products, campaigns, customers, sales, interactions, responses}
}

// plan lays out row kinds along the cycle until they produce exactly
// entries ledger entries; near the end, where the cycle's next kind would
// overshoot, the kind with the most entries that still fit takes its place
// (every target has a kind of one entry).
func (bt boundaryTarget) plan(entries int) []int {
	var kinds []int
	for total, i := 0, 0; total < entries; i++ {
		k := bt.cycle[i%len(bt.cycle)]
		if left := entries - total; len(bt.kinds[k].issues) > left {
			k = -1
			for j, kind := range bt.kinds {
				if n := len(kind.issues); n > 0 && n <= left && (k < 0 || n > len(bt.kinds[k].issues)) {
					k = j
				}
			}
		}
		kinds = append(kinds, k)
		total += len(bt.kinds[k].issues)
	}
	return kinds
}

// planted is what a boundary file holds, known line by line.
type planted struct {
	path     string
	read     int64
	rejected int64
	warned   int64
	ledger   map[string]int    // "line rule severity column" -> entries
	kept     map[string]string // key -> values the target table must hold
	badKeys  map[string]int64  // key of a rejected row -> its line
}

// write writes the file of kinds into dir with a buffered writer and
// returns what it planted.
func (bt boundaryTarget) write(t *testing.T, dir string, kinds []int) planted {
	t.Helper()
	p := planted{path: filepath.Join(dir, bt.file), ledger: map[string]int{}, kept: map[string]string{}, badKeys: map[string]int64{}}
	f, err := os.Create(p.path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(bt.header + "\n")
	for i, k := range kinds {
		line := int64(i) + 2 // line 1 is the header
		w.WriteString(bt.row(line, k))
		w.WriteByte('\n')
		kind := bt.kinds[k]
		for _, is := range kind.issues {
			p.ledger[fmt.Sprintf("%d %s %s %s", line, is.rule, is.severity, is.column)]++
		}
		switch {
		case kind.rejected():
			p.rejected++
			p.badKeys[bt.key(line, k)] = line
		default:
			if len(kind.issues) > 0 {
				p.warned++
			}
			p.kept[bt.key(line, k)] = bt.kept(line)
		}
	}
	p.read = int64(len(kinds))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLedgerBoundary loads, for every target, a file whose rules produce
// exactly 2,047 … 122,881 ledger entries, and checks the outcome against
// what the test planted, not against the loader's own counts: the ledger
// holds exactly the planted entries, no rejected row reached the target
// table, every accepted row did with the values written, and the manifest
// counts the file right.
func TestLedgerBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("ledger boundary: not in -short")
	}
	ms, err := ParseMappings("boundary", []byte(boundaryMappings))
	if err != nil {
		t.Fatal(err)
	}
	for _, bt := range boundaryTargets() {
		for _, n := range ledgerSizes {
			t.Run(fmt.Sprintf("%s/%d", bt.target, n), func(t *testing.T) {
				dir := t.TempDir()
				for name, content := range companions {
					writeFile(t, dir, name, content, false)
				}
				p := bt.write(t, dir, bt.plan(n))
				w := openMem(t)
				rep, err := Load(context.Background(), w, []string{dir}, Options{AsOf: asOf2024(), Mappings: ms})
				if err != nil {
					t.Fatal(err)
				}
				checkPlanted(t, w, rep, bt, p, n)
			})
		}
	}
}

func checkPlanted(t *testing.T, w *engine.Warehouse, rep *Report, bt boundaryTarget, p planted, entries int) {
	t.Helper()
	var fileID int64 = -1
	for _, f := range rep.Files {
		if f.Path == p.path {
			fileID = f.FileID
		} else if f.Rejected+f.Warned+f.Duplicates > 0 {
			t.Errorf("companion %s: rejected %d, warned %d, duplicates %d; want none", filepath.Base(f.Path), f.Rejected, f.Warned, f.Duplicates)
		}
	}
	if fileID < 0 {
		t.Fatalf("%s not in the load report", bt.file)
	}
	// (a) The ledger: exactly the planted entries of the file, and no other.
	got := map[string]int{}
	total := 0
	scanRows(t, w, `SELECT concat_ws(' ', line, rule, severity, column_name) FROM etl_reject WHERE path = ?`, func(s ...string) {
		got[s[0]]++
		total++
	}, p.path)
	if total != entries {
		t.Errorf("etl_reject holds %d entries of %s, planted %d", total, bt.file, entries)
	}
	diffCounts(t, "etl_reject", got, p.ledger)
	if n := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE path <> ?`, p.path); n != 0 {
		t.Errorf("etl_reject holds %d entries of the companion files, want 0", n)
	}
	// (b) and (c): the target table holds exactly the accepted rows, with
	// the values written, and nothing of a rejected one.
	table := map[string]string{}
	var loadedBad []string
	scanRows(t, w, bt.table, func(s ...string) {
		if line, ok := p.badKeys[s[0]]; ok {
			loadedBad = append(loadedBad, fmt.Sprintf("line %d: %s", line, s[1]))
		}
		if _, dup := table[s[0]]; dup {
			t.Errorf("%s: %s is in the %s table twice", bt.file, s[0], bt.target)
		}
		table[s[0]] = s[1]
	}, tableArgs(bt.table, fileID)...)
	reportSome(t, "rejected lines of "+bt.file+" in the "+bt.target+" table", loadedBad)
	if len(table) != len(p.kept) {
		t.Errorf("%s table holds %d rows of %s, planted %d accepted rows", bt.target, len(table), bt.file, len(p.kept))
	}
	var missing, wrong, extra []string
	for k, v := range table {
		if _, ok := p.kept[k]; !ok {
			if _, bad := p.badKeys[k]; !bad {
				extra = append(extra, fmt.Sprintf("%s: %q", k, v))
			}
		}
	}
	for k, want := range p.kept {
		switch v, ok := table[k]; {
		case !ok:
			missing = append(missing, k)
		case v != want:
			wrong = append(wrong, fmt.Sprintf("%s: %q, wrote %q", k, v, want))
		}
	}
	reportSome(t, "accepted rows missing from the "+bt.target+" table", missing)
	reportSome(t, "rows with values other than written", wrong)
	reportSome(t, "rows in the "+bt.target+" table that were never written", extra)
	// (d) The manifest.
	var read, loaded, rejected, dups int64
	if err := w.DB.QueryRow(`SELECT rows_read, rows_loaded, rows_rejected, rows_duplicate FROM etl_file WHERE path = ?`, p.path).
		Scan(&read, &loaded, &rejected, &dups); err != nil {
		t.Fatal(err)
	}
	if gotC, want := [4]int64{read, loaded, rejected, dups}, [4]int64{p.read, int64(len(p.kept)), p.rejected, 0}; gotC != want {
		t.Errorf("etl_file read/loaded/rejected/duplicates = %v, planted %v", gotC, want)
	}
	for _, f := range rep.Files {
		if f.Path == p.path && f.Warned != p.warned {
			t.Errorf("report: %d lines warned, planted %d", f.Warned, p.warned)
		}
	}
}

// tableArgs passes the file id to a table query that takes it.
func tableArgs(q string, fileID int64) []any {
	if strings.Contains(q, "?") {
		return []any{fileID}
	}
	return nil
}

// scanRows calls row with the text columns of each row of q.
func scanRows(t *testing.T, w *engine.Warehouse, q string, row func(...string), args ...any) {
	t.Helper()
	rows, err := w.DB.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]string, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row(vals...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// diffCounts reports entries missing from got or extra in it.
func diffCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	var missing, extra []string
	for k, n := range want {
		if got[k] < n {
			missing = append(missing, fmt.Sprintf("%s (×%d)", k, n-got[k]))
		}
	}
	for k, n := range got {
		if n > want[k] {
			extra = append(extra, fmt.Sprintf("%s (×%d)", k, n-want[k]))
		}
	}
	reportSome(t, what+": planted but missing", missing)
	reportSome(t, what+": not planted", extra)
}

// reportSome reports how many items there are and the first few, sorted.
func reportSome(t *testing.T, what string, items []string) {
	t.Helper()
	if len(items) == 0 {
		return
	}
	sort.Strings(items)
	shown := items[:min(5, len(items))]
	t.Errorf("%s: %d, e.g. %s", what, len(items), strings.Join(shown, "; "))
}
