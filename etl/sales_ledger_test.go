package etl

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestSalesLedgerRawRecords: the ledger entries of sales lines carry the
// line's raw record exactly as exported, whichever step judged the line —
// a rule (an error and a warning on one line, a quote and a backslash
// escaped in the JSON), a duplicate, a correction in a later load — on
// loads past the 2,048 lines cleaned in place and past DuckDB's
// 122,880-row row group, with the faults planted on either side of both.
// The expected records are written out by hand here, not by the loader.
func TestSalesLedgerRawRecords(t *testing.T) {
	sizes := []int{2100, 122900}
	if testing.Short() {
		sizes = sizes[:1]
	}
	const header = "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	// record is the JSON the ledger must hold for a line of this file: the
	// sales fields in their canonical order, NULL where the file has none.
	record := func(order, qty, mobile, amount string) string {
		esc := func(s string) string {
			return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
		}
		return `{"order_id":` + esc(order) + `,"line_no":"1","store_code":"ST01","store_name":"北京朝阳店","salesperson":"张三",` +
			`"ts":"2024/3/1 10:00","member_card":null,"mobile":` + esc(mobile) + `,"email":null,"id_number":null,` +
			`"product_code":"P001","quantity":` + esc(qty) + `,"unit_price":"10.00","discount":"0","amount":` + esc(amount) + `,` +
			`"province":null,"city":null,"customer_ref":null,"country":null,"product_name":null,"category":null,` +
			`"freight":null,"order_status":null,"payment_type":null,"payment_amount":null}`
	}
	line := func(order, qty, mobile, amount string) string {
		cell := func(s string) string {
			if strings.ContainsAny(s, `,"`) {
				return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
			}
			return s
		}
		return fmt.Sprintf("%s,1,ST01,北京朝阳店,张三,2024/3/1 10:00,,%s,P001,%s,10.00,0,%s\n", order, cell(mobile), qty, cell(amount))
	}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "products.csv", "商品编码,商品名称,品类,品牌,成本,标价\nP001,电饭锅A,家电>厨房电器>电饭锅,美的,5.00,10.00\n", false)
			// Data row i is file line i+1. The faults sit at both ends of the
			// file and around row 2,048 and row 122,880 (where they exist); a
			// duplicate takes the row after it.
			wants := map[int][]string{}
			var b strings.Builder
			b.WriteString(header)
			order := func(i int) string { return fmt.Sprintf("S%07d", i) }
			faultRows := map[int]string{}
			for _, i := range []int{1, 2046, 2048, 2050, 122878, 122880, 122882, n - 2} {
				if i < n-1 {
					faultRows[i] = []string{"bad", "quote", "dup"}[len(faultRows)%3]
				}
			}
			for i := 1; i <= n; i++ {
				o, qty, mobile, amount := order(i), "1", "13800138000", "10.00"
				switch faultRows[i] {
				case "bad": // an invalid quantity (error) and a five-digit mobile (warning)
					qty, mobile = "two", "12345"
					rec := record(o, qty, mobile, amount)
					wants[i+1] = []string{"quantity_invalid error quantity two | " + rec, "mobile_invalid warn mobile 12345 | " + rec}
				case "quote": // an amount with a quote, a comma and a backslash
					amount = `1"0,\`
					wants[i+1] = []string{`amount_invalid error amount 1"0,\ | ` + record(o, qty, mobile, amount)}
				}
				b.WriteString(line(o, qty, mobile, amount))
				if faultRows[i] == "dup" {
					// The line again, right after it: the repeat is a duplicate.
					b.WriteString(line(o, qty, mobile, amount))
					i++
					wants[i+1] = []string{"duplicate info line_key " + o + " / 1 | " + record(o, qty, mobile, amount)}
				}
			}
			writeFile(t, dir, "pos_sales_2024.csv", b.String(), false)
			w := openMem(t)
			ctx := context.Background()
			if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()}); err != nil {
				t.Fatal(err)
			}
			// A later export corrects the last line's amount and repeats the
			// first, rejected line unchanged (a repeat of that reject).
			last := n
			for faultRows[last] != "" || faultRows[last-1] == "dup" {
				last--
			}
			second := t.TempDir()
			writeFile(t, second, "pos_sales_2024b.csv", header+line(order(last), "1", "13800138000", "12.00")+
				line(order(1), "two", "12345", "10.00"), false)
			if _, err := Load(ctx, w, []string{second}, Options{AsOf: asOf2024()}); err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			scanRows(t, w, `SELECT r.run_id || ' ' || r.line, r.rule || ' ' || r.severity || ' ' || coalesce(r.column_name, '-') || ' ' ||
				coalesce(r.raw_value, '-') || ' | ' || coalesce(r.raw_record, '-') FROM etl_reject r ORDER BY r.run_id, r.line, r.rule`,
				func(s ...string) { got[s[0]] = append(got[s[0]], s[1]) })
			want := map[string][]string{}
			for l, es := range wants {
				want[fmt.Sprintf("1 %d", l)] = es
			}
			want["2 2"] = []string{"correction info line_key " + order(last) + " / 1 | " + record(order(last), "1", "13800138000", "12.00")}
			want["2 3"] = []string{"duplicate info - - | -"}
			for k, es := range want {
				if strings.Join(got[k], "\n") != strings.Join(sortedCopy(es), "\n") {
					t.Errorf("run/line %s: ledger\n%s\nwant\n%s", k, strings.Join(got[k], "\n"), strings.Join(sortedCopy(es), "\n"))
				}
			}
			for k, es := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("run/line %s: unplanted ledger entries %q", k, es)
				}
			}
			// The correction reversed the loaded line and loaded the new one.
			if s := queryString(t, w, `SELECT string_agg(amount || '/' || is_reversal, ' ' ORDER BY etl_run_id, is_reversal) FROM fact_sales WHERE order_id = ?`,
				order(last)); s != "10.00/false 12.00/false -10.00/true" {
				t.Errorf("%s in fact_sales: %s", order(last), s)
			}
			if got := queryInt(t, w, `SELECT count(*) FROM etl_file WHERE path = ?`, filepath.Join(dir, "pos_sales_2024.csv")); got != 1 {
				t.Errorf("etl_file: %d rows of the first export", got)
			}
		})
	}
}

// sortedCopy is es sorted, as the ledger query orders one line's entries.
func sortedCopy(es []string) []string {
	out := append([]string(nil), es...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
