package etl

import (
	"sort"

	"github.com/ckm-dev/ckm/etl/clean"
)

// target is a kind of record the warehouse takes in, with its canonical
// fields; a Mapping fills them from one kind of export.
type target struct {
	Name   string
	Fields []targetField
	// Order is the processing order: dimensions before the facts using them.
	Order int
}

type targetField struct {
	Name     string
	Required bool
}

var targets = map[string]*target{
	"products": {Name: "products", Order: 0, Fields: []targetField{
		{"product_code", true}, {"product_name", false}, {"category_path", false}, {"category", false},
		{"subcategory", false}, {"product_line", false}, {"brand", false}, {"cost", false}, {"list_price", false}}},
	"campaigns": {Name: "campaigns", Order: 1, Fields: []targetField{
		{"campaign_code", true}, {"campaign_name", false}, {"channel", false}, {"start_date", false},
		{"end_date", false}, {"cost", false}}},
	"customers": {Name: "customers", Order: 2, Fields: []targetField{
		{"member_card", false}, {"name", false}, {"id_number", false}, {"mobile", false}, {"email", false},
		{"sex", false}, {"birth_date", false}, {"province", false}, {"city", false}, {"registered_date", false},
		{"member_level", false}, {"distributor", false}, {"customer_type", false},
		// changed_at is when the record's values took effect (the source's
		// change or export date): the valid_from of the dim_customer version
		// it opens. Without it, the load's as-of.
		{"changed_at", false},
		// The source system's own customer id.
		{"customer_ref", false},
		// Marketing permissions (PIPL): yes/no.
		{"marketing_consent", false}, {"do_not_contact", false}}},
	"sales": {Name: "sales", Order: 3, Fields: []targetField{
		{"order_id", true}, {"line_no", false}, {"store_code", false}, {"store_name", false}, {"salesperson", false},
		{"ts", true}, {"member_card", false}, {"mobile", false}, {"email", false}, {"id_number", false},
		{"product_code", true}, {"quantity", true}, {"unit_price", true}, {"discount", false}, {"amount", false},
		{"province", false}, {"city", false},
		// Exports ckm did not generate: the source's own customer id, the
		// country (outside China province and city are free text), the
		// product's name and category (for a product the master lacks),
		// freight and the order's status.
		{"customer_ref", false}, {"country", false}, {"product_name", false}, {"category", false},
		{"freight", false}, {"order_status", false},
		// How the order was paid: its payment types and the amount paid
		// (the whole order's, on each of its lines).
		{"payment_type", false}, {"payment_amount", false}}},
	"interactions": {Name: "interactions", Order: 4, Fields: []targetField{
		{"mobile", false}, {"member_card", false}, {"ts", true}, {"category", false}, {"satisfaction", false},
		{"agent", false}, {"duration", false}}},
	"responses": {Name: "responses", Order: 5, Fields: []targetField{
		{"campaign_code", true}, {"member_card", false}, {"mobile", false}, {"targeted_date", false},
		{"responded", false}, {"response_date", false}, {"revenue", false}}},
}

func targetNames() []string {
	var out []string
	for n := range targets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (t *target) has(field string) bool {
	for _, f := range t.Fields {
		if f.Name == field {
			return true
		}
	}
	return false
}

func (t *target) fieldNames() []string {
	out := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		out[i] = f.Name
	}
	return out
}

// mapColumns matches a file's header row to the mapping's fields.
func mapColumns(header []string, m *Mapping) (map[string]int, error) {
	t := targets[m.Target]
	var specs []clean.FieldSpec
	for _, f := range m.fields() {
		req := false
		for _, tf := range t.Fields {
			if tf.Name == f {
				req = tf.Required
			}
		}
		aliases := m.Columns[f].Aliases
		if aliases == nil {
			aliases = m.ItemColumns[f].Aliases
		}
		specs = append(specs, clean.FieldSpec{Name: f, Aliases: aliases, Required: req})
	}
	cols, err := clean.MapHeaders(header, specs)
	if err != nil {
		return nil, err
	}
	// Optional fields that are absent read as NULL: point them past the row.
	for _, f := range m.fields() {
		if _, ok := cols[f]; !ok {
			cols[f] = -1
		}
	}
	return cols, nil
}
