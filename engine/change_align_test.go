package engine

import (
	"context"
	"testing"
)

// TestAlignCustomerVersionsRecordsChange: re-pointing facts at the
// customer version that now holds their time records exactly the months of
// the rows it moved (fact_sales and fact_interaction), in the caller's
// transaction, and nothing when nothing moves.
func TestAlignCustomerVersionsRecordsChange(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, q := range []string{
		`INSERT INTO dim_customer (customer_key, customer_id, name, customer_type, valid_from, valid_to, is_current)
		 VALUES (1, 1001, 'A', 'current', TIMESTAMP '2024-01-01', TIMESTAMP '2024-03-01', false),
		        (2, 1001, 'A', 'current', TIMESTAMP '2024-03-01', TIMESTAMP '9999-12-31', true),
		        (3, 1002, 'B', 'current', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true)`,
		// Customer 1001's sales of March and May still point at version 1,
		// January's rightly; customer 1002's are right.
		`INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, etl_run_id)
		 VALUES ('S1', 1, 20240110, TIMESTAMP '2024-01-10 10:00', 1, 1001, 1, 1, 1, 1, 1, false, 1),
		        ('S2', 1, 20240305, TIMESTAMP '2024-03-05 10:00', 1, 1001, 1, 1, 1, 1, 1, false, 1),
		        ('S3', 1, 20240520, TIMESTAMP '2024-05-20 10:00', 1, 1001, 1, 1, 1, 1, 1, false, 1),
		        ('S4', 1, 20240402, TIMESTAMP '2024-04-02 10:00', 3, 1002, 1, 1, 1, 1, 1, false, 1)`,
		`INSERT INTO fact_interaction (interaction_id, date_key, contact_ts, customer_key, customer_id)
		 VALUES ('I1', 20240610, TIMESTAMP '2024-06-10 09:00', 1, 1001), ('I2', 20240215, TIMESTAMP '2024-02-15 09:00', 1, 1001)`,
	} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	recorded := func() string {
		var s string
		if err := w.DB.QueryRowContext(ctx, `SELECT coalesce(string_agg(table_name || ':' || CAST(month AS VARCHAR), ' ' ORDER BY table_name, month), '')
			FROM ckm_change WHERE writer = 'customer versions'`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, want := range []string{
		"fact_interaction:202406 fact_sales:202403 fact_sales:202405",
		"fact_interaction:202406 fact_sales:202403 fact_sales:202405", // aligned already: nothing more
	} {
		tx, err := w.DB.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := AlignCustomerVersions(ctx, tx, `SELECT 1001 UNION ALL SELECT 1002`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := recorded(); got != want {
			t.Errorf("recorded %q, want %q", got, want)
		}
	}
	var keys string
	if err := w.DB.QueryRowContext(ctx, `SELECT string_agg(order_id || '=' || customer_key, ' ' ORDER BY order_id) FROM fact_sales`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if keys != "S1=1 S2=2 S3=2 S4=3" {
		t.Errorf("sales point at %s", keys)
	}
}
