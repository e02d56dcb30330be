package engine

import (
	"context"
	"strings"
	"testing"
)

func TestCheckCustomerHistory(t *testing.T) {
	ctx := context.Background()
	const good = `(10, 1, TIMESTAMP '1900-01-01', TIMESTAMP '2024-05-01', false),
		(11, 1, TIMESTAMP '2024-05-01', TIMESTAMP '2024-09-01', false),
		(12, 1, TIMESTAMP '2024-09-01', TIMESTAMP '9999-12-31', true),
		(20, 2, TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true)`
	for _, tc := range []struct {
		name, versions, fault string
	}{
		{"intact", good, ""},
		{"gap", `(10, 1, TIMESTAMP '1900-01-01', TIMESTAMP '2024-04-30', false), (11, 1, TIMESTAMP '2024-05-01', TIMESTAMP '9999-12-31', true)`, "customer 1, version 10 [1900-01-01 00:00:00, 2024-04-30 00:00:00) gap until version 11"},
		{"overlap", `(10, 1, TIMESTAMP '1900-01-01', TIMESTAMP '2024-06-01', false), (11, 1, TIMESTAMP '2024-05-01', TIMESTAMP '9999-12-31', true)`, "overlaps version 11"},
		{"same start", `(10, 1, TIMESTAMP '2024-05-01', TIMESTAMP '2024-06-01', false), (11, 1, TIMESTAMP '2024-05-01', TIMESTAMP '9999-12-31', true)`, "starts together with version 11"},
		{"no current", `(10, 1, TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', false)`, "is the last version but not current"},
		{"two current", `(10, 1, TIMESTAMP '1900-01-01', TIMESTAMP '2024-05-01', true), (11, 1, TIMESTAMP '2024-05-01', TIMESTAMP '9999-12-31', true)`, "is current but version 11 follows"},
		{"closed last", `(10, 1, TIMESTAMP '1900-01-01', TIMESTAMP '2024-05-01', true)`, "is the last version but ends"},
		{"inverted", `(10, 1, TIMESTAMP '2024-05-01', TIMESTAMP '2024-04-01', true)`, "ends before it starts"},
		{"no period", `(10, 1, NULL, NULL, true)`, "no validity period"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Open(ctx, "", Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.DB.ExecContext(ctx, `INSERT INTO dim_customer (customer_key, customer_id, valid_from, valid_to, is_current) VALUES `+tc.versions); err != nil {
				t.Fatal(err)
			}
			err = CheckCustomerHistory(ctx, w.DB)
			switch {
			case tc.fault == "" && err != nil:
				t.Errorf("intact history: %v", err)
			case tc.fault != "" && (err == nil || !strings.Contains(err.Error(), tc.fault) || !strings.Contains(err.Error(), "for 1 customers")):
				t.Errorf("got %v, want an error with %q", err, tc.fault)
			}
		})
	}
}
