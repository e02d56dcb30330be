package mining

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

func cdnowWarehouse(t *testing.T) *engine.Warehouse {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if err := LoadCDNOW(ctx, w.DB, "testdata/CDNOW_sample.txt", "cdnow"); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestCLVOperatorOnCDNOWSample(t *testing.T) {
	ctx := context.Background()
	w := cdnowWarehouse(t)
	res, err := CLV(ctx, w, CLVOptions{
		Source: Source{Table: "cdnow", Time: "order_date"}, AsOf: cdnowCalibrationEnd, HoldoutEnd: cdnowHoldoutEnd,
		HorizonWeeks: 39, PeriodWeeks: 39,
	})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Purchases.Model.R-0.243) > 0.001 || math.Abs(res.Spend.Model.P-6.25) > 0.01 {
		t.Errorf("operator fit %+v %+v", res.Purchases.Model, res.Spend.Model)
	}
	if res.Status != StatusConverged || res.Customers != 2357 {
		t.Errorf("status %s, %d customers", res.Status, res.Customers)
	}
	// Sample customer 1 is the published example: x = 2, tx = 30.43, T = 38.86.
	got := map[string]float64{}
	rows, err := w.DB.QueryContext(ctx, `SELECT metric, value FROM kb_customer_score WHERE model_id = ? AND customer_id = 1`, res.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m string
		var v float64
		if err := rows.Scan(&m, &v); err != nil {
			t.Fatal(err)
		}
		got[m] = v
	}
	rows.Close()
	if math.Abs(got["expected_purchases"]-1.226) > 0.001 {
		t.Errorf("customer 1 expected purchases in 39 weeks = %v, want 1.226", got["expected_purchases"])
	}
	// Undiscounted over a single period, CLV is expected purchases × expected spend.
	if want := got["expected_purchases"] * got["expected_spend"]; math.Abs(got["clv"]-want) > 1e-9 {
		t.Errorf("customer 1 clv %v, want %v", got["clv"], want)
	}
	// Gamma-Gamma expected spend for customer 1 by hand: p(γ + x m)/(p x + q − 1).
	var mean float64
	if err := w.DB.QueryRow(`SELECT (sum(amount) - arg_min(amount, order_date)) / 2 FROM (
        SELECT order_date, sum(amount) AS amount FROM cdnow WHERE customer_id = 1 AND order_date <= DATE '1997-09-30' GROUP BY 1)`).Scan(&mean); err != nil {
		t.Fatal(err)
	}
	gg := res.Spend.Model
	if want := gg.P * (gg.Gamma + 2*mean) / (gg.P*2 + gg.Q - 1); math.Abs(got["expected_spend"]-want) > 1e-9 {
		t.Errorf("customer 1 expected spend %v, want %v", got["expected_spend"], want)
	}
	var scores, customers int
	if err := w.DB.QueryRow(`SELECT count(*), count(DISTINCT customer_id) FROM kb_customer_score WHERE model_id = ?`, res.ModelID).Scan(&scores, &customers); err != nil {
		t.Fatal(err)
	}
	if customers != 2357 || scores != 2357*9 {
		t.Errorf("%d score rows for %d customers, want %d for 2357", scores, customers, 2357*9)
	}
	var kind, status, params string
	var ll float64
	if err := w.DB.QueryRow(`SELECT kind, status, params::VARCHAR, metrics->>'$.bgnbd.log_likelihood' FROM kb_model WHERE model_id = ?`, res.ModelID).Scan(&kind, &status, &params, &ll); err != nil {
		t.Fatal(err)
	}
	if kind != "clv" || status != StatusConverged || math.Abs(ll+9582.4) > 0.1 || !strings.Contains(params, `"as_of":"1997-09-30"`) {
		t.Errorf("kb_model row: %s %s ll=%v params %s", kind, status, ll, params)
	}

	// Holdout: the actual purchases are counted independently here, the
	// predicted ones summed in Go.
	h := res.Holdout
	if h == nil {
		t.Fatal("no holdout report")
	}
	var actual float64
	if err := w.DB.QueryRow(`SELECT count(*) FROM (SELECT DISTINCT customer_id, order_date FROM cdnow
        WHERE order_date > DATE '1997-09-30' AND order_date <= DATE '1998-06-30')`).Scan(&actual); err != nil {
		t.Fatal(err)
	}
	_, conn := cdnowSample(t)
	cal, err := readCalibration(ctx, conn, "cal")
	if err != nil {
		t.Fatal(err)
	}
	var predicted float64
	for i := range cal.Frequency {
		predicted += cal.Weight[i] * res.Purchases.Model.ExpectedPurchases(cal.Frequency[i], cal.Recency[i], cal.Age[i], h.Weeks)
	}
	if h.Actual != actual || math.Abs(h.Predicted-predicted) > 1e-6 || h.Customers != 2357 {
		t.Errorf("holdout actual %v predicted %v customers %d, want %v, %v, 2357", h.Actual, h.Predicted, h.Customers, actual, predicted)
	}
	if math.Abs(h.Weeks-39) > 0.01 || len(h.Buckets) != 8 || h.Buckets[0].Frequency != "0" || h.Buckets[7].Frequency != "7+" {
		t.Errorf("holdout weeks %v buckets %+v", h.Weeks, h.Buckets)
	}
	var n int64
	for _, b := range h.Buckets {
		n += b.Customers
	}
	if n != 2357 || !(h.MAE > 0) {
		t.Errorf("buckets hold %d customers, MAE %v", n, h.MAE)
	}
	t.Logf("holdout: predicted %.1f actual %.0f MAE %.3f", h.Predicted, h.Actual, h.MAE)
}

