package etl

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
)

// The export in testdata/shop, by hand (see its ckm.yaml):
//
//	items line  order  price   freight  discount            outcome
//	2           o1     100.00  10.00    0                   loaded, customer 12346
//	3           o1      50.50  10.00    10% = 5.05          loaded (amount 45.45)
//	4           o2     100.00  15.25    0                   loaded, customer 12346 (written 12346)
//	5           o3      20.00   5.00    0                   cancelled: rejected (exclude) or a return
//	6           o5      50.50   8.00    0                   loaded for the guest (customer c9 not in the file)
//	7           o6       0.1250 2.00    0                   loaded, 1 × 0.1250 = 0.13 half up; Portugal
//	8           o9     100.00   1.00    0                   rejected: no order o9 (join_missing)
//	9           o2     (line 4 again)                       duplicate
//
// orders: o4 has no items (join_unused, noted); customers: c4 (only o4's)
// and c6 (no order) are unused; payments: o1 paid in two lines (combined:
// credit_card,voucher 175.95), o7 is no order with items (unused). Quantity is the constant 1, the discount
// the expression round(price × discount_pct / 100, 2), the time, status
// and customer come through the joins.
func loadShop(t *testing.T, cancelledAs string) (*Report, *engine.Warehouse) {
	t.Helper()
	ms, err := LoadMappingFile(filepath.Join("testdata", "shop", "ckm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ms[0].Cancelled.As = cancelledAs
	w := openMem(t)
	rep, err := Load(context.Background(), w, []string{filepath.Join("testdata", "shop")}, Options{AsOf: asOf2024(), Mappings: ms})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return rep, w
}

func fileCounts(rep *Report) map[string][5]int64 {
	out := map[string][5]int64{}
	for _, f := range rep.Files {
		out[filepath.Base(f.Path)] = [5]int64{f.Read, f.Loaded, f.Rejected, f.Duplicates, f.Warned}
	}
	return out
}

func TestShopExportCancelledExcluded(t *testing.T) {
	rep, w := loadShop(t, "exclude")
	got := fileCounts(rep)
	want := map[string][5]int64{ // read, loaded, rejected, duplicates, warned
		"shop_order_items.csv": {8, 5, 2, 1, 0},
		"shop_orders.csv":      {6, 6, 0, 0, 1},
		"shop_customers.csv":   {6, 6, 0, 0, 2},
		// o1 paid twice (combined); o7 has no items (noted).
		"shop_order_payments.csv": {6, 6, 0, 0, 1},
	}
	for f, c := range want {
		// Items: every loaded line warns product_unknown (no product master).
		if f == "shop_order_items.csv" {
			c[4] = got[f][4]
		}
		if got[f] != c {
			t.Errorf("%s: read/loaded/rejected/duplicates/warned %v, want %v", f, got[f], c)
		}
	}
	ledger := map[string]string{}
	scanRows(t, w, `SELECT regexp_extract(path, '[^/]+$') || ':' || line || ' ' || rule FROM etl_reject
		WHERE rule <> 'product_unknown' ORDER BY path, line`, func(v ...string) { ledger[v[0]] = "" })
	for _, e := range []string{"shop_order_items.csv:5 order_cancelled", "shop_order_items.csv:8 join_missing",
		"shop_order_items.csv:9 duplicate", "shop_orders.csv:5 join_unused", "shop_customers.csv:5 join_unused",
		"shop_customers.csv:7 join_unused", "shop_order_payments.csv:7 join_unused"} {
		if _, ok := ledger[e]; !ok {
			t.Errorf("ledger lacks %s (has %v)", e, ledger)
		}
	}
	if len(ledger) != 7 {
		t.Errorf("ledger has %d entries besides product_unknown, want 7: %v", len(ledger), ledger)
	}
	expectValue(t, w, "5|4|296.08|45.25|0", `SELECT count(*) || '|' || count(DISTINCT order_id) || '|' || sum(amount) || '|' || sum(freight)
		|| '|' || count(*) FILTER (WHERE is_return) FROM fact_sales_current`)
	// Customers: 12346 (o1 as 12346.0, o2 as 12346) and 20003 (o6); o5 the guest.
	expectValue(t, w, "2", `SELECT count(DISTINCT customer_id) FROM fact_sales_current WHERE customer_id > 0`)
	expectValue(t, w, "1", `SELECT count(DISTINCT customer_id) FROM fact_sales_current WHERE order_id IN ('o1', 'o2')`)
	expectValue(t, w, "-5|-5|Guest", `SELECT f.customer_id || '|' || f.customer_key || '|' || d.name FROM fact_sales_current f
		JOIN dim_customer d USING (customer_key) WHERE order_id = 'o5'`)
	expectValue(t, w, "2", `SELECT count(*) FROM etl_identity WHERE key_type = 'customer_ref' AND key_value IN ('web:12346', 'web:20003')`)
	// Countries: Portugal by name, Brazil by code; places outside China are text.
	expectValue(t, w, "o1 BR SP sao paulo -1|o2 BR SP sao paulo -1|o5 ∅ ∅ ∅ -1|o6 PT Lisboa lisboa -1",
		`SELECT string_agg(DISTINCT concat_ws(' ', order_id, coalesce(country_code, '∅'), coalesce(region_text, '∅'),
			coalesce(city_text, '∅'), region_key), '|' ORDER BY concat_ws(' ', order_id, coalesce(country_code, '∅'), coalesce(region_text, '∅'),
			coalesce(city_text, '∅'), region_key)) FROM fact_sales_current`)
	// Unit price to four decimals, the amount rounded half up; the discount expression.
	expectValue(t, w, "0.1250|0.13", `SELECT unit_price || '|' || amount FROM fact_sales_current WHERE order_id = 'o6'`)
	expectValue(t, w, "45.45", `SELECT amount FROM fact_sales_current WHERE order_id = 'o1' AND line_no = 2`)
	expectValue(t, w, "delivered", `SELECT string_agg(DISTINCT order_status) FROM fact_sales_current`)
	// Payments: o1's two combined (150.00 + 25.95), none for o5.
	expectValue(t, w, "o1 credit_card,voucher 175.95|o2 boleto 115.25|o5 ∅ ∅|o6 credit_card 2.13",
		`SELECT string_agg(DISTINCT concat_ws(' ', order_id, coalesce(payment_type, '∅'), coalesce(CAST(payment_amount AS VARCHAR), '∅')), '|'
			ORDER BY concat_ws(' ', order_id, coalesce(payment_type, '∅'), coalesce(CAST(payment_amount AS VARCHAR), '∅'))) FROM fact_sales_current`)
	// Products the sales lines name: inferred, with their category.
	expectValue(t, w, "P1 cama_mesa_banho|P2 beleza_saude|P4 Inferred", `SELECT string_agg(product_code || ' ' || category, '|' ORDER BY product_code)
		FROM dim_product WHERE is_inferred`)
}

func TestShopExportCancelledAsReturn(t *testing.T) {
	rep, w := loadShop(t, "return")
	if got := fileCounts(rep)["shop_order_items.csv"]; got[0] != 8 || got[1] != 6 || got[2] != 1 || got[3] != 1 {
		t.Errorf("items read/loaded/rejected/duplicates %v, want 8/6/1/1", got[:4])
	}
	// o3's line is a return: −20.00 and −5.00 freight.
	expectValue(t, w, "6|5|276.08|40.25|1", `SELECT count(*) || '|' || count(DISTINCT order_id) || '|' || sum(amount) || '|' || sum(freight)
		|| '|' || count(*) FILTER (WHERE is_return) FROM fact_sales_current`)
	expectValue(t, w, "-1|-20.00|-5.00|canceled", `SELECT quantity || '|' || amount || '|' || freight || '|' || order_status FROM fact_sales_current WHERE order_id = 'o3'`)
	expectValue(t, w, "3", `SELECT count(DISTINCT customer_id) FROM fact_sales_current WHERE customer_id > 0`)
}

// TestShopExportLoadedAgain: the same files again are nothing to load; new
// items the next day join to the orders and customers loaded before (their
// files unchanged, read again but not recorded twice).
func TestShopExportNextDay(t *testing.T) {
	ctx := context.Background()
	ms, err := LoadMappingFile(filepath.Join("testdata", "shop", "ckm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"shop_orders.csv", "shop_customers.csv", "shop_order_items.csv"} {
		copyFile(t, filepath.Join("testdata", "shop", f), filepath.Join(dir, f))
	}
	w := openMem(t)
	if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Mappings: ms}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "shop_order_items_day2.csv", "order_id,order_item_id,product_id,product_category_name,price,freight_value,discount_pct\n"+
		"o4,1,P1,cama_mesa_banho,99.99,1.01,0\n", false)
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Mappings: ms})
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, f := range rep.Files {
		if f.Skipped == "" {
			loaded = append(loaded, filepath.Base(f.Path))
		}
	}
	if strings.Join(loaded, ",") != "shop_order_items_day2.csv" {
		t.Errorf("files loaded on day 2: %v, want only the new items", loaded)
	}
	expectValue(t, w, "20002|99.99|1.01", `SELECT substr(i.key_value, 5) || '|' || f.amount || '|' || f.freight FROM fact_sales_current f
		JOIN etl_identity i ON i.customer_id = f.customer_id AND i.key_type = 'customer_ref' WHERE f.order_id = 'o4'`)
	expectValue(t, w, "3", `SELECT count(*) FROM etl_file WHERE source LIKE 'shop_sales.%' OR source = 'shop_sales' AND run_id = 1`)
}

// TestShopMappingIsTheMarketplaceFixtures: the mapping ckm fixtures
// marketplace writes beside its export is the one of testdata/shop (the
// README's worked example), field for field — one mapping, not two that
// drift apart.
func TestShopMappingIsTheMarketplaceFixtures(t *testing.T) {
	shop, err := LoadMappingFile(filepath.Join("testdata", "shop", "ckm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	generated, err := ParseMappings(filepath.Join("testdata", "shop", "ckm.yaml"), []byte(fixtures.MarketplaceMapping))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shop, generated) {
		t.Errorf("testdata/shop/ckm.yaml maps\n%+v\nfixtures.MarketplaceMapping\n%+v", shop, generated)
	}
}
