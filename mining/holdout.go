package mining

import (
	"context"
	"fmt"
)

// HoldoutReport compares the repeat purchases BG/NBD predicted for the
// holdout period with those that happened, overall and per calibration
// frequency bucket.
type HoldoutReport struct {
	Weeks     float64         `json:"weeks"`
	Customers int64           `json:"customers"`
	Predicted float64         `json:"predicted"`
	Actual    float64         `json:"actual"`
	MAE       float64         `json:"mae"` // mean absolute error per customer
	Buckets   []HoldoutBucket `json:"buckets"`
}

// HoldoutBucket is one calibration frequency bucket (the last one, "7+",
// holds every customer with 7 or more repeat purchases).
type HoldoutBucket struct {
	Frequency     string  `json:"frequency"`
	Customers     int64   `json:"customers"`
	MeanPredicted float64 `json:"mean_predicted"`
	MeanActual    float64 `json:"mean_actual"`
	MAE           float64 `json:"mae"`
}

// holdoutReport computes the report in SQL over the summary table (which
// holds each customer's holdout purchases) with ckm_bgnbd_expected.
func holdoutReport(ctx context.Context, q querier, summary string, m BGNBD, weeks float64) (*HoldoutReport, error) {
	pred := fmt.Sprintf("ckm_bgnbd_expected(%v, %v, %v, %v, frequency, recency, age, %v)", m.R, m.Alpha, m.A, m.B, weeks)
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`WITH p AS (
        SELECT CASE WHEN frequency >= 7 THEN '7+' ELSE CAST(CAST(frequency AS INTEGER) AS VARCHAR) END AS bucket,
               least(frequency, 7) AS ord, %s AS predicted, holdout AS actual FROM %s)
    SELECT bucket, count(*), avg(predicted), avg(actual), avg(abs(predicted - actual)), sum(predicted), sum(actual)
    FROM p GROUP BY GROUPING SETS ((bucket, ord), ()) ORDER BY ord NULLS FIRST`, pred, summary))
	if err != nil {
		return nil, fmt.Errorf("holdout report: %w", err)
	}
	defer rows.Close()
	r := &HoldoutReport{Weeks: weeks}
	for rows.Next() {
		var bucket *string
		var b HoldoutBucket
		var sumPred, sumAct float64
		if err := rows.Scan(&bucket, &b.Customers, &b.MeanPredicted, &b.MeanActual, &b.MAE, &sumPred, &sumAct); err != nil {
			return nil, fmt.Errorf("holdout report: %w", err)
		}
		if bucket == nil {
			r.Customers, r.Predicted, r.Actual, r.MAE = b.Customers, sumPred, sumAct, b.MAE
			continue
		}
		b.Frequency = *bucket
		r.Buckets = append(r.Buckets, b)
	}
	return r, rows.Err()
}