// Discounted monthly CLV scored in SQL equals ValueModel.CLV computed in Go
// for every customer.
func TestCLVScoresMatchGo(t *testing.T) {
	ctx := context.Background()
	w := cdnowWarehouse(t)
	res, err := CLV(ctx, w, CLVOptions{Source: Source{Table: "cdnow", Time: "order_date"}, AsOf: cdnowCalibrationEnd, Margin: 0.3, AnnualDiscountRate: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := w.DB.Query(`SELECT frequency, recency_weeks, age_weeks, coalesce(monetary, 0), p_alive, expected_purchases, clv FROM ckm_clv_scores(model_id := ?)`, res.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var x, tx, T, m, p, e, clv float64
		if err := rows.Scan(&x, &tx, &T, &m, &p, &e, &clv); err != nil {
			t.Fatal(err)
		}
		n++
		bg := res.Value.Purchases
		if want := res.Value.CLV(x, tx, T, m); math.Abs(clv-want) > 1e-9*math.Max(1, want) {
			t.Fatalf("x=%v tx=%v T=%v m=%v: clv %v, want %v", x, tx, T, m, clv, want)
		}
		if math.Abs(p-bg.ProbabilityAlive(x, tx, T)) > 1e-12 || math.Abs(e-bg.ExpectedPurchases(x, tx, T, 52)) > 1e-9 {
			t.Fatalf("x=%v tx=%v T=%v: p_alive %v expected %v", x, tx, T, p, e)
		}
	}
	if n != 2357 || res.Value.Margin != 0.3 || res.Value.AnnualDiscountRate != 0.1 {
		t.Errorf("%d customers scored, value model %+v", n, res.Value)
	}
}

func TestCLVRejectsBadParameters(t *testing.T) {
	ctx := context.Background()
	w := cdnowWarehouse(t)
	src := Source{Table: "cdnow", Time: "order_date"}
	for _, c := range []struct {
		name string
		o    CLVOptions
		want string
	}{
		{"holdout without as-of", CLVOptions{Source: src, HoldoutEnd: cdnowHoldoutEnd}, "needs an as-of date"},
		{"cohort after the data", CLVOptions{Source: src, AsOf: cdnowCalibrationEnd, CohortStart: cdnowCalibrationEnd}, "no purchases from the cohort start"},
		{"unknown column", CLVOptions{Source: Source{Table: "cdnow", Time: "order_day"}, AsOf: cdnowCalibrationEnd}, `unknown time column "order_day"`},
		{"unknown table", CLVOptions{Source: Source{Table: "no_such_table"}, AsOf: cdnowCalibrationEnd}, "no_such_table"},
		{"as-of before first purchase", CLVOptions{Source: src, AsOf: time.Date(1996, 12, 31, 0, 0, 0, 0, time.UTC)}, "first purchase in the source table cdnow is on 1997-01-01"},
		{"empty", CLVOptions{AsOf: cdnowCalibrationEnd}, "it is empty"},
		{"holdout before as-of", CLVOptions{Source: src, AsOf: cdnowCalibrationEnd, HoldoutEnd: time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC)}, "holdout end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := CLV(ctx, w, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	var models, scores int
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM kb_model), (SELECT count(*) FROM kb_customer_score)`).Scan(&models, &scores); err != nil {
		t.Fatal(err)
	}
	if models != 0 || scores != 0 {
		t.Errorf("failed runs left %d models and %d scores", models, scores)
	}
	_, err := CLV(ctx, w, CLVOptions{AsOf: cdnowCalibrationEnd})
	if !errors.Is(err, ErrEmpty) {
		t.Errorf("empty fact_sales: %v, want ErrEmpty", err)
	}
}

func TestCLVFitSample(t *testing.T) {
	ctx := context.Background()
	w := cdnowWarehouse(t)
	res, err := CLV(ctx, w, CLVOptions{Source: Source{Table: "cdnow", Time: "order_date"}, AsOf: cdnowCalibrationEnd, FitSample: 1000, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Purchases.Customers != 1000 || res.Customers != 2357 {
		t.Errorf("fitted on %v customers, scored %d; want 1000 and 2357", res.Purchases.Customers, res.Customers)
	}
	// A 1000-customer sample lands near the full-data estimates.
	if math.Abs(res.Purchases.Model.R-0.243) > 0.05 || math.Abs(res.Purchases.Model.A-0.793) > 0.3 {
		t.Errorf("sample fit %+v", res.Purchases.Model)
	}
}
