package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchValueCmd(a, nil) })
}

// benchValueOptions are what ckm bench value's flags resolve to.
type benchValueOptions struct {
	app       *app
	customers int    // checked: at least 10
	cdnow     string // checked: "" (the built-in file) or an existing file
	repeat    int    // checked: at least 1
}

// newBenchValueCmd builds ckm bench value; runF, when not nil, runs instead
// of benchValueRun with the parsed options.
func newBenchValueCmd(a *app, runF func(context.Context, *benchValueOptions) error) *cobra.Command {
	opts := &benchValueOptions{app: a}
	cmd := &cobra.Command{
		Use:   "value",
		Short: "Time RFM against hand-written DuckDB SQL, the CLV fit on CDNOW and scoring every customer",
		Long: `In one in-memory warehouse: generate fact_sales for --customers customers with
DuckDB SQL (hash-based random purchase days over 2023-2024, 3 % returns), then
  rfm_ratio       ckm's RFM operator (without writing scores) / the same RFM
                  written by hand in DuckDB SQL, best of --repeat each; the
                  two results must be equal, else the benchmark fails;
  clv_fit_seconds the BG/NBD + Gamma-Gamma fit on the CDNOW master file
                  (23,570 customers, calibration to 1997-09-30);
  score_seconds   scoring every generated customer (P(alive), expected
                  purchases and spend, discounted CLV) in SQL after the fit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchValueRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.customers, "customers", 1000000, "customers in the generated warehouse")
	f.StringVar(&opts.cdnow, "cdnow", "", "a CDNOW master file (default: the one built into ckm)")
	f.IntVar(&opts.repeat, "repeat", 3, "timed runs of each RFM side (the best counts)")
	return cmd
}

// check checks the flags: each bad value is a usage error naming its flag.
func (o *benchValueOptions) check() error {
	if o.customers < 10 {
		return usageErrorf("--customers %d: want at least 10", o.customers)
	}
	if o.repeat < 1 {
		return usageErrorf("--repeat %d: want at least 1", o.repeat)
	}
	if o.cdnow != "" {
		if _, err := os.Stat(o.cdnow); err != nil {
			return usageErrorf("--cdnow %s: %v", o.cdnow, err)
		}
	}
	return nil
}

func benchValueRun(ctx context.Context, o *benchValueOptions) error {
	a := o.app
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		return err
	}
	defer w.Close()
	out := map[string]any{"customers": o.customers, "load_average_before": loadAverage()}
	var cpu cpuClock

	start := time.Now()
	lines, err := generateBenchSales(ctx, w, o.customers)
	if err != nil {
		return err
	}
	out["sales_lines"], out["generate_seconds"] = lines, time.Since(start).Seconds()
	a.logf("generated %d sales lines for %d customers in %.1fs", lines, o.customers, time.Since(start).Seconds())

	asOf := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	var ckmTimes, sqlTimes, ckmCPU, sqlCPU []float64
	for i := 0; i < o.repeat; i++ {
		start = time.Now()
		cpu.mark()
		if _, err := mining.RFM(ctx, w, mining.RFMOptions{AsOf: asOf, DryRun: true}); err != nil {
			return err
		}
		ckmTimes = append(ckmTimes, time.Since(start).Seconds())
		if v, ok := cpu.since().(float64); ok {
			ckmCPU = append(ckmCPU, v)
		}
		start = time.Now()
		cpu.mark()
		if err := handRFM(ctx, w, "DROP TABLE hand_rfm"); err != nil {
			return err
		}
		sqlTimes = append(sqlTimes, time.Since(start).Seconds())
		if v, ok := cpu.since().(float64); ok {
			sqlCPU = append(sqlCPU, v)
		}
	}
	sort.Float64s(ckmTimes)
	sort.Float64s(sqlTimes)
	if len(ckmCPU) > 0 && len(sqlCPU) > 0 {
		sort.Float64s(ckmCPU)
		sort.Float64s(sqlCPU)
		out["rfm_cpu_seconds"], out["rfm_sql_cpu_seconds"] = ckmCPU[0], sqlCPU[0]
	}
	out["rfm_seconds"], out["rfm_sql_seconds"] = ckmTimes[0], sqlTimes[0]
	out["rfm_ratio"] = ckmTimes[0] / sqlTimes[0]
	differ, err := rfmDiffer(ctx, w, asOf)
	if err != nil {
		return err
	}
	equal := differ == 0
	out["rfm_equal"] = equal
	if !equal {
		// The timings of two computations that disagree compare nothing.
		return fmt.Errorf("bench value: rfm_equal false: ckm's RFM and the hand-written SQL disagree on %d rows", differ)
	}
	start = time.Now()
	rfm, err := mining.RFM(ctx, w, mining.RFMOptions{AsOf: asOf})
	if err != nil {
		return err
	}
	out["rfm_with_kb_seconds"] = time.Since(start).Seconds()
	a.logf("rfm: ckm %.3fs, hand-written SQL %.3fs, equal %v; with the knowledge-base write %.2fs (%d customers)",
		ckmTimes[0], sqlTimes[0], equal, out["rfm_with_kb_seconds"], rfm.Customers)

	if o.cdnow == "" {
		err = mining.LoadCDNOWMaster(ctx, w.DB, "cdnow_master")
	} else {
		err = mining.LoadCDNOW(ctx, w.DB, o.cdnow, "cdnow_master")
	}
	if err != nil {
		return err
	}
	cpu.mark()
	master, err := mining.CLV(ctx, w, mining.CLVOptions{Source: mining.Source{Table: "cdnow_master", Time: "order_date"},
		AsOf: time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC), DryRun: true})
	if err != nil {
		return err
	}
	out["clv_fit_seconds"] = master.FitSeconds
	out["clv_master_cpu_seconds"] = cpu.since()
	out["clv_master"] = map[string]any{"customers": master.Customers, "bgnbd": master.Purchases.Model, "bgnbd_ll": master.Purchases.LogLikelihood,
		"gamma_gamma": master.Spend.Model, "gamma_gamma_ll": master.Spend.LogLikelihood, "status": master.Status}
	a.logf("clv on CDNOW master (%d customers): fit %.3fs, %s", master.Customers, master.FitSeconds, master.Status)

	start = time.Now()
	cpu.mark()
	gen, err := mining.CLV(ctx, w, mining.CLVOptions{AsOf: asOf, AnnualDiscountRate: 0.10})
	if err != nil {
		return err
	}
	out["clv_generated_cpu_seconds"] = cpu.since()
	out["score_seconds"] = gen.ScoreSeconds
	out["score_customers"] = gen.Customers
	out["clv_generated"] = map[string]any{"summary_seconds": gen.SummarySeconds, "fit_seconds": gen.FitSeconds,
		"score_seconds": gen.ScoreSeconds, "persist_seconds": gen.PersistSeconds, "total_seconds": time.Since(start).Seconds(), "status": gen.Status}
	a.logf("clv on the generated warehouse: summary %.2fs, fit %.2fs, score %.2fs, write %.2fs", gen.SummarySeconds, gen.FitSeconds, gen.ScoreSeconds, gen.PersistSeconds)

	out["load_average_after"] = loadAverage()
	if a.format() == formatJSON {
		return writeJSON(a, out)
	}
	return a.printRecord(out, []string{"customers", "sales_lines", "generate_seconds", "rfm_seconds", "rfm_sql_seconds", "rfm_ratio", "rfm_equal",
		"rfm_cpu_seconds", "rfm_sql_cpu_seconds", "rfm_with_kb_seconds", "clv_fit_seconds", "clv_master_cpu_seconds", "score_seconds", "score_customers", "clv_generated_cpu_seconds",
		"load_average_before", "load_average_after"})
}

// generateBenchSales fills fact_sales with purchases drawn like the
// BG/NBD story, with hash-based random numbers in DuckDB SQL: each customer
// starts on a random day of 2023-2024, buys at a lognormal rate (a mean gap
// of about 40 days) and drops out after each purchase with a customer
// probability; up to 12 purchases, spend lognormal per customer ±30 %,
// 3 % of the lines returns; loaded by a committed ETL run 1.
func generateBenchSales(ctx context.Context, w *engine.Warehouse, customers int) (int64, error) {
	q := fmt.Sprintf(`INSERT INTO etl_run (run_id, started_at, finished_at, status, message) VALUES (1, now()::TIMESTAMP, now()::TIMESTAMP, 'committed', 'bench value');
INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id, product_key, quantity, unit_price, amount, cost_amount, is_return, etl_run_id)
WITH cust AS (
    SELECT c,
           floor(730 * (hash(c * 7 + 1) / 18446744073709551616.0)) AS start_day,
           exp(ln(1 / 40.0) + 0.8 * sqrt(-2 * ln(1 - hash(c * 7 + 2) / 18446744073709551616.0)) * cos(2 * pi() * hash(c * 7 + 3) / 18446744073709551616.0)) AS rate,
           0.02 + 0.5 * pow(hash(c * 7 + 4) / 18446744073709551616.0, 2) AS drop_p,
           exp(ln(40) + 0.5 * sqrt(-2 * ln(1 - hash(c * 7 + 5) / 18446744073709551616.0)) * cos(2 * pi() * hash(c * 7 + 6) / 18446744073709551616.0)) AS spend
    FROM range(1, %d) t(c)
),
draws AS (
    SELECT c, i, start_day, spend, hash(c * 100 + i) AS h,
           1 + floor(ln(1 - hash(c * 7) / 18446744073709551616.0) / ln(1 - drop_p)) AS purchases,
           CASE WHEN i = 0 THEN 0 ELSE -ln(1 - hash(c * 100 + i) / 18446744073709551616.0) / rate END AS gap
    FROM cust, range(0, 12) s(i)
),
timed AS (
    SELECT *, start_day + floor(sum(gap) OVER (PARTITION BY c ORDER BY i)) AS day_no FROM draws
),
lines AS (
    SELECT c, i, h, CAST(DATE '2023-01-01' + CAST(day_no AS INTEGER) AS TIMESTAMP) AS d,
           CAST(round(spend * (0.7 + 0.6 * ((h >> 20) %% 1000) / 1000.0), 2) AS DECIMAL(18,2)) AS price,
           (h >> 40) %% 100 < 3 AS ret
    FROM timed WHERE i < purchases AND day_no < 730
)
SELECT 'B' || c || '-' || i, 1, CAST(strftime(d, '%%Y%%m%%d') AS INTEGER), d + to_seconds(CAST(h %% 86400 AS BIGINT)), c, c, -1,
       CASE WHEN ret THEN -1 ELSE 1 END, price, CASE WHEN ret THEN -price ELSE price END,
       round(CASE WHEN ret THEN -price ELSE price END * 0.6, 2), ret, 1
FROM lines`, customers+1)
	if _, err := w.DB.ExecContext(ctx, q); err != nil {
		return 0, fmt.Errorf("generate sales: %w", err)
	}
	var n int64
	err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM fact_sales`).Scan(&n)
	return n, err
}

