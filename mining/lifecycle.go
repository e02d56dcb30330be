package mining

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// Lifecycle types of dim_customer.customer_type.
const (
	TypeCurrent     = "current"
	TypePotential   = "potential"
	TypeChurned     = "churned"
	TypeDistributor = "distributor"
)

// LifecycleOptions configure the lifecycle operator.
type LifecycleOptions struct {
	Source Source
	// AsOf is the day the types are judged at (zero: the last purchase day).
	AsOf time.Time
	// ChurnDays: a customer without a purchase in the ChurnDays up to AsOf
	// is churned (365).
	ChurnDays int
	// CLVModel, when not 0, also marks churned the customers whose p_alive
	// in that clv model is below PAliveThreshold (0.5 when zero).
	CLVModel        int64
	PAliveThreshold float64
	// DistributorMinAmount, when positive, types as distributor every
	// customer whose net purchases in the 365 days up to AsOf reach it.
	// Customers typed distributor already (from master data) stay so.
	DistributorMinAmount float64
	Name                 string
	// DryRun types the customers and counts the changes without writing
	// anything: no dim_customer version, no model, no scores.
	DryRun bool
}

// LifecycleResult counts the types and the changes written.
type LifecycleResult struct {
	ModelID     int64            `json:"model_id"`
	AsOf        string           `json:"as_of"`
	Customers   int64            `json:"customers"`
	Changed     int64            `json:"changed"`
	Types       map[string]int64 `json:"types"`
	Transitions []Transition     `json:"transitions"`
	// DryRun says nothing was written (ModelID is 0).
	DryRun bool `json:"dry_run"`
}

// Transition counts customers whose type changed from one value to another.
type Transition struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int64  `json:"count"`
}

// lifecycleSQL types every current dim_customer version (special members
// excluded). Rules, first match wins: distributor (typed so already, or net
// purchases in the last 365 days ≥ the threshold), potential (no purchase
// up to asOf), churned (silent for more than churnDays, or p_alive below
// the threshold in the given clv model), current.
func lifecycleSQL(src Source, asOf string, o LifecycleOptions) string {
	palive := "NULL::DOUBLE"
	join := ""
	if o.CLVModel != 0 {
		palive = "pa.value"
		join = fmt.Sprintf("LEFT JOIN (SELECT customer_id, value FROM kb_customer_score WHERE model_id = %d AND metric = 'p_alive') pa ON pa.customer_id = c.customer_id", o.CLVModel)
	}
	distributor := "false"
	if o.DistributorMinAmount > 0 {
		distributor = fmt.Sprintf("coalesce(s.year_amount, 0) >= %v", o.DistributorMinAmount)
	}
	return fmt.Sprintf(`WITH purchases AS (%[1]s),
stats AS (
    SELECT customer_id, max(day) FILTER (WHERE amount >= 0) AS last_day,
           sum(amount) FILTER (WHERE day > %[2]s - 365) AS year_amount
    FROM purchases WHERE day <= %[2]s GROUP BY customer_id
)
SELECT c.customer_key, c.customer_id, c.customer_type AS old_type,
       datediff('day', s.last_day, %[2]s) AS silent_days, %[3]s AS p_alive,
       CASE WHEN c.customer_type = 'distributor' OR %[4]s THEN 'distributor'
            WHEN s.last_day IS NULL THEN 'potential'
            WHEN datediff('day', s.last_day, %[2]s) > %[5]d OR %[3]s < %[6]v THEN 'churned'
            ELSE 'current' END AS new_type
FROM dim_customer c LEFT JOIN stats s ON s.customer_id = c.customer_id %[7]s
WHERE c.is_current AND c.customer_id >= 0`, src.purchasesSQL(false), asOf, palive, distributor, o.ChurnDays, o.PAliveThreshold, join)
}

