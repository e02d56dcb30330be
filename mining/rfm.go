package mining

import (
	"context"
	"fmt"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// RFMOptions configure the RFM operator.
type RFMOptions struct {
	Source Source
	// AsOf is the day RFM is computed at; purchases after it are ignored.
	// Zero means the day of the last purchase in the source.
	AsOf time.Time
	// WindowDays keeps only purchases in (AsOf − WindowDays, AsOf]; 0 keeps
	// all history up to AsOf.
	WindowDays int
	// Name labels the model in kb_model ("rfm").
	Name string
	// DryRun computes without writing to the knowledge base.
	DryRun bool
}

// RFMResult summarises an RFM run.
type RFMResult struct {
	ModelID   int64          `json:"model_id"`
	AsOf      string         `json:"as_of"`
	Customers int64          `json:"customers"`
	Segments  []SegmentCount `json:"segments"`
}

// SegmentCount is the size and value of one segment.
type SegmentCount struct {
	Segment   string  `json:"segment"`
	Customers int64   `json:"customers"`
	Share     float64 `json:"share"`
	Monetary  float64 `json:"monetary"`
}

// rfmSQL returns the per-customer RFM query over src at the DATE expression
// asOf (which may refer to the purchases CTE; a literal lets DuckDB push
// the date filter into the scan) with the INTEGER expression window (≤ 0:
// all history). Definitions:
//   - the purchases are the lines dated in the window, returns included;
//   - a purchase day is a day with at least one sale line (amount ≥ 0);
//     several orders on a day count once and a day of returns only is not
//     a purchase;
//   - recency_days = days from the last purchase day to asOf;
//     frequency = purchase days; monetary = net amount (sales − returns);
//   - customers without a purchase day in the window are left out;
//   - each score is 1 + floor(5·(rank − 1)/n) with rank the SQL RANK() over
//     the customers (recency descending, frequency and monetary ascending),
//     so customers with equal values always share a score (ties go to the
//     lower quintile) and the result does not depend on row order;
//   - fm_score = ceil((f_score + m_score)/2); rfm_score = 100·R + 10·F + M;
//     segment from SegmentRules over (r_score, fm_score).
func rfmSQL(src Source, asOf, window string) string {
	return fmt.Sprintf(`WITH purchases AS (%[1]s),
days AS (
    SELECT customer_id, day, sum(amount) AS amount, bool_or(amount >= 0) AS purchase
    FROM purchases
    WHERE day <= %[2]s AND (coalesce(%[3]s, 0) <= 0 OR day > %[2]s - CAST(coalesce(%[3]s, 0) AS INTEGER))
    GROUP BY customer_id, day
),
totals AS (
    SELECT customer_id, max(day) FILTER (WHERE purchase) AS last_day,
           count(*) FILTER (WHERE purchase) AS frequency,
           CAST(sum(amount) AS DOUBLE) AS monetary
    FROM days GROUP BY customer_id
    HAVING count(*) FILTER (WHERE purchase) > 0
),
customers AS (
    SELECT customer_id, datediff('day', last_day, %[2]s) AS recency_days, frequency, monetary FROM totals
),
ranked AS (
    SELECT *, count(*) OVER () AS n,
           rank() OVER (ORDER BY recency_days DESC) AS r_rank,
           rank() OVER (ORDER BY frequency) AS f_rank,
           rank() OVER (ORDER BY monetary) AS m_rank
    FROM customers
),
scored AS (
    SELECT customer_id, recency_days, frequency, monetary,
           CAST(1 + (5 * (r_rank - 1)) // n AS INTEGER) AS r_score,
           CAST(1 + (5 * (f_rank - 1)) // n AS INTEGER) AS f_score,
           CAST(1 + (5 * (m_rank - 1)) // n AS INTEGER) AS m_score
    FROM ranked
)
SELECT customer_id, recency_days, frequency, monetary, r_score, f_score, m_score,
       CAST((f_score + m_score + 1) // 2 AS INTEGER) AS fm_score,
       100 * r_score + 10 * f_score + m_score AS rfm_score,
       %[4]s AS segment,
       %[2]s AS as_of
FROM scored`, src.purchasesSQL(false), asOf, window, segmentCaseSQL("r_score", "(f_score + m_score + 1) // 2"))
}

// RFM computes recency, frequency and monetary value, their quintile scores
// and named segments for every customer with a purchase in the window, in
// one DuckDB query, and writes the model and scores to the knowledge base.
func RFM(ctx context.Context, w *engine.Warehouse, o RFMOptions) (*RFMResult, error) {
	o.Source = o.Source.withDefaults()
	if o.Name == "" {
		o.Name = "rfm"
	}
	if o.WindowDays < 0 {
		return nil, fmt.Errorf("rfm: window %d days must not be negative", o.WindowDays)
	}
	run, err := startRun(ctx, w, "rfm", o.Source, purchaseRoles...)
	if err != nil {
		return nil, err
	}
	defer run.close()
	// A given as-of date is checked against the data only when nothing is
	// found, which saves a scan of the purchases.
	asOf := o.AsOf
	if asOf.IsZero() {
		if asOf, err = resolveAsOf(ctx, w, o.Source, o.AsOf); err != nil {
			return nil, run.fail(err)
		}
	}
	const table = "ckm_rfm_scores"
	if err := run.temp(ctx, table, rfmSQL(o.Source, dateLit(asOf), fmt.Sprint(o.WindowDays))); err != nil {
		return nil, run.fail(err)
	}
	res := &RFMResult{AsOf: asOf.Format(time.DateOnly)}
	if res.Segments, err = segmentCounts(ctx, run.conn, table); err != nil {
		return nil, run.fail(err)
	}
	for _, s := range res.Segments {
		res.Customers += s.Customers
	}
	if res.Customers == 0 {
		if _, err := resolveAsOf(ctx, w, o.Source, asOf); err != nil {
			return nil, run.fail(err)
		}
		return nil, fmt.Errorf("rfm: %s: %w in the %d days up to %s", o.Source.name(), ErrEmpty, o.WindowDays, res.AsOf)
	}
	if o.DryRun {
		return res, nil
	}
	rec := modelRecord{Name: o.Name, Status: "ok", AsOf: asOf,
		Params: map[string]any{"source": o.Source, "as_of": res.AsOf, "window_days": o.WindowDays,
			"scoring": "1 + floor(5*(rank-1)/n), RANK() ties share the lower score", "segments": SegmentRules},
		Metrics: map[string]any{"customers": res.Customers, "segments": res.Segments},
	}
	res.ModelID, err = run.save(ctx, rec, scoresWrite(asOf, unpivotSQL(table, []metricCol{
		{"recency", "recency_days", "NULL"},
		{"frequency", "frequency", "NULL"},
		{"monetary", "monetary", "NULL"},
		{"r_score", "r_score", "NULL"},
		{"f_score", "f_score", "NULL"},
		{"m_score", "m_score", "NULL"},
		{"rfm_score", "rfm_score", "CAST(rfm_score AS VARCHAR)"},
		{"segment", "NULL", "segment"},
	})))
	if err != nil {
		return nil, err
	}
	return res, nil
}

func segmentCounts(ctx context.Context, q querier, table string) ([]SegmentCount, error) {
	rows, err := q.QueryContext(ctx, `SELECT segment, count(*), count(*) / sum(count(*)) OVER (), sum(monetary)
        FROM `+table+` GROUP BY segment ORDER BY count(*) DESC, segment`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SegmentCount
	for rows.Next() {
		var s SegmentCount
		if err := rows.Scan(&s.Segment, &s.Customers, &s.Share, &s.Monetary); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// resolveAsOf returns asOf, or the last purchase day when it is zero, and
// rejects an as-of date before the first purchase.
func resolveAsOf(ctx context.Context, w *engine.Warehouse, src Source, asOf time.Time) (time.Time, error) {
	var first, last *time.Time
	if err := w.DB.QueryRowContext(ctx, "SELECT min(day), max(day) FROM ("+src.purchasesSQL(false)+")").Scan(&first, &last); err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", src.name(), err)
	}
	if first == nil {
		return time.Time{}, fmt.Errorf("%s: %w: it is empty", src.name(), ErrEmpty)
	}
	if asOf.IsZero() {
		return *last, nil
	}
	if asOf.Before(*first) {
		return time.Time{}, fmt.Errorf("%w before the as-of date %s: the first purchase in the %s is on %s",
			ErrEmpty, asOf.Format(time.DateOnly), src.name(), first.Format(time.DateOnly))
	}
	return asOf, nil
}
