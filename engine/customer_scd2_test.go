package engine

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestApplyCustomerChanges applies dated changes to dim_customer: one dated
// inside the current version closes it, a back-dated one splits an older
// version, a new customer's first version covers all time, and the facts of
// the moved periods point at the versions holding their time.
func TestApplyCustomerChanges(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	seedHistories(t, w)
	for _, s := range []string{
		`CREATE TEMP TABLE changes AS SELECT * FROM (VALUES
			(1, TIMESTAMP '2024-04-01', 1, 'platinum', NULL),
			(2, TIMESTAMP '2024-08-01', 1, 'gold', NULL),
			(3, TIMESTAMP '2024-10-01', 1, 'none', 'C')) t(customer_id, eff, rnk, member_level, name)`,
	} {
		if _, err := w.DB.ExecContext(ctx, s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = ApplyCustomerChanges(ctx, tx, CustomerChanges{
		Changes: "changes",
		Values:  seedChangeValues(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got := historyLines(t, w)
	want := []string{
		"1 A gold [1900-01-01, 2024-04-01) false known 2024-01-01",
		"1 A platinum [2024-04-01, 2024-06-01) false known 2024-04-01",
		"1 A silver [2024-06-01, 9999-12-31) true known 2024-06-01",
		"2 B silver [1900-01-01, 2024-08-01) false known 2024-01-01",
		"2 B gold [2024-08-01, 9999-12-31) true known 2024-08-01",
		"3 C none [1900-01-01, 9999-12-31) true known 2024-10-01",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = queryLines(t, w, `SELECT s.order_id || ' ' || d.member_level FROM fact_sales s JOIN dim_customer d USING (customer_key) ORDER BY s.order_id`)
	want = []string{"s1 gold", "s2 platinum", "s3 silver", "s4 gold"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sales point at:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := CheckCustomerHistory(ctx, w.DB); err != nil {
		t.Error(err)
	}
}

// seedHistories writes the histories the customer-change tests start
// from: customer 1 gold then silver from 2024-06-01, customer 2 silver, and
// four sales lines pointing at the versions of their time.
func seedHistories(t *testing.T, w *Warehouse) {
	t.Helper()
	for _, s := range []string{
		`INSERT INTO dim_customer (customer_key, customer_id, name, member_level, customer_type, valid_from, valid_to, is_current, effective_from, etl_run_id) VALUES
			(10, 1, 'A', 'gold', 'current', TIMESTAMP '1900-01-01', TIMESTAMP '2024-06-01', false, TIMESTAMP '2024-01-01', 1),
			(11, 1, 'A', 'silver', 'current', TIMESTAMP '2024-06-01', TIMESTAMP '9999-12-31', true, TIMESTAMP '2024-06-01', 1),
			(12, 2, 'B', 'silver', 'current', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true, TIMESTAMP '2024-01-01', 1)`,
		`INSERT INTO fact_sales (order_id, order_ts, customer_id, customer_key, amount) VALUES
			('s1', TIMESTAMP '2024-03-01', 1, 10, 1), ('s2', TIMESTAMP '2024-05-01', 1, 10, 1), ('s3', TIMESTAMP '2024-07-01', 1, 11, 1),
			('s4', TIMESTAMP '2024-09-01', 2, 12, 1)`,
	} {
		if _, err := w.DB.Exec(s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
}

// seedChangeValues are the values the customer-change tests give a new
// version: the change's level and name over the base version's.
func seedChangeValues() map[string]string {
	return map[string]string{
		"member_level":  "coalesce(n.member_level, b.member_level)",
		"name":          "coalesce(n.name, b.name)",
		"customer_type": "coalesce(b.customer_type, 'potential')",
		"etl_run_id":    "2",
	}
}

// historyLines are the customers' versions, one line each: id, name,
// level, [valid_from, valid_to), current, and when the version was known.
func historyLines(t *testing.T, w *Warehouse) []string {
	return queryLines(t, w, `SELECT customer_id || ' ' || name || ' ' || member_level || ' [' || strftime(valid_from, '%Y-%m-%d') || ', ' ||
		strftime(valid_to, '%Y-%m-%d') || ') ' || is_current || ' known ' || strftime(coalesce(effective_from, valid_from), '%Y-%m-%d')
		FROM dim_customer WHERE customer_id > 0 ORDER BY customer_id, valid_from`)
}

func queryLines(t *testing.T, w *Warehouse, q string) []string {
	t.Helper()
	rows, err := w.DB.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestOneCustomerHistoryWriter checks that no package but engine writes
// dim_customer versions: the loader and lifecycle typing call
// ApplyCustomerChanges.
func TestOneCustomerHistoryWriter(t *testing.T) {
	writes := regexp.MustCompile(`(?i)(INSERT INTO|UPDATE) dim_customer\b`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == filepath.Join("..", "engine") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// ckm bench export fills a new, synthetic warehouse with SQL: one
		// current version per customer, no history to keep.
		if filepath.ToSlash(path) == "../cmd/ckm/bench_export.go" {
			return nil
		}
		if n := len(writes.FindAll(src, -1)); n > 0 {
			t.Errorf("%s writes dim_customer itself (%d statements); call engine.ApplyCustomerChanges", path, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
