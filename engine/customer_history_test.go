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
	// Customer 3 was merged into 1 (merge 1), customer 4 into 1 by a merge
	// since undone: a merged-away customer's history ends at the merge.
	const merges = `INSERT INTO customer_merge (merge_id, kind, run_id, survivor, other, merged_at, undone_run) VALUES
		(1, 'steward_merge', 1, 1, 3, TIMESTAMP '2024-10-01', NULL), (2, 'load_merge', 1, 1, 4, TIMESTAMP '2024-10-01', 2)`
	for _, tc := range []struct {
		name, versions, fault string
	}{
		{"merged away, closed", good + `, (30, 3, TIMESTAMP '1900-01-01', TIMESTAMP '2024-10-01', false)`, ""},
		{"merged away, still current", good + `, (30, 3, TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true)`, "customer 3, version 30 [1900-01-01 00:00:00, 9999-12-31 00:00:00) was merged into another customer but is still current"},
		{"merge undone, closed", good + `, (40, 4, TIMESTAMP '1900-01-01', TIMESTAMP '2024-10-01', false)`, "customer 4, version 40 [1900-01-01 00:00:00, 2024-10-01 00:00:00) is the last version but not current"},
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
			if _, err := w.DB.ExecContext(ctx, merges); err != nil {
				t.Fatal(err)
			}
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
