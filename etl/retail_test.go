package etl

import (
	"context"
	"path/filepath"
	"testing"
)

// TestRetailExport loads testdata/retail, a one-file invoice export, by
// hand:
//
//	line  invoice   qty × price        amount   customer  country
//	2     536365    6 × 2.55           15.30    17850.0   United Kingdom
//	3     536365    6 × 3.39           20.34    17850.0   United Kingdom
//	4     536366    6 × 1.85           11.10    17850     United Kingdom
//	5     536367    32 × 1.69          54.08    13047.0   EIRE (IE)
//	6     C536379   −1 × 27.50        −27.50    14527.0   United Kingdom: a cancellation, a return
//	7     536370    3 × 0.125           0.38    (none)    France: the guest; 0.375 half up
//	8     536371    1 × 0.0010          0.00    12583     Unspecified: no country (warned)
//	9     (line 2 again)                                  a duplicate
//
// Revenue 73.70 over 6 invoices; customers 17850, 13047, 14527, 12583.
func TestRetailExport(t *testing.T) {
	ms, err := LoadMappingFile(filepath.Join("testdata", "retail", "ckm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w := openMem(t)
	rep, err := Load(context.Background(), w, []string{filepath.Join("testdata", "retail", "online_retail.csv")}, Options{AsOf: asOf2024(), Mappings: ms})
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Files[0]; f.Read != 8 || f.Loaded != 7 || f.Rejected != 0 || f.Duplicates != 1 {
		t.Errorf("read/loaded/rejected/duplicates %d/%d/%d/%d, want 8/7/0/1", f.Read, f.Loaded, f.Rejected, f.Duplicates)
	}
	expectValue(t, w, "7|6|73.70|1|-27.50", `SELECT count(*) || '|' || count(DISTINCT order_id) || '|' || sum(amount) || '|'
		|| count(*) FILTER (WHERE is_return) || '|' || sum(amount) FILTER (WHERE is_return) FROM fact_sales_current`)
	expectValue(t, w, "4", `SELECT count(DISTINCT customer_id) FROM fact_sales_current WHERE customer_id > 0`)
	// 17850.0 and 17850 are one customer, with invoices 536365 and 536366.
	expectValue(t, w, "2", `SELECT count(DISTINCT order_id) FROM fact_sales_current f JOIN etl_identity i
		ON i.customer_id = f.customer_id AND i.key_type = 'customer_ref' AND i.key_value = 'web:17850'`)
	expectValue(t, w, "-5", `SELECT customer_id FROM fact_sales_current WHERE order_id = '536370'`)
	expectValue(t, w, "FR 0.38|GB 19.24|IE 54.08|∅ 0.00", `SELECT string_agg(coalesce(country_code, '∅') || ' ' || s, '|' ORDER BY country_code NULLS LAST)
		FROM (SELECT country_code, sum(amount) AS s FROM fact_sales_current GROUP BY 1)`)
	expectValue(t, w, "0.0010|0.00|0.1250|0.38", `SELECT (SELECT unit_price || '|' || amount FROM fact_sales_current WHERE order_id = '536371')
		|| '|' || (SELECT unit_price || '|' || amount FROM fact_sales_current WHERE order_id = '536370')`)
	expectValue(t, w, "2010-12-01 09:41:00", `SELECT CAST(order_ts AS VARCHAR) FROM fact_sales_current WHERE order_id = 'C536379'`)
	expectValue(t, w, "WHITE HANGING HEART T-LIGHT HOLDER", `SELECT product_name FROM dim_product WHERE product_code = '85123A'`)
	expectValue(t, w, "8 country_unknown|9 duplicate", `SELECT string_agg(line || ' ' || rule, '|' ORDER BY line) FROM etl_reject WHERE rule <> 'product_unknown'`)
}
