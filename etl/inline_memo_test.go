package etl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmallSalesCleanedInPlace: a load of at most inlineSalesLines sales
// lines cleans them in place instead of through the memo tables, and
// leaves the warehouse exactly as the memo path does: the same reports and
// the same content of every table but the load times, over the small set's
// faults (yuan signs, thousands separators, a formatted mobile, an
// impossible date, a malformed row, a repeat of an earlier reject, a
// duplicate of a loaded line, JSON orders with items).
func TestSmallSalesCleanedInPlace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	first := filepath.Join(dir, "first")
	if err := os.Mkdir(first, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"products.csv", "web_orders.ndjson"} {
		if err := os.Rename(filepath.Join(dir, p), filepath.Join(first, p)); err != nil {
			t.Fatal(err)
		}
	}
	pos := filepath.Join(dir, "pos_sales_202401.csv")
	pos2 := writeFile(t, dir, "pos_sales_202402.csv", "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"S2,1,ST01,北京朝阳店,张三,2023-02-30 10:00,,,P001,1,399,0,399\n"+
		"S6,1,ST03,广州店,王五,2024/2/1 09:00,M00000002, 13900139000 ,P002,１,\"￥1,499.00\",,\n"+
		"S7,1,,,,2024/2/2 09:00,,12345,P003,2.5,abc,x,\n"+
		"S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,M00000001,,P001,1,￥399.00,0,￥399.00\n", true)
	type outcome struct {
		reports []*Report
		traces  []string
		tables  map[string]string
	}
	run := func(memo bool) outcome {
		w := openMem(t)
		var out outcome
		for _, paths := range [][]string{{first}, {pos}, {pos2}} {
			var trace bytes.Buffer
			rep, err := Load(ctx, w, paths, Options{AsOf: asOf2024(), Trace: &trace, memoAlways: memo})
			if err != nil && !errors.Is(err, ErrNothingToLoad) {
				t.Fatal(err)
			}
			rep.Elapsed = 0
			out.reports = append(out.reports, rep)
			out.traces = append(out.traces, trace.String())
		}
		out.tables = loadedTables(t, w)
		out.tables["etl_file but loaded_at"] = queryString(t, w, `SELECT count(*) || ':' || sum(hash(file_id, run_id, source, path, size,
			sha256, format, encoding, rows_read, rows_loaded, rows_rejected, rows_duplicate)) FROM etl_file`)
		out.tables["etl_run counts"] = queryString(t, w, `SELECT string_agg(concat_ws(' ', run_id, status, rows_read, rows_staged, rows_cleaned,
			rows_loaded, rows_rejected, rows_duplicate, rows_warned), '; ' ORDER BY run_id) FROM etl_run`)
		out.tables["S7 rejects"] = queryString(t, w, `SELECT string_agg(rule || ' ' || severity || ' ' || column_name || '=' || raw_value, ', ' ORDER BY rule, column_name)
			FROM etl_reject WHERE run_id = 3 AND line = 4`)
		return out
	}
	inline, memo := run(false), run(true)
	for i := range inline.traces {
		if strings.Contains(inline.traces[i], "TEMP TABLE md_ts_v") {
			t.Errorf("load %d cleaned its few lines through the memo tables", i+1)
		}
		if !strings.Contains(memo.traces[i], "TEMP TABLE md_ts_v") {
			t.Errorf("load %d with memoAlways made no memo table", i+1)
		}
	}
	for i := range inline.reports {
		if !reportsEqual(*inline.reports[i], *memo.reports[i]) {
			t.Errorf("load %d: report %+v, the memo path's %+v", i+1, *inline.reports[i], *memo.reports[i])
		}
	}
	// Run 3 read 4 lines: a repeat of run 2's reject and a duplicate of a
	// loaded line, S6 loaded, S7 rejected (its price "abc").
	if got := inline.tables["etl_run counts"]; !strings.HasSuffix(got, "3 committed 4 4 2 1 1 2 0") {
		t.Errorf("etl_run: %s", got)
	}
	// S7 by hand: a discount "x", a price "abc", a quantity 2.5 (errors),
	// a five-digit mobile, a product not in the master (warnings).
	if got, want := inline.tables["S7 rejects"], "amount_invalid error discount=x, amount_invalid error unit_price=abc, "+
		"mobile_invalid warn mobile=12345, product_unknown warn product_code=P003, quantity_invalid error quantity=2.5"; got != want {
		t.Errorf("S7's ledger entries: %s, want %s", got, want)
	}
	for name, sum := range memo.tables {
		if inline.tables[name] != sum {
			t.Errorf("table %s: %s, the memo path's %s", name, inline.tables[name], sum)
		}
	}
	if len(inline.tables) != len(memo.tables) {
		t.Errorf("%d tables, the memo path %d", len(inline.tables), len(memo.tables))
	}
}

