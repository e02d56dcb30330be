package mining

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"

	"github.com/duckdb/duckdb-go/v2"
)

// weeksPerYear converts an annual discount rate to the week time unit.
const weeksPerYear = 365.25 / 7

// ValueModel combines a BG/NBD purchase model and a Gamma-Gamma spend model
// into discounted customer lifetime value.
type ValueModel struct {
	Purchases BGNBD
	Spend     GammaGamma
	// HorizonWeeks is how far ahead value is counted.
	HorizonWeeks float64
	// PeriodWeeks is the length of the discounting periods (a month by default).
	PeriodWeeks float64
	// AnnualDiscountRate discounts each period's value to the present.
	AnnualDiscountRate float64
	// Margin is the share of spend that is profit (1 counts revenue).
	Margin float64
}

// CLV returns the discounted expected value over the horizon of a customer
// with history (x, tx, T) and average repeat spend mean: the sum over
// periods of the expected purchases in the period times the expected spend
// times the margin, discounted to the present at the end of each period.
func (v ValueModel) CLV(x, tx, T, mean float64) float64 {
	return v.Spend.ExpectedSpend(x, mean) * v.Margin * v.Purchases.ProbabilityAlive(x, tx, T) * v.DiscountedIfAlive(x, T)
}

// DiscountedIfAlive returns the discounted expected purchases over the
// horizon of a customer with x repeat purchases observed for T who is still
// active at T: Σ over periods k of (E(t_k) − E(t_(k−1))) / (1 + rate)^(t_k
// in years), with E = BGNBD.ExpectedIfAlive and t_k the period ends (the
// last one cut at the horizon). Multiplied by P(alive) it is the discounted
// expected purchases of the customer; it depends on (x, T) only, which makes
// scoring cheap.
func (v ValueModel) DiscountedIfAlive(x, T float64) float64 {
	period := v.PeriodWeeks
	if !(period > 0) {
		period = v.HorizonWeeks
	}
	var sum, prev float64
	for t := period; ; t += period {
		end := math.Min(t, v.HorizonWeeks)
		e := v.Purchases.ExpectedIfAlive(x, T, end)
		sum += (e - prev) / math.Pow(1+v.AnnualDiscountRate, end/weeksPerYear)
		prev = e
		if end >= v.HorizonWeeks {
			break
		}
	}
	return sum
}

// doubleFunc is a scalar SQL function of DOUBLE arguments returning DOUBLE.
type doubleFunc struct {
	args int
	fn   func(a []float64) float64
}

func (f doubleFunc) Config() duckdb.ScalarFuncConfig {
	t, _ := duckdb.NewTypeInfo(duckdb.TYPE_DOUBLE)
	in := make([]duckdb.TypeInfo, f.args)
	for i := range in {
		in[i] = t
	}
	return duckdb.ScalarFuncConfig{InputTypeInfos: in, ResultTypeInfo: t}
}

func (f doubleFunc) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		a := make([]float64, len(values))
		for i, v := range values {
			x, ok := v.(float64)
			if !ok {
				return nil, fmt.Errorf("argument %d: %T is not a DOUBLE", i+1, v)
			}
			a[i] = x
		}
		r := f.fn(a)
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return nil, nil
		}
		return r, nil
	}}
}

// scalarFunctions are the model functions SQL can call; they make scoring a
// bulk INSERT … SELECT that DuckDB runs in parallel.
var scalarFunctions = map[string]doubleFunc{
	// ckm_bgnbd_p_alive(r, alpha, a, b, x, tx, T)
	"ckm_bgnbd_p_alive": {7, func(a []float64) float64 {
		return BGNBD{a[0], a[1], a[2], a[3]}.ProbabilityAlive(a[4], a[5], a[6])
	}},
	// ckm_bgnbd_expected(r, alpha, a, b, x, tx, T, t)
	"ckm_bgnbd_expected": {8, func(a []float64) float64 {
		return BGNBD{a[0], a[1], a[2], a[3]}.ExpectedPurchases(a[4], a[5], a[6], a[7])
	}},
	// ckm_gg_spend(p, q, gamma, x, mean)
	"ckm_gg_spend": {5, func(a []float64) float64 {
		return GammaGamma{a[0], a[1], a[2]}.ExpectedSpend(a[3], a[4])
	}},
	// ckm_bgnbd_expected_if_alive(r, alpha, a, b, x, T, t)
	"ckm_bgnbd_expected_if_alive": {7, func(a []float64) float64 {
		return BGNBD{a[0], a[1], a[2], a[3]}.ExpectedIfAlive(a[4], a[5], a[6])
	}},
	// ckm_bgnbd_discounted_if_alive(r, alpha, a, b, x, T, horizon_weeks, period_weeks, annual_discount_rate)
	"ckm_bgnbd_discounted_if_alive": {9, func(a []float64) float64 {
		v := ValueModel{Purchases: BGNBD{a[0], a[1], a[2], a[3]}, HorizonWeeks: a[6], PeriodWeeks: a[7], AnnualDiscountRate: a[8]}
		return v.DiscountedIfAlive(a[4], a[5])
	}},
	// ckm_clv(r, alpha, a, b, p, q, gamma, x, tx, T, mean, horizon_weeks, period_weeks, annual_discount_rate, margin)
	"ckm_clv": {15, func(a []float64) float64 {
		v := ValueModel{Purchases: BGNBD{a[0], a[1], a[2], a[3]}, Spend: GammaGamma{a[4], a[5], a[6]},
			HorizonWeeks: a[11], PeriodWeeks: a[12], AnnualDiscountRate: a[13], Margin: a[14]}
		return v.CLV(a[7], a[8], a[9], a[10])
	}},
}

func registerScalars(conn *sql.Conn) error {
	for name, f := range scalarFunctions {
		if err := duckdb.RegisterScalarUDF(conn, name, f); err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
	}
	return nil
}

// Register registers ckm's mining functions on the database conn belongs to:
// the scalar model functions (ckm_bgnbd_p_alive, ckm_bgnbd_expected,
// ckm_gg_spend, ckm_clv). The table macros of the operators that run as SQL
// (see macros.go) are persistent objects the engine's migrations create.
// Call it once per database, e.g. through engine.Warehouse.Setup.
func Register(ctx context.Context, conn *sql.Conn) error {
	return registerScalars(conn)
}
