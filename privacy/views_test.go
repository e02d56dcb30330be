package privacy

import (
	"context"
	"database/sql"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestAnalystViewsMask holds the masked views of schema analyst to the Go
// masks, column by column (MaskedColumns), on dirty and clean values.
func TestAnalystViewsMask(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.ExecContext(ctx, `
		INSERT INTO dim_customer (customer_key, customer_id, id_number, name, sex, birth_date, mobile, email) VALUES
			(1, 1, '11010519491231002X', '张三', 'F', DATE '1949-12-31', '+8613800138000', 'abc@b.cn'),
			(2, 2, '110105491231002', 'John Smith', 'M', DATE '1980-02-29', '+44 20 7946 0958', 'Li-Si@My-Shop.com'),
			(3, 3, NULL, NULL, NULL, NULL, NULL, NULL);
		INSERT INTO fact_interaction (interaction_id) VALUES ('+8613800138000|2024-01-29 14:32:10'), ('M10000095|2024-01-29 14:32:10'), ('13800138000'), (NULL);
		INSERT INTO fact_campaign (response_id) VALUES ('C202401|+8613800138000'), ('C202401|M10000095'), ('C202401'), (NULL)`); err != nil {
		t.Fatal(err)
	}
	for table, cols := range MaskedColumns {
		for col, kind := range cols {
			q := `SELECT b.` + col + `, a.` + col + ` FROM (SELECT row_number() OVER () AS r, ` + col + ` FROM main.` + table + `) b
				JOIN (SELECT row_number() OVER () AS r, ` + col + ` FROM analyst.` + table + `) a USING (r)`
			rows, err := w.DB.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var base, view sql.NullString
				if err := rows.Scan(&base, &view); err != nil {
					t.Fatal(err)
				}
				n++
				want := sql.NullString{String: Mask(kind, base.String), Valid: base.Valid}
				if table != "dim_customer" && base.Valid {
					want.String = maskKey(table, base.String)
				}
				if view != want {
					t.Errorf("analyst.%s.%s of %q = %q, want %q", table, col, base.String, view.String, want.String)
				}
			}
			rows.Close()
			if n < 3 {
				t.Errorf("analyst.%s: compared %d rows", table, n)
			}
		}
	}
	var years string
	if err := w.DB.QueryRowContext(ctx, `SELECT string_agg(coalesce(CAST(birth_year AS VARCHAR), 'NULL'), ',' ORDER BY customer_key) FROM analyst.dim_customer WHERE customer_key > 0`).Scan(&years); err != nil || years != "1949,1980,NULL" {
		t.Errorf("birth years %q, %v; want 1949,1980,NULL", years, err)
	}
	var hasDate bool
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) > 0 FROM duckdb_columns() WHERE schema_name = 'analyst' AND column_name = 'birth_date'`).Scan(&hasDate); err != nil || hasDate {
		t.Errorf("an analyst view publishes birth_date (%v)", err)
	}
}

// maskKey is the mask of a natural key holding an identifier, by hand:
// the identifier part masked as a phone number.
func maskKey(table, key string) string {
	switch {
	case table == "fact_interaction" && key == "+8613800138000|2024-01-29 14:32:10":
		return "+86 138****8000|2024-01-29 14:32:10"
	case table == "fact_interaction" && key == "M10000095|2024-01-29 14:32:10":
		return "*****0095|2024-01-29 14:32:10"
	case table == "fact_interaction" && key == "13800138000":
		return "+86 138****8000"
	case table == "fact_campaign" && key == "C202401|+8613800138000":
		return "C202401|+86 138****8000"
	case table == "fact_campaign" && key == "C202401|M10000095":
		return "C202401|*****0095"
	case table == "fact_campaign" && key == "C202401":
		return "C202401"
	}
	return "?" + key
}
