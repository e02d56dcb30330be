package etl

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func explainOf(t *testing.T, rep *ExplainReport, file, role string) map[string]ExplainField {
	t.Helper()
	for _, f := range rep.Files {
		if filepath.Base(f.Path) == file && f.Role == role {
			out := map[string]ExplainField{}
			for _, x := range f.Fields {
				out[x.Field] = x
			}
			return out
		}
	}
	t.Fatalf("no %s of %s in %+v", role, file, rep.Files)
	return nil
}

// TestExplain: which source reads each file, and per field the header
// mapped and the aliases tried — for a built-in mapping and for the joined
// shop export.
func TestExplain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "pos_sales_1.csv", "订单号,行号,销售时间,商品编码,数量,单价\n", false)
	writeFile(t, dir, "notes.txt", "hello\n", false)
	rep, err := Explain(ctx, []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pos := explainOf(t, rep, "pos_sales_1.csv", "lines")
	if x := pos["order_id"]; x.From != "订单号" || strings.Join(x.Tried, ",") != "order_id,单号,订单号,小票号" || !x.Required {
		t.Errorf("order_id: %+v", x)
	}
	if x := pos["store_code"]; x.From != "" || strings.Join(x.Tried, ",") != "store_code,门店编号,门店代码" {
		t.Errorf("store_code: %+v", x)
	}
	if len(rep.Ignored) != 1 || filepath.Base(rep.Ignored[0]) != "notes.txt" {
		t.Errorf("ignored %v", rep.Ignored)
	}

	ms, err := LoadMappingFile(filepath.Join("testdata", "shop", "ckm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Explain(ctx, []string{filepath.Join("testdata", "shop")}, ms)
	if err != nil {
		t.Fatal(err)
	}
	items := explainOf(t, rep, "shop_order_items.csv", "lines")
	for f, want := range map[string]string{"quantity": "value: 1", "discount": "sql: round(price * discount_pct / 100, 2)",
		"ts": "orders.order_purchase_timestamp (joined)", "unit_price": "price", "amount": ""} {
		if x, ok := items[f]; (ok || want != "") && x.From != want {
			t.Errorf("items %s from %q, want %q", f, x.From, want)
		}
	}
	orders := explainOf(t, rep, "shop_orders.csv", "join orders of shop_sales")
	if x := orders["key this.order_id"]; x.From != "order_id" {
		t.Errorf("orders key: %+v", x)
	}
	explainOf(t, rep, "shop_customers.csv", "join customers of shop_sales")
}

// TestFields lists a target's fields with type, required and aliases.
func TestFields(t *testing.T) {
	fs, err := Fields("sales", nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]FieldInfo{}
	for _, f := range fs {
		byName[f.Name] = f
	}
	if len(fs) != len(targets["sales"].Fields) {
		t.Errorf("%d fields, want %d", len(fs), len(targets["sales"].Fields))
	}
	if f := byName["order_id"]; !f.Required || strings.Join(f.Aliases, ",") != "单号,订单号,小票号,order_id" {
		t.Errorf("order_id: %+v", f)
	}
	if f := byName["unit_price"]; f.Type != "decimal, up to 4 places" {
		t.Errorf("unit_price: %+v", f)
	}
	for _, f := range fs {
		if f.Type == "" {
			t.Errorf("%s has no type", f.Name)
		}
	}
	if _, err := Fields("orders", nil); err == nil || !strings.Contains(err.Error(), "want one of") {
		t.Errorf("unknown target: %v", err)
	}
	all, err := Fields("", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tg := range targets {
		n += len(tg.Fields)
	}
	if len(all) != n {
		t.Errorf("all targets: %d fields, want %d", len(all), n)
	}
}

// TestConfiguredMappingsFirstAndSharedFiles: a configured mapping whose
// pattern matches takes a file from the built-in one; a file two
// configured sources match feeds both (a product list that is also a
// sales file), each with its own manifest entry; a symbolic link to a file
// is followed.
func TestConfiguredMappingsFirstAndSharedFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	outside := t.TempDir()
	writeFile(t, outside, "products_shop.csv", "sku,title,sold_on,qty,price,invoice\n"+
		"A1,Lamp,2024-05-01 10:00,2,12.5000,I1\n"+
		"A2,Chair,2024-05-01 11:00,1,40.00,I2\n", false)
	if err := os.Symlink(filepath.Join(outside, "products_shop.csv"), filepath.Join(dir, "products_shop.csv")); err != nil {
		t.Fatal(err)
	}
	ms, err := ParseMappings("ckm.yaml", []byte(`sources:
  - name: shop_products
    target: products
    pattern: "products_shop*.csv"
    columns: {product_code: sku, product_name: title}
  - name: shop_lines
    target: sales
    channel: pos
    pattern: "products_shop*.csv"
    columns: {order_id: invoice, ts: sold_on, product_code: sku, quantity: qty, unit_price: price}
`))
	if err != nil {
		t.Fatal(err)
	}
	w := openMem(t)
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Mappings: ms})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Files {
		got = append(got, f.Source+":"+f.Target+":"+itoa64(f.Read)+"/"+itoa64(f.Loaded))
	}
	if strings.Join(got, " ") != "shop_products:products:2/2 shop_lines:sales:2/2" {
		t.Errorf("files: %v", got)
	}
	expectCount(t, w, 2, `SELECT count(*) FROM etl_file WHERE path LIKE '%products_shop.csv'`)
	expectValue(t, w, "A1 Lamp false|A2 Chair false", `SELECT string_agg(product_code || ' ' || product_name || ' ' || is_inferred, '|' ORDER BY product_code) FROM dim_product WHERE product_code LIKE 'A%'`)
	expectValue(t, w, "25.00|40.00", `SELECT string_agg(CAST(amount AS VARCHAR), '|' ORDER BY order_id) FROM fact_sales`)
	// The built-in products mapping did not read it as well.
	expectCount(t, w, 0, `SELECT count(*) FROM etl_file WHERE source = 'products'`)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
