package privacy

import "strings"

// AnalystSchema is the schema of the masked views (schema version 7) an
// analyst reads instead of the base tables that hold raw personal data. An
// analyst session resolves names there first (search_path analyst,main).
const AnalystSchema = "analyst"

// MaskedRelations are the base tables of schema main that hold raw
// personal data and have a masked view of the same name in AnalystSchema.
var MaskedRelations = []string{"dim_customer", "etl_reject", "fact_interaction", "fact_campaign"}

// MaskedColumns are the columns the masked views mask, by kind (the views
// of schema version 7; a test holds each to Mask of the base value). The
// views also publish dim_customer's birth date as birth_year only, and
// leave out the reject ledger's raw values and records.
var MaskedColumns = map[string]map[string]Kind{
	"dim_customer": {"id_number": IDNumber, "name": Name, "mobile": Mobile, "email": Email},
	// Natural keys holding a mobile or card: its part is masked as a phone.
	"fact_interaction": {"interaction_id": Phone},
	"fact_campaign":    {"response_id": Phone},
}

// analystTables are ckm's own tables an analyst reads as they are: the run
// ledger and manifest (paths, counts) and the schema version.
var analystTables = map[string]bool{"etl_run": true, "etl_file": true, "etl_watermark": true, "schema_version": true}

// AnalystMayRead reports whether an analyst may read the relation name of
// schema main directly: dimensions, facts and the knowledge base (which
// hold no raw personal values but the customer dimension, read through its
// masked view), and the run ledger. The identity map, the reject ledger's
// raw records, the reveal audit and anything not named here are not
// readable.
func AnalystMayRead(name string) bool {
	n := strings.ToLower(name)
	for _, m := range MaskedRelations {
		if n == m {
			return false
		}
	}
	if analystTables[n] {
		return true
	}
	return strings.HasPrefix(n, "dim_") || strings.HasPrefix(n, "fact_") || strings.HasPrefix(n, "kb_")
}
