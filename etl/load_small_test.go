package etl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ckm-dev/ckm/engine"
)

// writeFile writes content to dir/name, GBK-encoded when gbk is set.
func writeFile(t *testing.T, dir, name, content string, gbk bool) string {
	t.Helper()
	data := []byte(content)
	if gbk {
		var err error
		data, err = simplifiedchinese.GBK.NewEncoder().Bytes(data)
		if err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeXLSX writes one sheet of rows (the first is the header).
func writeXLSX(t *testing.T, dir, name, sheet string, rows [][]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", sheet)
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, name)
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func openMem(t *testing.T) *engine.Warehouse {
	t.Helper()
	w, err := engine.Open(context.Background(), "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func asOf2024() time.Time { return time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC) }

func queryInt(t *testing.T, w *engine.Warehouse, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := w.DB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// queryLines is the first column of every row of q, as text.
func queryLines(t *testing.T, w *engine.Warehouse, q string, args ...any) []string {
	t.Helper()
	rows, err := w.DB.Query(q, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func queryString(t *testing.T, w *engine.Warehouse, q string, args ...any) string {
	t.Helper()
	var s string
	if err := w.DB.QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// smallSet writes products, a GBK POS file and web orders with planted
// faults whose outcome is worked out by hand in TestLoadSmallSet.
func smallSet(t *testing.T, dir string) {
	writeFile(t, dir, "products.csv", "商品编码,商品名称,品类,品牌,成本,标价\n"+
		"P001,电饭锅A,家电>厨房电器>电饭锅,美的,200.00,399.00\n"+
		"P002,连衣裙B,服饰>女装>连衣裙,ONLY,150,499\n", false)
	writeFile(t, dir, "pos_sales_202401.csv", "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,M00000001,,P001,1,￥399.00,0,￥399.00\n"+ // line 2
		"S1,2,ST01,北京朝阳店,张三,2024/1/5 14:22,M00000001,,P002,2,\"￥1,000.50\",1.00,\"￥2,000.00\"\n"+ // 3
		"S1,2,ST01,北京朝阳店,张三,2024/1/5 14:22,M00000001,,P002,2,\"￥1,000.50\",1.00,\"￥2,000.00\"\n"+ // 4: duplicate
		"S2,1,ST01,北京朝阳店,张三,2023-02-30 10:00,,,P001,1,399,0,399\n"+ // 5: date_invalid
		"S3,1,ST02,上海店,李四,2024/1/6 10:00,,+86 138-0013-8000,P999,1,10,0,10\n"+ // 6: product_unknown (warn)
		"S4,1,ST02,上海店,李四,2024/1/7 10:00,,,P001,-1,399,0,-399\n"+ // 7: a return, walk-in
		"S5,1,ST02,上海店,李四,2024/1/7 10:00,,,P001\n", true) // 8: malformed_row
	writeFile(t, dir, "web_orders.ndjson",
		`{"order_id":"W1","created_at":"2024-01-08T10:00:00+08:00","customer":{"mobile":"13800138000","email":"a@b.cn"},"shipping":{"province":"广东省","city":"深圳市"},"lines":[{"sku":"P001","qty":1,"price":"399.00","discount":"0"},{"sku":"P002","qty":1,"price":"499.00","discount":"0"}]}`+"\n"+
			`not json`+"\n"+
			`{"order_id":"W2","created_at":"2030-01-08T10:00:00+08:00","customer":{"email":"c@d.cn"},"lines":[{"sku":"P001","qty":1,"price":"399.00"}]}`+"\n", false)
}

func TestLoadSmallSet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	w := openMem(t)
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][5]int64{ // read, loaded, rejected, duplicates, warned
		"products.csv":         {2, 2, 0, 0, 0},
		"pos_sales_202401.csv": {7, 4, 2, 1, 1},
		"web_orders.ndjson":    {3, 1, 2, 0, 0},
	}
	for _, f := range rep.Files {
		got := [5]int64{f.Read, f.Loaded, f.Rejected, f.Duplicates, f.Warned}
		if got != want[filepath.Base(f.Path)] {
			t.Errorf("%s: read/loaded/rejected/dup/warned = %v, want %v", filepath.Base(f.Path), got, want[filepath.Base(f.Path)])
		}
	}
	if f := rep.Files[1]; f.Encoding != "gb18030" || f.Format != "csv" {
		t.Errorf("POS file detected as %s/%s, want csv/gb18030", f.Format, f.Encoding)
	}
	// 399 + 2000 + 10 − 399 (POS) + 399 + 499 (web) = 2908.00
	if got := queryString(t, w, `SELECT CAST(sum(amount) AS VARCHAR) FROM fact_sales`); got != "2908.00" {
		t.Errorf("net revenue %s, want 2908.00", got)
	}
	// Card M00000001; and mobile 13800138000 seen in POS (dirty) and on the web with a@b.cn.
	if n := queryInt(t, w, `SELECT count(DISTINCT customer_id) FROM dim_customer WHERE customer_id > 0`); n != 2 {
		t.Errorf("%d unified customers, want 2", n)
	}
	if n := queryInt(t, w, `SELECT count(DISTINCT customer_id) FROM fact_sales WHERE order_id IN ('S3', 'W1')`); n != 1 {
		t.Errorf("S3 and W1 are one customer by mobile; got %d customers", n)
	}
	if got := queryString(t, w, `SELECT source_systems || ' ' || region_code FROM dim_customer WHERE mobile = '+8613800138000'`); got != "pos,web 440300" {
		t.Errorf("mobile customer: %s", got)
	}
	rules := map[string]string{}
	rows, err := w.DB.Query(`SELECT line, rule, severity FROM etl_reject WHERE path LIKE '%pos_sales%' OR path LIKE '%web%' ORDER BY path, line`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line int64
		var rule, sev string
		rows.Scan(&line, &rule, &sev)
		rules[fmt.Sprint(line, rule)] = sev
	}
	rows.Close()
	for _, k := range []string{"5date_invalid", "8malformed_row", "6product_unknown", "2malformed_json", "3date_future", "4duplicate"} {
		if _, ok := rules[k]; !ok {
			t.Errorf("ledger lacks %s (has %v)", k, rules)
		}
	}
	if len(rules) != 6 {
		t.Errorf("ledger has %d entries, want 6: %v", len(rules), rules)
	}
	// The unknown product is an inferred member; the return is a negative line.
	if n := queryInt(t, w, `SELECT count(*) FROM dim_product WHERE product_code = 'P999' AND is_inferred`); n != 1 {
		t.Error("P999 is not an inferred member")
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE is_return AND amount = -399 AND customer_key = -1`); n != 1 {
		t.Error("the walk-in return is not a negative line with the unknown customer")
	}
	if n := queryInt(t, w, `SELECT rows_read - rows_loaded - rows_rejected - rows_duplicate FROM etl_run`); n != 0 {
		t.Errorf("etl_run does not reconcile: %d", n)
	}
}

// tableChecksums returns count and an order-independent content hash of
// every table of the warehouse.
func tableChecksums(t *testing.T, w *engine.Warehouse) map[string]string {
	t.Helper()
	rows, err := w.DB.Query(`SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	out := map[string]string{}
	for _, n := range names {
		if n == "ckm_change" {
			// The lake's change record: a log (of restatements, merges,
			// undos) whose first row names the warehouse, as etl_run
			// logs runs (change_record_test.go checks what a load records).
			continue
		}
		out[n] = queryString(t, w, fmt.Sprintf(`SELECT count(*) || ':' || coalesce(CAST(sum(hash(t)) AS VARCHAR), '') FROM %s t`, n))
	}
	return out
}

// loadedTables are tableChecksums of w but the tables that hold times
// (runs, files, the schema's versions, watermarks).
func loadedTables(t *testing.T, w *engine.Warehouse) map[string]string {
	t.Helper()
	sums := tableChecksums(t, w)
	for _, n := range []string{"etl_run", "etl_file", "schema_version", "etl_watermark"} {
		delete(sums, n)
	}
	return sums
}

func TestLoadTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	w := openMem(t)
	if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	before := tableChecksums(t, w)
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	if !errors.Is(err, ErrNothingToLoad) {
		t.Fatalf("second load: %v, want ErrNothingToLoad", err)
	}
	for _, f := range rep.Files {
		if f.Skipped == "" {
			t.Errorf("%s not skipped", f.Path)
		}
	}
	after := tableChecksums(t, w)
	for n, v := range before {
		if after[n] != v {
			t.Errorf("table %s changed: %s -> %s", n, v, after[n])
		}
	}
	// A re-export with the same orders under a new name: rows are duplicates,
	// of the loaded lines and of the rejected ones alike, each pointing at
	// the line it repeats.
	data, _ := os.ReadFile(filepath.Join(dir, "pos_sales_202401.csv"))
	again := t.TempDir()
	os.WriteFile(filepath.Join(again, "pos_sales_202401_again.csv"), append(data, []byte("\r\n")...), 0o644)
	rep, err = Load(ctx, w, []string{again}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Files[0]
	if f.Loaded != 0 || f.Duplicates != 7 || f.Rejected != 0 {
		t.Errorf("re-export: loaded %d duplicates %d rejected %d, want 0, 7, 0", f.Loaded, f.Duplicates, f.Rejected)
	}
	// Every line of the re-export has one duplicate entry pointing at the
	// line of the first export (run 1) it repeats: its own, or for line 4
	// (a repeat of line 3 there too) the loaded line 3.
	if n := queryInt(t, w, `SELECT count(*) FROM etl_reject r JOIN etl_file f ON f.file_id = r.ref_file_id
		WHERE r.run_id = 2 AND r.rule = 'duplicate' AND r.severity = 'info' AND r.ref_line = CASE r.line WHEN 4 THEN 3 ELSE r.line END
		AND f.path LIKE '%pos_sales_202401.csv' AND f.run_id = 1`); n != 7 {
		t.Errorf("%d duplicate entries point at their line of the first export, want 7", n)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE run_id = 2`); n != 7 {
		t.Errorf("re-export has %d ledger entries, want 7 (one per line)", n)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales`); n != 6 {
		t.Errorf("fact_sales has %d rows after the re-export, want 6", n)
	}
}

// TestFailedLoadLeavesNothing fails the load after each step and checks the
// warehouse is exactly as before.
func TestFailedLoadLeavesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	w := openMem(t)
	if err := Register(ctx, w); err != nil {
		t.Fatal(err)
	}
	before := tableChecksums(t, w)
	for _, step := range []string{"run", "stage", "products", "validate", "identity", "customers", "facts", "reconcile", "ledger", "commit"} {
		_, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), FailAfter: step})
		if err == nil {
			t.Fatalf("step %s: load did not fail", step)
		}
		after := tableChecksums(t, w)
		for n, v := range before {
			if after[n] != v {
				t.Errorf("after failing at %s, table %s changed: %s -> %s", step, n, v, after[n])
			}
		}
	}
	if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatalf("load after failures: %v", err)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales`); n != 6 {
		t.Errorf("fact_sales has %d rows, want 6", n)
	}
}

func TestSCD2AndStableIDs(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	header := []any{"会员卡号", "姓名", "身份证号", "手机", "邮箱", "性别", "生日", "省份", "城市", "注册日期", "会员等级", "经销商"}
	d1 := t.TempDir()
	writeXLSX(t, d1, "crm_customers.xlsx", "客户", [][]any{header,
		{"M00000001", "王芳", "11010519491231002X", "+86 138-0013-8000", "wf@example.cn", "女", "1949-12-31", "北京", "北京市", "2020/1/5", "普通", "否"},
		{"M00000002", "李雷雷", "110105491231002", "０１３９００１３９０００", "", "男", "", "广东省", "深圳市", "20200106", "银卡", "否"},
	})
	if _, err := Load(ctx, w, []string{d1}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	// 110105491231002 upgrades to the same 18-digit ID as the first row: one person.
	if n := queryInt(t, w, `SELECT count(DISTINCT customer_id) FROM dim_customer WHERE customer_id > 0`); n != 1 {
		t.Fatalf("%d customers, want 1 (same ID number after the 15→18 upgrade)", n)
	}
	d2 := t.TempDir()
	writeXLSX(t, d2, "crm_customers_2.xlsx", "客户", [][]any{header,
		{"M00000003", "张伟", "440524188001010014", "13700137000", "zw@example.cn", "男", "", "广东省", "汕头市", "2021-03-01", "普通", "否"},
		{"M00000004", "赵敏", "", "13600136000", "", "女", "", "上海", "", "2021-03-02", "普通", "否"},
	})
	if _, err := Load(ctx, w, []string{d2}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	idZhao := queryInt(t, w, `SELECT customer_id FROM dim_customer WHERE name = '赵敏'`)
	if birth := queryString(t, w, `SELECT CAST(birth_date AS VARCHAR) || sex FROM dim_customer WHERE name = '张伟'`); birth != "1880-01-01M" {
		t.Errorf("birth and sex from 440524188001010014: %s", birth)
	}
	// Snapshot 3, a month later: 赵敏 moves up a level (SCD2), 张伟's name is
	// corrected (type 1). (A snapshot with the same as-of would correct the
	// version that snapshot 2 opened instead: same effective date.)
	d3 := t.TempDir()
	writeXLSX(t, d3, "crm_customers_3.xlsx", "客户", [][]any{header,
		{"M00000003", "张 伟", "440524188001010014", "13700137000", "zw@example.cn", "男", "", "广东省", "汕头市", "2021-03-01", "普通", "否"},
		{"M00000004", "赵敏", "", "13600136000", "", "女", "", "上海", "", "2021-03-02", "金卡", "否"},
	})
	if _, err := Load(ctx, w, []string{d3}, Options{AsOf: asOf2024().AddDate(0, 1, 0)}); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE customer_id = ?`, idZhao); n != 2 {
		t.Errorf("赵敏 has %d versions, want 2", n)
	}
	if lvl := queryString(t, w, `SELECT member_level FROM dim_customer WHERE customer_id = ? AND is_current`, idZhao); lvl != "金卡" {
		t.Errorf("current level %s", lvl)
	}
	if lvl := queryString(t, w, `SELECT member_level FROM dim_customer WHERE customer_id = ? AND NOT is_current`, idZhao); lvl != "普通" {
		t.Errorf("history level %s", lvl)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE id_number = '440524188001010014'`); n != 1 {
		t.Errorf("a type-1 correction made %d versions, want 1", n)
	}
	if name := queryString(t, w, `SELECT name FROM dim_customer WHERE id_number = '440524188001010014'`); name != "张 伟" {
		t.Errorf("name not corrected: %q", name)
	}
	if n := queryInt(t, w, `SELECT customer_id FROM dim_customer WHERE name = '赵敏' AND is_current`); n != idZhao {
		t.Errorf("customer id changed from %d to %d", idZhao, n)
	}
}

func TestInferredProductCompletedInPlace(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	d1 := t.TempDir()
	writeFile(t, d1, "pos_sales_202402.csv", "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"T1,1,ST01,店,张三,2024/2/5 14:22,,,P777,2,50,0,100\n", false)
	if _, err := Load(ctx, w, []string{d1}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	key := queryInt(t, w, `SELECT product_key FROM fact_sales WHERE order_id = 'T1'`)
	d2 := t.TempDir()
	writeFile(t, d2, "products_new.csv", "商品编码,商品名称,品类,品牌,成本,标价\nP777,坚果礼盒,食品>零食>坚果,三只松鼠,30,59\n", false)
	if _, err := Load(ctx, w, []string{d2}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	got := queryString(t, w, `SELECT product_key || ' ' || category || ' ' || product_name || ' ' || is_inferred FROM dim_product WHERE product_code = 'P777'`)
	if want := fmt.Sprintf("%d 食品 坚果礼盒 false", key); got != want {
		t.Errorf("P777: %q, want %q", got, want)
	}
}

func TestRegionInText(t *testing.T) {
	for text, want := range map[string]string{
		"北京王府井店": "110100", "上海南京路店": "310100", "广州天河店": "440100", "深圳福田店": "440300",
		"南京新街口店": "320100", "重庆解放碑店": "500100", "西安钟楼店": "610100", "旗舰店": "",
	} {
		r, ok := RegionInText(text)
		if got := r.Code; (ok && got != want) || (!ok && want != "") {
			t.Errorf("RegionInText(%q) = %q, %v; want %q", text, got, ok, want)
		}
	}
}
