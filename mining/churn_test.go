package mining

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// plantChurn fills fact_sales with 300 regular buyers: customer c buys
// every 7·(1 + c mod 4) days for 20 + 10·(c mod 9) ±20 % from early 2023.
// Customers with c mod 9 = 0 (the smallest spenders) stop in January 2024;
// planted: 8, 44 and 80 (weekly buyers of the highest amount) and 19 (a
// four-weekly small buyer) stop on 2024-06-30. Everyone else buys until
// 2024-12-31.
func plantChurn(t *testing.T) *engine.Warehouse {
	t.Helper()
	w := handWarehouse(t, nil)
	if _, err := w.DB.Exec(`INSERT INTO fact_sales (order_id, line_no, order_ts, customer_id, amount, cost_amount, is_return, etl_run_id)
        WITH c AS (
            SELECT c, 7 * (1 + c % 4) AS gap, 20 + (c % 9) * 10 AS amount, DATE '2023-01-01' + CAST(c % 20 AS INTEGER) AS start,
                   CASE WHEN c IN (8, 44, 80, 19) THEN DATE '2024-06-30' WHEN c % 9 = 0 THEN DATE '2024-01-31' ELSE DATE '2024-12-31' END AS stop
            FROM range(1, 301) t(c))
        SELECT 'o' || c || '-' || i, 1, CAST(start + CAST(i * gap AS INTEGER) AS TIMESTAMP), c,
               round(amount * (0.8 + 0.4 * (hash(c * 1000 + i) % 1000) / 1000.0), 2), 0, false, 1
        FROM c, range(0, 120) n(i) WHERE start + CAST(i * gap AS INTEGER) <= stop`); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestChurnWarningFindsPlantedCustomers(t *testing.T) {
	ctx := context.Background()
	w := plantChurn(t)
	clv, err := CLV(ctx, w, CLVOptions{AsOf: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clv model %d: %+v %+v status %s", clv.ModelID, clv.Purchases.Model, clv.Spend.Model, clv.Status)
	res, err := Churn(ctx, w, ChurnOptions{AsOf: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, c := range res.Warnings {
		ids = append(ids, int(c.CustomerID))
		t.Logf("%+v", c)
	}
	sort.Ints(ids)
	if len(ids) != 3 || ids[0] != 8 || ids[1] != 44 || ids[2] != 80 {
		t.Fatalf("warnings for %v, want [8 44 80]", ids)
	}
	for i, c := range res.Warnings {
		if c.CLVDecile > 3 || c.PAliveNow >= c.PAliveThen || c.ValueAtRisk <= 0 || (i > 0 && c.ValueAtRisk > res.Warnings[i-1].ValueAtRisk) {
			t.Errorf("warning %d: %+v", i, c)
		}
	}
	// The ckm_churn table function gives the same list.
	rows, err := w.DB.Query(`SELECT customer_id, value_at_risk FROM ckm_churn(as_of := DATE '2024-12-31')`)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for rows.Next() {
		var id int64
		var v float64
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		if n >= len(res.Warnings) || res.Warnings[n].CustomerID != id || res.Warnings[n].ValueAtRisk != v {
			t.Errorf("ckm_churn row %d: customer %d value at risk %v", n, id, v)
		}
		n++
	}
	rows.Close()
	if n != len(res.Warnings) {
		t.Errorf("ckm_churn returned %d rows, want %d", n, len(res.Warnings))
	}
	if res.CLVModel != clv.ModelID || res.Watched != 90 {
		t.Errorf("clv model %d watched %d, want %d and 90", res.CLVModel, res.Watched, clv.ModelID)
	}
}

func TestChurnNeedsCLVModel(t *testing.T) {
	w := handWarehouse(t, []sale{{1, "2024-01-01", 10, 1}})
	if _, err := Churn(context.Background(), w, ChurnOptions{}); err == nil {
		t.Error("churn without a clv model succeeded")
	}
}
