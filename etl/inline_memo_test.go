package etl

import (
	"bytes"
	"context"
	"errors"
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
		out.tables = tableChecksums(t, w)
		for _, n := range []string{"etl_run", "etl_file", "schema_version", "etl_watermark"} {
			delete(out.tables, n) // load times
		}
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
