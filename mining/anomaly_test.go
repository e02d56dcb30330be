package mining

import (
	"context"
	"testing"
	"time"
)

func TestAnomalyFindsPlantedCustomers(t *testing.T) {
	ctx := context.Background()
	w := handWarehouse(t, nil)
	// 200 customers buy once in each 30-day period for 13 periods, their own
	// amount ±10 %; planted: 17 spends ten times as much in the last period,
	// 42 stops buying in it. Customer 300 also spikes but has only two
	// periods of history, too few to judge.
	if _, err := w.DB.Exec(`INSERT INTO fact_sales (order_id, line_no, order_ts, customer_id, amount, cost_amount, is_return, etl_run_id)
        SELECT 'o' || c || '-' || k, 1, TIMESTAMP '2024-12-31 12:00' - to_days(CAST(k * 30 + 5 AS INTEGER)), c,
               round((50 + c % 7 * 20) * (0.9 + 0.2 * (hash(c * 100 + k) % 1000) / 1000.0) * CASE WHEN c = 17 AND k = 0 THEN 10 ELSE 1 END, 2),
               0, false, 1
        FROM range(1, 201) a(c), range(0, 13) b(k) WHERE NOT (c = 42 AND k = 0)
        UNION ALL SELECT 'n' || k, 1, TIMESTAMP '2024-12-31 12:00' - to_days(CAST(k * 30 + 5 AS INTEGER)), 300, CASE WHEN k = 0 THEN 1000 ELSE 100 END, 0, false, 1
        FROM range(0, 2) b(k)`); err != nil {
		t.Fatal(err)
	}
	res, err := Anomaly(ctx, w, AnomalyOptions{AsOf: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Examined != 200 {
		t.Errorf("examined %d customers, want 200", res.Examined)
	}
	if len(res.Flagged) != 2 || res.Flagged[0].CustomerID != 17 || res.Flagged[1].CustomerID != 42 {
		t.Fatalf("flagged %+v, want customers 17 and 42", res.Flagged)
	}
	spike, drop := res.Flagged[0], res.Flagged[1]
	if spike.RobustZ == nil || *spike.RobustZ < 20 || spike.Change <= 0 {
		t.Errorf("spike %+v", spike)
	}
	if drop.Current != 0 || drop.RobustZ == nil || *drop.RobustZ > -3.5 || drop.Change >= 0 {
		t.Errorf("drop %+v", drop)
	}
	t.Logf("%s / %s", spike.Reason, drop.Reason)
	var n int
	if err := w.DB.QueryRow(`SELECT count(DISTINCT customer_id) FROM kb_customer_score WHERE model_id = ?`, res.ModelID).Scan(&n); err != nil || n != 2 {
		t.Errorf("kb holds %d flagged customers (%v), want 2", n, err)
	}
}

// The robust z-score of a hand-made history: periods 1..5 hold 10, 12, 11,
// 13, 9 (median 11, MAD 1); period 0 holds 20, so z = 0.6745·9/1.
func TestAnomalyRobustZByHand(t *testing.T) {
	ctx := context.Background()
	amounts := []float64{20, 10, 12, 11, 13, 9}
	var sales []sale
	asOf := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	for k, a := range amounts {
		sales = append(sales, sale{1, asOf.AddDate(0, 0, -(30*k + 1)).Format(time.DateOnly), a, 0})
	}
	w := handWarehouse(t, sales)
	res, err := Anomaly(ctx, w, AnomalyOptions{AsOf: asOf, HistoryPeriods: 5, JumpFactor: 100, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Flagged) != 1 || res.Flagged[0].Median != 11 || res.Flagged[0].RobustZ == nil || *res.Flagged[0].RobustZ != 0.6745*9 {
		t.Fatalf("flagged %+v", res.Flagged)
	}
}
