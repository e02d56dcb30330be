package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewFieldsCmd(t *testing.T) {
	cases := []parseCase[fieldsOptions]{
		{name: "all targets", args: nil, want: fieldsOptions{}},
		{name: "one target", args: []string{"sales"}, want: fieldsOptions{target: "sales"}},
		{name: "two targets", args: []string{"sales", "customers"}, err: "accepts at most 1 arg"},
	}
	checkParse(t, nil, newFieldsCmd, []string{"fields"}, func(o *fieldsOptions) { o.app = nil }, cases)
}

func TestFieldsLists(t *testing.T) {
	out, stderr, code := runCkm(t, "", "fields", "sales", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"target,field,type,required,aliases", "sales,order_id,text,true,\"单号, 订单号, 小票号, order_id\"",
		"sales,unit_price,\"decimal, up to 4 places\",true", "sales,customer_ref,text (the source's own customer id),false"} {
		if !strings.Contains(out, want) {
			t.Errorf("ckm fields sales lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "customers,") {
		t.Errorf("ckm fields sales lists other targets:\n%s", out)
	}
	_, stderr, code = runCkm(t, "", "fields", "orders")
	if code != exitUsage || !strings.Contains(stderr, `target "orders"`) {
		t.Errorf("unknown target: exit %d, %s", code, stderr)
	}
}

// TestLoadExplain: --explain reads the files' heads, loads nothing and
// creates no warehouse.
func TestLoadExplain(t *testing.T) {
	dir := t.TempDir()
	shop := filepath.Join("..", "..", "etl", "testdata", "shop")
	wh := filepath.Join(dir, "w.duckdb")
	out, stderr, code := runCkm(t, "", "--warehouse", wh, "--config", filepath.Join(shop, "ckm.yaml"), "load", "--explain", shop, "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"shop_order_items.csv,shop_sales,lines,ts,true,orders.order_purchase_timestamp (joined),orders.order_purchase_timestamp",
		"shop_order_items.csv,shop_sales,lines,quantity,true,value: 1,",
		"shop_order_items.csv,shop_sales,lines,unit_price,true,price,price",
		"shop_orders.csv,shop_sales,join orders of shop_sales,key this.order_id,true,order_id,order_id",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(wh); !os.IsNotExist(err) {
		t.Errorf("--explain created the warehouse (%v)", err)
	}
}

// TestShopExportCube loads the multi-file shop export (etl/testdata/shop)
// and reads it through the sales cube: the country level, and customers
// that never count the guest (order o5). Figures by hand in
// etl/shop_test.go: Brazil o1 145.45 + o2 100.00 for customer 12346,
// Portugal 0.13, the guest 50.50.
func TestShopExportCube(t *testing.T) {
	dir := t.TempDir()
	shop := filepath.Join("..", "..", "etl", "testdata", "shop")
	wh := filepath.Join(dir, "w.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--config", filepath.Join(shop, "ckm.yaml"), "load", shop); code != exitRejected {
		t.Fatalf("load: exit %d, want %d (2 rejected lines): %s", code, exitRejected, stderr)
	}
	out, stderr, code := runCkm(t, "", "--warehouse", wh, "cube", "query", "sales", "--measures", "revenue,customers,orders",
		"--rows", "country.country", "--totals", "--format", "csv")
	if code != 0 {
		t.Fatalf("cube query: exit %d: %s", code, stderr)
	}
	want := "country.country,_row_level,revenue,customers,orders\n,total,296.08,2,4\nBR,country.country,245.45,1,2\nPT,country.country,0.13,1,1\n,country.country,50.50,0,1\n"
	if out != want {
		t.Errorf("cube:\n%s\nwant:\n%s", out, want)
	}
}
