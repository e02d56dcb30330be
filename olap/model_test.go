package olap

import (
	"context"
	"strings"
	"testing"
)

const goodCube = `name: t
fact: fact_sales
joins:
  - {name: region, table: dim_region, fact_key: region_key, key: region_key}
dimensions:
  - name: region
    join: region
    hierarchies:
      - name: geo
        levels:
          - {name: province, column: province}
          - {name: city, column: city}
measures:
  - {name: revenue, agg: sum, expr: amount}
`

// TestParseErrors checks that mistakes found without a warehouse name the
// file, line and field.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown field", strings.Replace(goodCube, "fact: fact_sales", "fact: fact_sales\nfacts: x", 1), "t.yaml:3: unknown field \"facts\" in cube"},
		{"bad yaml", "name: [", "t.yaml:1: bad YAML"},
		{"unknown join", strings.Replace(goodCube, "    join: region", "    join: regions", 1), `t.yaml:7: dimensions[region].join: unknown join "regions"`},
		{"missing column", strings.Replace(goodCube, "{name: city, column: city}", "{name: city}", 1), "t.yaml:12: dimensions[region].hierarchies[0].levels[1].column: missing"},
		{"bad agg", strings.Replace(goodCube, "agg: sum", "agg: total", 1), `t.yaml:14: measures[revenue].agg: agg "total"`},
		{"sql in expr", strings.Replace(goodCube, "expr: amount", "expr: amount); DROP TABLE x; --", 1), "measures[revenue].expr: unexpected \";\""},
		{"derived unknown", goodCube + "  - {name: r2, derived: revenue / orders}\n", `t.yaml:15: measures[r2].derived: unknown measure "orders"`},
		{"cycle", goodCube + "  - {name: a, derived: b + revenue}\n  - {name: b, derived: a * 2}\n", "cycle: a -> b -> a"},
		{"time without time dimension", goodCube + "  - {name: ly, time: {base: revenue, compare: last_year}}\n", "measures[ly].time: time measures need a dimension with time: columns"},
		{"grain outside time", strings.Replace(goodCube, "{name: city, column: city}", "{name: city, column: city, grain: month}", 1), "levels[1].grain: grain is only for levels of the time dimension"},
		{"rollup unknown level", goodCube + "rollups:\n  - {name: r, levels: [region.county], measures: [revenue]}\n", `t.yaml:16: rollups[0].levels: cube t has no level "region.county"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Parse("t.yaml", []byte(goodCube)); err != nil {
		t.Fatalf("good cube: %v", err)
	}
}

// TestValidateErrors checks the catalog checks on a small warehouse.
func TestValidateErrors(t *testing.T) {
	w := smallWarehouse(t)
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown table", strings.Replace(goodCube, "fact: fact_sales", "fact: fact_sale", 1), `t.yaml:2: fact: no table "fact_sale"`},
		{"unknown column", strings.Replace(goodCube, "column: city}", "column: town}", 1), `t.yaml:12: dimensions[region].hierarchies[0].levels[1].column: table dim_region has no column "town"`},
		{"unknown measure column", strings.Replace(goodCube, "expr: amount", "expr: amount * discount", 1), `t.yaml:14: measures[revenue].expr: table fact_sales has no column "discount"`},
		{"sum of text", strings.Replace(goodCube, "expr: amount", "expr: order_id", 1), "measures[revenue].agg: agg sum needs a numeric expression"},
		{"fan-out join", strings.Replace(strings.Replace(goodCube, "{name: region, table: dim_region, fact_key: region_key, key: region_key}",
			"{name: region, table: dim_region, fact_key: region_key, key: region_key}\n  - {name: customer, table: dim_customer, fact_key: customer_id, key: customer_id}", 1), "", "", 1),
			`t.yaml:5: joins[1].key: join fans out: 1 values of dim_customer.customer_id occur more than once (e.g. 102)`},
		{"not functional", strings.Replace(strings.Replace(goodCube, "joins:\n", "joins:\n  - {name: customer, table: dim_customer, fact_key: customer_key, key: customer_key}\n", 1),
			"          - {name: city, column: city}\n", `          - {name: city, column: city}
  - name: customer
    join: customer
    hierarchies:
      - name: kind
        levels:
          - {name: type, column: customer_type}
          - {name: member_level, column: member_level}
`, 1), `t.yaml:20: dimensions[customer].hierarchies[0].levels[1]: hierarchy kind is not functional: member_level "silver" lies under more than one type ([current, distributor])`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(context.Background(), w.DB, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