// handRFMSQL is the RFM an analyst would write directly in DuckDB SQL, with
// the same definitions as ckm's operator (see mining.RFM). A variable so a
// test can make the two sides disagree.
var handRFMSQL = `CREATE TABLE hand_rfm AS
WITH days AS (
    SELECT customer_id, CAST(order_ts AS DATE) AS day, sum(amount) AS amount, bool_or(amount >= 0) AS purchase
    FROM fact_sales WHERE customer_id >= 0 AND order_ts < DATE '2025-01-01'
    GROUP BY 1, 2
),
c AS (
    SELECT customer_id, datediff('day', max(day) FILTER (WHERE purchase), DATE '2024-12-31') AS recency_days,
           count(*) FILTER (WHERE purchase) AS frequency, CAST(sum(amount) AS DOUBLE) AS monetary
    FROM days GROUP BY 1 HAVING count(*) FILTER (WHERE purchase) > 0
),
s AS (
    SELECT *, CAST(1 + 5 * (rank() OVER (ORDER BY recency_days DESC) - 1) // count(*) OVER () AS INTEGER) AS r_score,
              CAST(1 + 5 * (rank() OVER (ORDER BY frequency) - 1) // count(*) OVER () AS INTEGER) AS f_score,
              CAST(1 + 5 * (rank() OVER (ORDER BY monetary) - 1) // count(*) OVER () AS INTEGER) AS m_score
    FROM c
)
SELECT *, CASE
    WHEN r_score = 5 AND (f_score + m_score + 1) // 2 >= 4 THEN 'champions'
    WHEN r_score IN (3, 4) AND (f_score + m_score + 1) // 2 >= 4 THEN 'loyal'
    WHEN r_score >= 4 AND (f_score + m_score + 1) // 2 IN (2, 3) THEN 'potential loyalists'
    WHEN r_score = 5 THEN 'new customers'
    WHEN r_score = 4 THEN 'promising'
    WHEN r_score = 3 AND (f_score + m_score + 1) // 2 = 3 THEN 'need attention'
    WHEN r_score = 3 THEN 'about to sleep'
    WHEN (f_score + m_score + 1) // 2 = 5 THEN 'can''t lose'
    WHEN (f_score + m_score + 1) // 2 >= 3 THEN 'at risk'
    WHEN r_score = 2 OR (f_score + m_score + 1) // 2 = 2 THEN 'hibernating'
    ELSE 'lost' END AS segment
FROM s`