// TestMemoChoiceAtScale: over more lines than memoSample, a time column
// whose every value is a plain 2024-03-05 14:22:31 is cleaned in place (no
// md_ts_v), one with a sampled time in another layout through its memo,
// and a country column of plain names keeps its memo md_country_v
// (ckm_country is Go: one call per distinct name, not per line); the
// loaded rows and the ledger are those of the all-memo path either way.
func TestMemoChoiceAtScale(t *testing.T) {
	ctx := context.Background()
	ms, err := ParseMappings("test", []byte(`sources:
  - name: retail
    target: sales
    channel: web
    pattern: "retail*.csv"
    guests: guest
    columns:
      order_id: InvoiceNo
      product_code: StockCode
      quantity: Quantity
      ts: InvoiceDate
      unit_price: UnitPrice
      customer_ref: CustomerID
      country: Country
`))
	if err != nil {
		t.Fatal(err)
	}
	const lines = memoSample + 1808
	csv := func(odd string) string {
		var b strings.Builder
		b.WriteString("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")
		for i := range lines {
			inv := i / 4 // four lines an invoice, one time each
			ts := fmt.Sprintf("2024-%02d-%02d %02d:%02d:%02d", 1+inv%12, 1+inv%28, inv%24, inv%60, (inv*7)%60)
			if odd != "" && i == 5000 {
				ts = odd
			}
			country := "United Kingdom"
			if i%10 == 0 {
				country = "France"
			}
			fmt.Fprintf(&b, "%d,P%03d,%d,%s,%d.%02d,%d.0,%s\n", 500000+inv, i%200, 1+i%5, ts, 1+i%30, i%100, 12000+inv%500, country)
		}
		return b.String()
	}
	for _, c := range []struct {
		name, odd string
		tsMemo    bool
	}{{"plain times", "", false}, {"a sampled time in another layout", "2024/3/5 14:22", true}} {
		dir := t.TempDir()
		p := writeFile(t, dir, "retail.csv", csv(c.odd), false)
		run := func(memoAlways bool) (trace string, tables map[string]string) {
			w := openMem(t)
			var tr bytes.Buffer
			if _, err := Load(ctx, w, []string{p}, Options{AsOf: asOf2024(), Mappings: ms, Trace: &tr, memoAlways: memoAlways}); err != nil {
				t.Fatal(err)
			}
			tables = map[string]string{
				"fact_sales": queryString(t, w, `SELECT count(*) || ':' || sum(hash(order_id, product_key, quantity, unit_price, amount,
					CAST(order_ts AS VARCHAR), country_code, customer_id)) FROM fact_sales_current`),
				"etl_reject": queryString(t, w, `SELECT count(*) || ':' || coalesce(sum(hash(line, rule, severity, column_name, raw_value)), 0) FROM etl_reject`),
			}
			return tr.String(), tables
		}
		trace, got := run(false)
		_, want := run(true)
		if built := strings.Contains(trace, "TEMP TABLE md_ts_v"); built != c.tsMemo {
			t.Errorf("%s: md_ts_v built %v, want %v", c.name, built, c.tsMemo)
		}
		if !strings.Contains(trace, "TEMP TABLE md_country_v") {
			t.Errorf("%s: the plain countries were cleaned in place, a Go call a line", c.name)
		}
		for name, sum := range want {
			if got[name] != sum {
				t.Errorf("%s: %s %s, the all-memo path's %s", c.name, name, got[name], sum)
			}
		}
		t.Logf("%s: %v", c.name, got)
	}
}
