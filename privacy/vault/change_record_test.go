package vault

import (
	"context"
	"testing"
)

// TestForgetRecordsChange: forgetting a customer records, for the lake's
// incremental export, the months of that customer's contact and response
// rows it changed (ckm_change), and none of another customer's.
func TestForgetRecordsChange(t *testing.T) {
	ctx := context.Background()
	w, v := registeredVault(t)
	for _, q := range []string{
		`INSERT INTO dim_customer (customer_key, customer_id, name, customer_type, valid_from, valid_to, is_current)
		 VALUES (1, 1001, 'A', 'current', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true),
		        (2, 1002, 'B', 'current', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true)`,
		`INSERT INTO fact_interaction (interaction_id, date_key, customer_key, customer_id)
		 VALUES ('tok1|2024-03-05', 20240305, 1, 1001), ('tok1|2025-07-01', 20250701, 1, 1001), ('tok2|2024-04-01', 20240401, 2, 1002)`,
		`INSERT INTO fact_campaign (response_id, campaign_key, date_key, customer_key, customer_id)
		 VALUES ('C1|tok1', 1, 20240610, 1, 1001), ('C1|tok2', 1, 20240611, 2, 1002)`,
	} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.Forget(ctx, w.DB, 1001, "root", "request 1"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := w.DB.QueryRowContext(ctx, `SELECT coalesce(string_agg(table_name || ':' || CAST(month AS VARCHAR), ' ' ORDER BY table_name, month), '')
		FROM ckm_change WHERE writer = 'forget'`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "fact_campaign:202406 fact_interaction:202403 fact_interaction:202507"; got != want {
		t.Errorf("forget recorded %q, want %q", got, want)
	}
}