// Lifecycle types every current customer and writes the types that changed
// to dim_customer as SCD2, effective at the end of the as-of day: the
// current version is closed there (valid_to, is_current = false) and a copy
// with the new type and a new customer_key becomes current, so each
// customer_id keeps exactly one current version and the history of its
// types (see writeLifecycleTypes for versions that start at or after it). The kb_model row, a 'lifecycle' score per
// customer and the dim_customer change commit in one transaction.
func Lifecycle(ctx context.Context, w *engine.Warehouse, o LifecycleOptions) (*LifecycleResult, error) {
	o.Source = o.Source.withDefaults()
	if o.Name == "" {
		o.Name = "lifecycle"
	}
	if o.ChurnDays == 0 {
		o.ChurnDays = 365
	}
	if o.PAliveThreshold == 0 {
		o.PAliveThreshold = 0.5
	}
	if o.ChurnDays < 0 || o.PAliveThreshold < 0 || o.PAliveThreshold > 1 {
		return nil, fmt.Errorf("lifecycle: churn days %d must be positive and the p_alive threshold %v in [0, 1]", o.ChurnDays, o.PAliveThreshold)
	}
	run, err := startRun(ctx, w, "lifecycle", o.Source, purchaseRoles...)
	if err != nil {
		return nil, err
	}
	defer run.close()
	conn := run.conn
	if o.CLVModel != 0 {
		var kind string
		if err := w.DB.QueryRowContext(ctx, `SELECT kind FROM kb_model WHERE model_id = ?`, o.CLVModel).Scan(&kind); err != nil || kind != "clv" {
			return nil, fmt.Errorf("lifecycle: model %d is not a clv model in kb_model", o.CLVModel)
		}
	}
	asOf, err := resolveAsOf(ctx, w, o.Source, o.AsOf)
	if err != nil {
		return nil, run.fail(err)
	}
	const table = "ckm_lifecycle"
	if err := run.temp(ctx, table, lifecycleSQL(o.Source, dateLit(asOf), o)); err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	res := &LifecycleResult{AsOf: asOf.Format(time.DateOnly), Types: map[string]int64{}}
	rows, err := conn.QueryContext(ctx, `SELECT coalesce(old_type, ''), new_type, count(*) FROM `+table+` GROUP BY ALL ORDER BY ALL`)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	for rows.Next() {
		var tr Transition
		if err := rows.Scan(&tr.From, &tr.To, &tr.Count); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lifecycle: %w", err)
		}
		res.Customers += tr.Count
		res.Types[tr.To] += tr.Count
		if tr.From != tr.To {
			res.Changed += tr.Count
			res.Transitions = append(res.Transitions, tr)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	if res.Customers == 0 {
		return nil, fmt.Errorf("lifecycle: dim_customer has no current customers to type")
	}
	if o.DryRun {
		res.DryRun = true
		return res, nil
	}
	rec := modelRecord{Name: o.Name, Status: "ok", AsOf: asOf,
		Params: map[string]any{"source": o.Source, "as_of": res.AsOf, "churn_days": o.ChurnDays, "clv_model": o.CLVModel,
			"p_alive_threshold": o.PAliveThreshold, "distributor_min_amount": o.DistributorMinAmount},
		Metrics: res,
	}
	// The new types take effect at the end of the as-of day, as a load's
	// --as-of does: never at the machine's clock.
	eff := time.Date(asOf.Year(), asOf.Month(), asOf.Day(), 23, 59, 59, 0, time.UTC).Format(time.DateTime)
	scd2 := func(ctx context.Context, tx *sql.Tx) error {
		return writeLifecycleTypes(ctx, tx, table, eff)
	}
	res.ModelID, err = run.save(ctx, rec, txWrite(scd2),
		scoresWrite(asOf, `SELECT customer_id, 'lifecycle' AS metric, CAST(silent_days AS DOUBLE) AS value, new_type AS label FROM `+table))
	if err != nil {
		return nil, err
	}
	return res, nil
}

// LastPurchaseDay returns the day of the last purchase in src (fact_sales
// by default), ErrEmpty when it has none. Typing customers as of a later
// day judges days without data, where every customer looks silent.
func LastPurchaseDay(ctx context.Context, w *engine.Warehouse, src Source) (time.Time, error) {
	src = src.withDefaults()
	if err := src.require(ctx, w.DB, purchaseRoles...); err != nil {
		return time.Time{}, err
	}
	return resolveAsOf(ctx, w, src, time.Time{})
}

// writeLifecycleTypes writes the changed types of the lifecycle table to
// dim_customer through engine.ApplyCustomerChanges, effective at eff (a
// timestamp literal's text):
//   - a current version that started before eff is closed at eff and
//     followed by a copy with the new type;
//   - one that starts exactly at eff takes the new type in place (the same
//     moment: the later judgement wins);
//   - one that starts after eff is left alone: the dimension already knows
//     a later state of the customer than the as-of day the type was judged
//     at (the score in the knowledge base still records the judgement).
//
// The engine moves the facts after eff to the new versions and checks the
// history for gaps and overlaps before the transaction may commit.
func writeLifecycleTypes(ctx context.Context, tx *sql.Tx, table, eff string) error {
	at := "TIMESTAMP '" + eff + "'"
	changes := `(SELECT l.customer_id, ` + at + ` AS eff, 1 AS rnk, l.new_type
		FROM ` + table + ` l JOIN dim_customer d USING (customer_key)
		WHERE l.new_type IS DISTINCT FROM l.old_type AND d.valid_from <= ` + at + `)`
	return engine.ApplyCustomerChanges(ctx, tx, engine.CustomerChanges{
		Changes:    changes,
		Values:     map[string]string{"customer_type": "n.new_type"},
		Judgements: true,
	})
}
