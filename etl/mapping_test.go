package etl

import (
	"strings"
	"testing"
)

// TestMappingCorrections: `corrections:` in a sources list reads restate
// (the default) or reject, and anything else is an error naming the value.
func TestMappingCorrections(t *testing.T) {
	doc := func(line string) []byte {
		return []byte(`sources:
  - name: shop
    target: sales
    pattern: "shop_*.csv"
` + line + `
    columns:
      order_id: [订单号]
      ts: [下单时间]
      product_code: [sku]
      quantity: [qty]
      unit_price: [price]
`)
	}
	for _, tc := range []struct{ line, want, err string }{
		{"", CorrectionsRestate, ""},
		{"    corrections: restate", CorrectionsRestate, ""},
		{"    corrections: reject", CorrectionsReject, ""},
		{"    corrections: overwrite", "", `corrections "overwrite": want restate or reject`},
	} {
		ms, err := ParseMappings("ckm.yaml", doc(tc.line))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "ckm.yaml") {
				t.Errorf("%q: error %v, want one naming ckm.yaml and %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil || len(ms) != 1 || ms[0].Corrections != tc.want {
			t.Errorf("%q: %+v, %v; want corrections %s", tc.line, ms, err, tc.want)
		}
	}
}
