package mining

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLifecycleSCD2(t *testing.T) {
	ctx := context.Background()
	w := handWarehouse(t, []sale{
		{1, "2024-12-01", 50, 20},
		{2, "2022-11-01", 80, 20},
		{4, "2023-01-01", 9000, 20},
		{5, "2024-11-15", 30, 20},
		{6, "2024-12-20", 30, 20},
	})
	if _, err := w.DB.Exec(`INSERT INTO dim_customer (customer_key, customer_id, name, region_code, customer_type, valid_from, valid_to, is_current, etl_run_id) VALUES
        (10, 1, 'A', '110000', 'potential', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true, 1),
        (11, 2, 'B', '110000', 'current', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true, 1),
        (12, 3, 'C', '310000', NULL, TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true, 1),
        (13, 4, 'D', '310000', 'distributor', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true, 1),
        (14, 5, 'E', '440000', 'churned', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true, 1),
        (15, 6, 'F', '440000', 'potential', TIMESTAMP '2023-01-01', TIMESTAMP '2024-01-01', false, 1),
        (16, 6, 'F', '440100', 'current', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true, 1)`); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	res, err := Lifecycle(ctx, w, LifecycleOptions{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if res.Customers != 6 || res.Changed != 4 {
		t.Errorf("%d customers, %d changed; want 6 and 4 (%+v)", res.Customers, res.Changed, res.Transitions)
	}
	want := map[int64]string{1: "current", 2: "churned", 3: "potential", 4: "distributor", 5: "current", 6: "current"}
	rows, err := w.DB.Query(`SELECT customer_id, customer_type, count(*) OVER (PARTITION BY customer_id), name, region_code, etl_run_id FROM dim_customer WHERE is_current AND customer_id > 0`)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var id, n, run int64
		var typ, name, region string
		if err := rows.Scan(&id, &typ, &n, &name, &region, &run); err != nil {
			t.Fatal(err)
		}
		seen++
		if typ != want[id] || n != 1 || run != 1 || name == "" {
			t.Errorf("customer %d: current type %q (%d current rows, run %d, name %q), want %q and one row", id, typ, n, run, name, want[id])
		}
	}
	rows.Close()
	if seen != 6 {
		t.Errorf("%d current customers, want 6", seen)
	}
	// Customer 1's history: the closed 'potential' version ends where the new one starts.
	var versions int
	var closedTo, newFrom time.Time
	var newKey int64
	if err := w.DB.QueryRow(`SELECT count(*), max(valid_to) FILTER (WHERE NOT is_current), max(valid_from) FILTER (WHERE is_current), max(customer_key) FILTER (WHERE is_current)
        FROM dim_customer WHERE customer_id = 1`).Scan(&versions, &closedTo, &newFrom, &newKey); err != nil {
		t.Fatal(err)
	}
	if versions != 2 || !closedTo.Equal(newFrom) || newKey <= 16 {
		t.Errorf("customer 1: %d versions, closed at %v, new from %v key %d", versions, closedTo, newFrom, newKey)
	}
	var keys, distinctKeys int
	if err := w.DB.QueryRow(`SELECT count(*), count(DISTINCT customer_key) FROM dim_customer`).Scan(&keys, &distinctKeys); err != nil || keys != distinctKeys {
		t.Errorf("customer keys not unique: %d rows, %d keys (%v)", keys, distinctKeys, err)
	}
	var label string
	if err := w.DB.QueryRow(`SELECT label FROM kb_customer_score WHERE model_id = ? AND customer_id = 2 AND metric = 'lifecycle'`, res.ModelID).Scan(&label); err != nil || label != "churned" {
		t.Errorf("kb lifecycle label of customer 2: %q %v", label, err)
	}

	// Running again changes nothing.
	again, err := Lifecycle(ctx, w, LifecycleOptions{AsOf: asOf})
	if err != nil || again.Changed != 0 {
		t.Errorf("second run changed %d (%v)", again.Changed, err)
	}

	// A clv model's low p_alive churns customer 6.
	if _, err := w.DB.Exec(`INSERT INTO kb_model (model_id, kind, name) VALUES (99, 'clv', 'hand');
        INSERT INTO kb_customer_score (model_id, customer_id, metric, value) VALUES (99, 6, 'p_alive', 0.1), (99, 1, 'p_alive', 0.9)`); err != nil {
		t.Fatal(err)
	}
	res, err = Lifecycle(ctx, w, LifecycleOptions{AsOf: asOf, CLVModel: 99, PAliveThreshold: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 1 || len(res.Transitions) != 1 || res.Transitions[0] != (Transition{"current", "churned", 1}) {
		t.Errorf("p_alive run: %+v", res)
	}
	if _, err := Lifecycle(ctx, w, LifecycleOptions{AsOf: asOf, CLVModel: 7}); err == nil {
		t.Error("unknown clv model accepted")
	}
}

// TestLifecycleEffectiveDate: new types take effect at the end of the as-of
// day, not at the clock; a version starting at that moment is retyped in
// place, one starting later is left alone, and sales after the as-of move
// to the new version.
func TestLifecycleEffectiveDate(t *testing.T) {
	ctx := context.Background()
	w := handWarehouse(t, []sale{
		{1, "2024-12-01", 50, 20}, // o0
		{1, "2024-12-20", 50, 20}, // o1: after the as-of
		{2, "2024-12-01", 50, 20}, // o2
		{3, "2024-12-10", 50, 20}, // o3
	})
	if _, err := w.DB.Exec(`INSERT INTO dim_customer (customer_key, customer_id, name, customer_type, valid_from, valid_to, is_current, etl_run_id) VALUES
        (10, 1, 'A', 'potential', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true, 1),
        (11, 2, 'B', 'potential', TIMESTAMP '2024-01-01', TIMESTAMP '2024-12-20', false, 1),
        (12, 2, 'B', 'potential', TIMESTAMP '2024-12-20', TIMESTAMP '9999-12-31', true, 1),
        (13, 3, 'C', 'potential', TIMESTAMP '1900-01-01', TIMESTAMP '2024-12-15 23:59:59', false, 1),
        (14, 3, 'C', 'potential', TIMESTAMP '2024-12-15 23:59:59', TIMESTAMP '9999-12-31', true, 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Lifecycle(ctx, w, LifecycleOptions{AsOf: time.Date(2024, 12, 15, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	rows, err := w.DB.Query(`SELECT customer_id, customer_key, customer_type, strftime(valid_from, '%Y-%m-%d %H:%M:%S'),
        strftime(valid_to, '%Y-%m-%d'), is_current FROM dim_customer WHERE customer_id > 0 ORDER BY customer_id, valid_from`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id, key int64
		var typ, from, to string
		var cur bool
		if err := rows.Scan(&id, &key, &typ, &from, &to, &cur); err != nil {
			t.Fatal(err)
		}
		if key > 14 {
			key = 99 // a new key
		}
		got = append(got, fmt.Sprintf("%d %d %s [%s, %s) %v", id, key, typ, from, to, cur))
	}
	rows.Close()
	want := []string{
		"1 10 potential [2024-01-01 00:00:00, 2024-12-15) false",
		"1 99 current [2024-12-15 23:59:59, 9999-12-31) true",
		"2 11 potential [2024-01-01 00:00:00, 2024-12-20) false",
		"2 12 potential [2024-12-20 00:00:00, 9999-12-31) true",
		"3 13 potential [1900-01-01 00:00:00, 2024-12-15) false",
		"3 14 current [2024-12-15 23:59:59, 9999-12-31) true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var known int64
	if err := w.DB.QueryRow(`SELECT count(*) FROM dim_customer WHERE customer_key > 14 AND effective_from = valid_from`).Scan(&known); err != nil || known != 1 {
		t.Errorf("%d new versions with effective_from = valid_from (%v), want 1", known, err)
	}
	var before, after int64
	if err := w.DB.QueryRow(`SELECT max(customer_key) FILTER (WHERE order_id = 'o0'), max(customer_key) FILTER (WHERE order_id = 'o1') FROM fact_sales`).Scan(&before, &after); err != nil {
		t.Fatal(err)
	}
	if before != 10 || after <= 14 {
		t.Errorf("customer 1's sales point at versions %d (2024-12-01) and %d (2024-12-20); want 10 and the new one", before, after)
	}
}

// TestLifecycleRetypesFirstVersionKnownLater: a customer whose only version
// was loaded with a later as-of (effective_from after the lifecycle's
// as-of) is still retyped from the as-of day on: typing is a judgement of
// the version in force, not a back-dated change that takes only the part of
// the history before the load.
func TestLifecycleRetypesFirstVersionKnownLater(t *testing.T) {
	ctx := context.Background()
	w := handWarehouse(t, []sale{{1, "2023-01-01", 50, 20}, {2, "2024-12-30", 50, 20}})
	if _, err := w.DB.Exec(`INSERT INTO dim_customer (customer_key, customer_id, name, customer_type, valid_from, valid_to, is_current, effective_from, etl_run_id) VALUES
        (10, 1, 'A', 'current', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true, TIMESTAMP '2024-12-31', 1),
        (11, 2, 'B', 'current', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true, TIMESTAMP '2024-12-31', 1)`); err != nil {
		t.Fatal(err)
	}
	res, err := Lifecycle(ctx, w, LifecycleOptions{AsOf: time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 1 {
		t.Fatalf("%d changed, want customer 1 churned: %+v", res.Changed, res.Transitions)
	}
	var typ, from string
	if err := w.DB.QueryRow(`SELECT customer_type, strftime(valid_from, '%Y-%m-%d %H:%M:%S') FROM dim_customer WHERE customer_id = 1 AND is_current`).Scan(&typ, &from); err != nil {
		t.Fatal(err)
	}
	if typ != "churned" || from != "2024-12-30 23:59:59" {
		t.Errorf("customer 1's current version: %s from %s, want churned from the end of the as-of day", typ, from)
	}
}