// handRFM runs the hand-written RFM and its segment counts on one
// connection, then runs cleanup ("" keeps the table).
func handRFM(ctx context.Context, w *engine.Warehouse, cleanup string) error {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, handRFMSQL); err != nil {
		return fmt.Errorf("hand-written rfm: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT segment, count(*), sum(monetary) FROM hand_rfm GROUP BY segment ORDER BY count(*) DESC`)
	if err != nil {
		return fmt.Errorf("hand-written rfm: %w", err)
	}
	for rows.Next() {
	}
	rows.Close()
	if cleanup != "" {
		if _, err := conn.ExecContext(ctx, cleanup); err != nil {
			return err
		}
	}
	return rows.Err()
}

// rfmDiffer counts the rows in which ckm's RFM (through the ckm_rfm table
// function) and the hand-written one differ: 0 when they agree on every
// customer.
func rfmDiffer(ctx context.Context, w *engine.Warehouse, asOf time.Time) (int64, error) {
	if err := mining.Setup(ctx, w); err != nil {
		return 0, err
	}
	if err := handRFM(ctx, w, ""); err != nil {
		return 0, err
	}
	defer w.DB.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS hand_rfm")
	var diff int64
	cols := "customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, segment"
	err := w.DB.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM (
        (SELECT %[1]s FROM ckm_rfm(as_of := DATE '%[2]s') EXCEPT ALL SELECT %[1]s FROM hand_rfm)
        UNION ALL (SELECT %[1]s FROM hand_rfm EXCEPT ALL SELECT %[1]s FROM ckm_rfm(as_of := DATE '%[2]s')))`, cols, asOf.Format(time.DateOnly))).Scan(&diff)
	return diff, err
}

// cpuClock measures the CPU time of this process (all threads, DuckDB's
// included) from /proc/self/stat, where the machine has one; on a busy
// machine it tells how much work a step was when its wall time is not.
type cpuClock struct{ start float64 }

func (c *cpuClock) mark() { c.start = processCPUSeconds() }

// since returns the CPU seconds since mark, or nil where unknown.
func (c *cpuClock) since() any {
	now := processCPUSeconds()
	if now < 0 || c.start < 0 {
		return nil
	}
	return now - c.start
}

// processCPUSeconds returns user + system time (clock ticks of 1/100 s, as
// Linux reports them), or −1.
func processCPUSeconds() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	k, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (u + k) / 100
}

// loadAverage returns the one-minute load average, or nil where unknown:
// the machine benchmarks share is part of what the timings mean.
func loadAverage() any {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return nil
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return nil
	}
	return v
}
