package mining

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

func TestProfitHandComputed(t *testing.T) {
	ctx := context.Background()
	sales := []sale{{1, "2024-05-01", 1000, 600}, {2, "2024-05-02", 500, 300}, {2, "2024-05-20", -100, -60}, {3, "2024-06-01", 300, 100}}
	for c := int64(4); c <= 10; c++ {
		sales = append(sales, sale{c, "2024-06-15", 100, 80})
	}
	w := handWarehouse(t, sales)
	if _, err := w.DB.Exec(`INSERT INTO fact_interaction (interaction_id, contact_ts, customer_id) VALUES
        ('i1', TIMESTAMP '2024-05-03 09:00', 1), ('i2', TIMESTAMP '2024-05-04 09:00', 1),
        ('i3', TIMESTAMP '2024-06-01 09:00', 4), ('i4', TIMESTAMP '2024-06-02 09:00', 4), ('i5', TIMESTAMP '2024-06-03 09:00', 4), ('i6', TIMESTAMP '2024-06-04 09:00', 4),
        ('i7', TIMESTAMP '2024-06-05 09:00', 11), ('i8', TIMESTAMP '2025-01-05 09:00', 11)`); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)

	// Without service cost: profits 400, 160, 200 and 7 × 20; the top 20 %
	// (customers 1 and 3) earn 600 of 900.
	res, err := Profit(ctx, w, ProfitOptions{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if res.Customers != 10 || res.Profit != 900 || math.Abs(res.Top20Share-600.0/900) > 1e-12 || res.Returns != 100 || res.Cost != 1500 {
		t.Errorf("without service cost: %+v", res)
	}
	if len(res.Deciles) != 10 || res.Deciles[0].Profit != 400 || res.Deciles[1].Profit != 200 || math.Abs(res.Deciles[9].CumulativeShare-1) > 1e-12 {
		t.Errorf("deciles %+v", res.Deciles)
	}

	// With 5 per interaction: customer 1 pays 10, customer 4 pays 20, and
	// customer 11 (no purchases) costs 5; the 2025 contact is after as-of.
	res, err = Profit(ctx, w, ProfitOptions{AsOf: asOf, ServiceCostPerInteraction: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Customers != 11 || res.Profit != 865 || res.ServiceCost != 35 || math.Abs(res.Top20Share-750.0/865) > 1e-12 {
		t.Errorf("with service cost: %+v", res)
	}
	if res.Deciles[0].Customers != 2 || res.Deciles[0].Profit != 590 {
		t.Errorf("first decile %+v, want customers 1 and 3 with 590", res.Deciles[0])
	}
	got := map[int64]float64{}
	rows, err := w.DB.Query(`SELECT customer_id, value FROM kb_customer_score WHERE model_id = ? AND metric = 'profit'`, res.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var v float64
		rows.Scan(&id, &v)
		got[id] = v
	}
	rows.Close()
	for id, want := range map[int64]float64{1: 390, 2: 160, 3: 200, 4: 0, 5: 20, 11: -5} {
		if got[id] != want {
			t.Errorf("customer %d profit %v, want %v", id, got[id], want)
		}
	}
}

func TestProfitRejectsMissingCost(t *testing.T) {
	w := handWarehouse(t, []sale{{1, "2024-05-01", 10, 5}})
	_, err := Profit(context.Background(), w, ProfitOptions{Source: Source{Cost: "margin"}})
	if err == nil || !strings.Contains(err.Error(), `unknown cost column "margin"`) {
		t.Errorf("error %v", err)
	}
}
