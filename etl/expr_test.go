package etl

import (
	"context"
	"strings"
	"testing"
)

// TestExpressionsChecked: a mapping expression is one scalar expression of
// the line's columns; anything reaching files, tables or settings is a
// config error naming the source and the field.
func TestExpressionsChecked(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	src := func(expr string) []Mapping {
		ms, err := ParseMappings("ckm.yaml", []byte(`sources:
  - name: shop_sales
    target: sales
    pattern: "items*.csv"
    joins: [{name: orders, pattern: "orders*.csv", on: {order_id: order_id}}]
    columns:
      order_id: order_id
      ts: orders.ts
      product_code: sku
      quantity: {value: 1}
      unit_price: price
      amount: {sql: `+quoteYAML(expr)+`}
`))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return ms
	}
	for _, ok := range []string{"price + freight", "round(price * (1 - discount_pct / 100), 2)", "coalesce(this.price, orders.total)",
		"CASE WHEN orders.status = 'canceled' THEN -price ELSE price END", "CAST(price AS DECIMAL(18,4)) * 2"} {
		if err := CheckExpressions(ctx, w.DB, src(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for expr, says := range map[string]string{
		"(SELECT sum(amount) FROM fact_sales)":           "subquery",
		"price + (SELECT 1)":                             "subquery",
		"(SELECT content FROM read_text('/etc/passwd'))": "subquery",
		"current_setting('home_directory')":              "function current_setting",
		"getenv('HOME')":                                 "function getenv",
		"sum(price)":                                     "function sum",
		"price; DROP TABLE fact_sales":                   "",
		"price -- comment":                               "", // allowed: the comment ends at the line break the wrapper adds
		"price FROM fact_sales":                          "",
		"customers.email":                                "customers is neither this nor a join",
		"1 +":                                            "",
	} {
		err := CheckExpressions(ctx, w.DB, src(expr))
		if expr == "price -- comment" {
			if err != nil {
				t.Errorf("%q: %v", expr, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: accepted", expr)
			continue
		}
		if !strings.Contains(err.Error(), "shop_sales") || !strings.Contains(err.Error(), "field amount") || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: error %q does not name the source, the field and %q", expr, err, says)
		}
	}
}

func quoteYAML(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestMappingOptionsChecked: mistakes in the new mapping keys are config
// errors naming the source.
func TestMappingOptionsChecked(t *testing.T) {
	base := "sources:\n  - name: s\n    target: sales\n    pattern: \"a*.csv\"\n    columns: {order_id: o, ts: t, product_code: p, quantity: q, unit_price: u}\n"
	for extra, says := range map[string]string{
		"    guests: maybe\n":                                                           "guests \"maybe\"",
		"    cancelled: {as: drop, status: [x]}\n":                                      "cancelled.as",
		"    cancelled: {as: return}\n":                                                 "give status",
		"    joins: [{name: o, pattern: \"a*.csv\", on: {k: k}}]\n":                     "the source's own",
		"    joins: [{name: this, pattern: \"b*.csv\", on: {k: k}}]\n":                  "name is taken",
		"    joins: [{name: b, pattern: \"b*.csv\"}]\n":                                 "on is required",
		"    joins: [{name: b, pattern: \"b*.csv\", from: c, on: {k: k}}]\n":            "not an earlier join",
		"    format: ndjson\n    joins: [{name: b, pattern: \"b*.csv\", on: {k: k}}]\n": "need a delimited or XLSX export",
	} {
		_, err := ParseMappings("ckm.yaml", []byte(base+extra))
		if err == nil || !strings.Contains(err.Error(), "source 1 (s)") || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v, want an error naming source s and saying %q", extra, err, says)
		}
	}
	_, err := ParseMappings("ckm.yaml", []byte(strings.Replace(base, "quantity: q", "quantity: {value: 1, sql: x}", 1)))
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("value and sql: %v", err)
	}
}
