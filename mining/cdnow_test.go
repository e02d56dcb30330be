package mining

import (
	"context"
	"database/sql"
	"math"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

var (
	cdnowCalibrationEnd = time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	cdnowHoldoutEnd     = time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)
)

// cdnowSample opens an in-memory warehouse with the CDNOW sample in table
// cdnow and its calibration summary in temp table cal on the returned conn.
func cdnowSample(t *testing.T) (*engine.Warehouse, *sql.Conn) {
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
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	src := Source{Table: "cdnow", Time: "order_date"}.withDefaults()
	n, err := createSummary(ctx, conn, "cal", src, time.Time{}, cdnowCalibrationEnd, cdnowHoldoutEnd)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2357 {
		t.Fatalf("calibration summary has %d customers, want 2357", n)
	}
	return w, conn
}

func TestCDNOWSampleLoad(t *testing.T) {
	w, _ := cdnowSample(t)
	var lines, customers int
	if err := w.DB.QueryRow(`SELECT count(*), count(DISTINCT customer_id) FROM cdnow`).Scan(&lines, &customers); err != nil {
		t.Fatal(err)
	}
	if lines != 6919 || customers != 2357 {
		t.Errorf("cdnow sample: %d lines of %d customers, want 6919 of 2357", lines, customers)
	}
}

// The summary built with SQL from the transactions agrees with the one
// shipped with lifetimes for every customer.
func TestCDNOWSummaryMatchesPublished(t *testing.T) {
	_, conn := cdnowSample(t)
	var n, mismatched int
	var maxDiff float64
	err := conn.QueryRowContext(context.Background(), `
        SELECT count(*),
               count(*) FILTER (WHERE c.frequency <> p.frequency OR abs(c.recency - p.recency) > 0.006 OR abs(c.age - p.T) > 0.006),
               max(greatest(abs(c.recency - p.recency), abs(c.age - p.T)))
        FROM cal c JOIN read_csv('testdata/cdnow_customers_summary.csv', header = true) p ON p.ID = c.customer_id`).Scan(&n, &mismatched, &maxDiff)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2357 || mismatched != 0 {
		t.Errorf("joined %d customers, %d differ from the published summary (max difference %.4f weeks)", n, mismatched, maxDiff)
	}
}

func TestBGNBDOnCDNOWSample(t *testing.T) {
	_, conn := cdnowSample(t)
	ctx := context.Background()
	cal, err := readCalibration(ctx, conn, "cal")
	if err != nil {
		t.Fatal(err)
	}
	fit, err := FitBGNBD(ctx, cal)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fit: %+v", fit)
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"r", fit.Model.R, 0.243, 0.001},
		{"alpha", fit.Model.Alpha, 4.414, 0.001},
		{"a", fit.Model.A, 0.793, 0.001},
		{"b", fit.Model.B, 2.426, 0.001},
		{"log-likelihood", fit.LogLikelihood, -9582.4, 0.1},
		// The independent reproduction quoted in the data README.
		{"r (reproduction)", fit.Model.R, 0.2425945, 2e-5},
		{"alpha (reproduction)", fit.Model.Alpha, 4.4136019, 2e-4},
		{"a (reproduction)", fit.Model.A, 0.7929199, 2e-5},
		{"b (reproduction)", fit.Model.B, 2.4258881, 2e-4},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.7f, want %.7f ± %g", c.name, c.got, c.want, c.tol)
		}
	}
	if !fit.Converged || fit.Status != StatusConverged {
		t.Errorf("fit status %q (gradient %g), want converged", fit.Status, fit.GradientNorm)
	}
	if fit.Customers != 2357 {
		t.Errorf("fit saw %v customers, want 2357", fit.Customers)
	}
}

func TestBGNBDConditionalExpectationPublished(t *testing.T) {
	m := BGNBD{R: 0.2425945, Alpha: 4.4136019, A: 0.7929199, B: 2.4258881}
	if got := m.ExpectedPurchases(2, 30.43, 38.86, 39); math.Abs(got-1.226) > 0.0005 {
		t.Errorf("E[Y(39) | x=2, tx=30.43, T=38.86] = %.5f, want 1.226", got)
	}
}

func TestGammaGammaOnCDNOWSample(t *testing.T) {
	_, conn := cdnowSample(t)
	ctx := context.Background()
	s, err := readSpend(ctx, conn, "cal")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Frequency) != 946 {
		t.Fatalf("%d repeat buyers, want 946", len(s.Frequency))
	}
	fit, err := FitGammaGamma(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fit: %+v", fit)
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"p", fit.Model.P, 6.25, 0.01},
		{"q", fit.Model.Q, 3.74, 0.01},
		{"gamma", fit.Model.Gamma, 15.44, 0.01},
		{"log-likelihood", fit.LogLikelihood, -4055.9, 0.1},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.5f, want %.5f ± %g", c.name, c.got, c.want, c.tol)
		}
	}
	if !fit.Converged {
		t.Errorf("fit status %q, want converged", fit.Status)
	}
}
