package mining

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// daysPerWeek converts the day counts of the summary into weeks, the time
// unit of the BG/NBD parameters ckm stores.
const daysPerWeek = 7.0

func dateLit(t time.Time) string { return "DATE '" + t.Format("2006-01-02") + "'" }

// summarySQL returns the per-customer calibration summary of the purchases
// up to calibrationEnd, in weeks, following Fader & Hardie: a purchase day
// is a day with at least one sale line, amount >= 0 (several purchases on
// one day count once, a day of returns only is no purchase; CDNOW has
// purchases of $0); frequency = purchase days
// after the first, recency = weeks from the first to the last purchase day,
// age (T) = weeks from the first purchase day to calibrationEnd, monetary =
// mean net amount of the repeat purchase days (NULL without repeats), and
// holdout = purchase days in (calibrationEnd, holdoutEnd] (0 when
// holdoutEnd is zero). Only customers with a purchase by calibrationEnd
// (and, when cohortStart is not zero, whose first purchase is on or after
// it) appear.
func summarySQL(src Source, cohortStart, calibrationEnd, holdoutEnd time.Time) string {
	cohort, hold := "", ""
	if !cohortStart.IsZero() {
		cohort = dateLit(cohortStart)
	}
	if !holdoutEnd.IsZero() {
		hold = dateLit(holdoutEnd)
	}
	return summarySQLExpr(src, cohort, dateLit(calibrationEnd), hold)
}

// summarySQLExpr is summarySQL with the dates as SQL expressions ("" for
// no cohort start or holdout), so a macro can pass its parameters.
func summarySQLExpr(src Source, cohortStart, end, holdoutEnd string) string {
	cohort := ""
	if cohortStart != "" {
		cohort = "WHERE first_day >= " + cohortStart
	}
	hold := "SELECT NULL::BIGINT AS customer_id, 0 AS holdout WHERE false"
	if holdoutEnd != "" {
		hold = fmt.Sprintf(`SELECT customer_id, count(*) AS holdout FROM (
        SELECT customer_id, day FROM purchases WHERE day > %s AND day <= %s
        GROUP BY customer_id, day HAVING bool_or(amount >= 0)) GROUP BY customer_id`, end, holdoutEnd)
	}
	return fmt.Sprintf(`WITH purchases AS (%s),
days AS (
    SELECT customer_id, day, sum(amount) AS amount FROM purchases WHERE day <= %s
    GROUP BY customer_id, day HAVING bool_or(amount >= 0)
),
cal AS (
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day, count(*) - 1 AS frequency,
           CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, day)) / (count(*) - 1) END AS monetary
    FROM days GROUP BY customer_id
),
hold AS (%s)
SELECT c.customer_id,
       CAST(c.frequency AS DOUBLE) AS frequency,
       datediff('day', c.first_day, c.last_day) / %g AS recency,
       datediff('day', c.first_day, %s) / %g AS age,
       CAST(c.monetary AS DOUBLE) AS monetary,
       CAST(coalesce(h.holdout, 0) AS DOUBLE) AS holdout,
       c.first_day, c.last_day
FROM cal c LEFT JOIN hold h USING (customer_id)
%s`, src.purchasesSQL(false), end, hold, daysPerWeek, end, daysPerWeek, cohort)
}

// createSummary materialises the calibration summary as a temporary table on
// conn and returns how many customers it holds.
func createSummary(ctx context.Context, conn *sql.Conn, table string, src Source, cohortStart, calibrationEnd, holdoutEnd time.Time) (int64, error) {
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+table+" AS "+summarySQL(src, cohortStart, calibrationEnd, holdoutEnd)); err != nil {
		return 0, fmt.Errorf("calibration summary: %w", err)
	}
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("calibration summary: %w", err)
	}
	return n, nil
}

// readCalibration reads the summary grouped by (frequency, recency, age):
// the likelihood only needs each distinct history once, with its count.
func readCalibration(ctx context.Context, q querier, table string) (Calibration, error) {
	rows, err := q.QueryContext(ctx, "SELECT frequency, recency, age, count(*) FROM "+table+" GROUP BY ALL ORDER BY ALL")
	if err != nil {
		return Calibration{}, fmt.Errorf("read calibration: %w", err)
	}
	defer rows.Close()
	var c Calibration
	for rows.Next() {
		var x, tx, T, w float64
		if err := rows.Scan(&x, &tx, &T, &w); err != nil {
			return Calibration{}, fmt.Errorf("read calibration: %w", err)
		}
		c.Frequency = append(c.Frequency, x)
		c.Recency = append(c.Recency, tx)
		c.Age = append(c.Age, T)
		c.Weight = append(c.Weight, w)
	}
	return c, rows.Err()
}

// readSpend reads the repeat buyers' frequency and average spend.
func readSpend(ctx context.Context, q querier, table string) (Spend, error) {
	rows, err := q.QueryContext(ctx, "SELECT frequency, monetary FROM "+table+" WHERE frequency > 0 AND monetary > 0 ORDER BY customer_id")
	if err != nil {
		return Spend{}, fmt.Errorf("read spend: %w", err)
	}
	defer rows.Close()
	var s Spend
	for rows.Next() {
		var x, m float64
		if err := rows.Scan(&x, &m); err != nil {
			return Spend{}, fmt.Errorf("read spend: %w", err)
		}
		s.Frequency = append(s.Frequency, x)
		s.Average = append(s.Average, m)
	}
	return s, rows.Err()
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
