package mining

import (
	"context"
	"math"
	"testing"
	"time"
)

// The SQL table functions return what the Go operators compute.
func TestMacrosMatchOperators(t *testing.T) {
	ctx := context.Background()
	w := handWarehouse(t, rfmSales)
	if err := Setup(ctx, w); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)

	var n int
	var seg string
	var r, f, m int
	if err := w.DB.QueryRow(`SELECT count(*) OVER (), segment, r_score, f_score, m_score FROM ckm_rfm(as_of := DATE '2024-12-31', window_days := 365) WHERE customer_id = 3`).Scan(&n, &seg, &r, &f, &m); err != nil {
		t.Fatal(err)
	}
	if n != 1 || seg != "can't lose" || r != 2 || f != 4 || m != 5 {
		t.Errorf("ckm_rfm customer 3: %s %d%d%d", seg, r, f, m)
	}
	// Positional and default arguments: all history up to the last purchase (2025-01-05).
	if err := w.DB.QueryRow(`SELECT count(*), max(as_of)::VARCHAR FROM ckm_rfm()`).Scan(&n, &seg); err != nil || n != 6 || seg != "2025-01-05" {
		t.Errorf("ckm_rfm(): %d customers as of %s (%v)", n, seg, err)
	}

	if _, err := w.DB.Exec(`INSERT INTO fact_interaction (interaction_id, contact_ts, customer_id) VALUES ('i1', TIMESTAMP '2024-05-03 09:00', 1), ('i2', TIMESTAMP '2024-05-04 09:00', 9)`); err != nil {
		t.Fatal(err)
	}
	pr, err := Profit(ctx, w, ProfitOptions{AsOf: asOf, ServiceCostPerInteraction: 5, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	if err := w.DB.QueryRow(`SELECT count(*), sum(profit) FROM ckm_profit(DATE '2024-12-31', contact_cost := 5)`).Scan(&n, &total); err != nil {
		t.Fatal(err)
	}
	if int64(n) != pr.Customers || math.Abs(total-pr.Profit) > 1e-9 {
		t.Errorf("ckm_profit: %d customers, %v profit; operator %d, %v", n, total, pr.Customers, pr.Profit)
	}

	if err := w.DB.QueryRow(`SELECT count(*) FROM ckm_anomaly(as_of := DATE '2024-12-31', period_days := 30)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	an, err := Anomaly(ctx, w, AnomalyOptions{AsOf: asOf, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(an.Flagged) {
		t.Errorf("ckm_anomaly flags %d, operator %d", n, len(an.Flagged))
	}

	var p float64
	if err := w.DB.QueryRow(`SELECT ckm_bgnbd_p_alive(0.2425945, 4.4136019, 0.7929199, 2.4258881, 2, 30.43, 38.86),
        ckm_bgnbd_expected(0.2425945, 4.4136019, 0.7929199, 2.4258881, 2, 30.43, 38.86, 39)`).Scan(&p, &total); err != nil {
		t.Fatal(err)
	}
	if want := (BGNBD{0.2425945, 4.4136019, 0.7929199, 2.4258881}).ProbabilityAlive(2, 30.43, 38.86); p != want || math.Abs(total-1.226) > 0.0005 {
		t.Errorf("scalar functions: p_alive %v (want %v), expected %v", p, want, total)
	}
}

func TestCLVScoresMacro(t *testing.T) {
	ctx := context.Background()
	w := cdnowWarehouse(t)
	res, err := CLV(ctx, w, CLVOptions{Source: Source{Table: "cdnow", Time: "order_date"}, AsOf: cdnowCalibrationEnd})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var top float64
	if err := w.DB.QueryRow(`SELECT count(*), max(clv) FROM ckm_clv_scores()`).Scan(&n, &top); err != nil {
		t.Fatal(err)
	}
	if n != 2357 || math.Abs(top-res.Top[0].CLV) > 1e-9 {
		t.Errorf("ckm_clv_scores: %d customers, top %v; operator top %v", n, top, res.Top[0].CLV)
	}
}
