package etl

import (
	"fmt"
	"sort"
	"strings"
)

// fieldTypes says what each canonical field holds, for `ckm fields`.
var fieldTypes = map[string]string{
	"order_id": "text", "line_no": "integer > 0", "store_code": "text", "store_name": "text", "salesperson": "text",
	"ts": "timestamp", "member_card": "text", "mobile": "mobile number", "email": "email address",
	"id_number": "resident ID number", "product_code": "text", "quantity": "integer ≠ 0",
	"unit_price": "decimal, up to 4 places", "discount": "decimal, 2 places", "amount": "decimal, 2 places",
	"province": "text (a GB/T 2260 province in China)", "city": "text (a GB/T 2260 city in China)",
	"customer_ref": "text (the source's own customer id)", "country": "ISO 3166 code or English country name",
	"product_name": "text", "category": "text", "freight": "decimal, 2 places", "order_status": "text",
	"payment_type": "text (several: comma-separated)", "payment_amount": "decimal, 2 places (the order's)",
	"name": "text", "sex": "M/F (男/女)", "birth_date": "date", "registered_date": "date", "member_level": "text",
	"distributor": "yes/no", "customer_type": "text", "changed_at": "date or timestamp",
	"category_path": "text (a>b>c)", "subcategory": "text", "product_line": "text", "brand": "text",
	"cost": "decimal, 2 places", "list_price": "decimal, 2 places",
	"campaign_code": "text", "campaign_name": "text", "channel": "text", "start_date": "date", "end_date": "date",
	"satisfaction": "integer 1..5", "agent": "text", "duration": "integer seconds",
	"targeted_date": "date", "responded": "yes/no", "response_date": "date", "revenue": "decimal, 2 places",
}

// FieldInfo describes one canonical field of a target.
type FieldInfo struct {
	Target   string   `json:"target"`
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	Aliases  []string `json:"aliases"` // the headers the mappings of the target try, built-in and configured
}

// Fields lists the canonical fields of a target (every target when target
// is empty), with the aliases the built-in and the configured mappings
// give them.
func Fields(target string, configured []Mapping) ([]FieldInfo, error) {
	names := targetNames()
	if target != "" {
		if _, ok := targets[target]; !ok {
			return nil, fmt.Errorf("target %q: want one of %s", target, strings.Join(names, ", "))
		}
		names = []string{target}
	}
	builtin, err := DefaultMappings()
	if err != nil {
		return nil, err
	}
	ms := mergeMappings(builtin, configured)
	sort.SliceStable(names, func(a, b int) bool { return targets[names[a]].Order < targets[names[b]].Order })
	var out []FieldInfo
	for _, n := range names {
		for _, f := range targets[n].Fields {
			fi := FieldInfo{Target: n, Name: f.Name, Type: fieldTypes[f.Name], Required: f.Required, Aliases: []string{}}
			seen := map[string]bool{}
			for _, m := range ms {
				if m.Target != n {
					continue
				}
				for _, c := range []Column{m.Columns[f.Name], m.ItemColumns[f.Name]} {
					for _, a := range c.Aliases {
						if !seen[a] {
							seen[a] = true
							fi.Aliases = append(fi.Aliases, a)
						}
					}
				}
			}
			out = append(out, fi)
		}
	}
	return out, nil
}
