package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/export"
	"github.com/ckm-dev/ckm/privacy"
)

func init() { registerBenchCommand(func(a *app) *cobra.Command { return newBenchExportCmd(a, nil) }) }

// benchExportOptions are what ckm bench export's flags resolve to.
type benchExportOptions struct {
	app   *app
	lines int64 // checked: at least 1000
	dir   string
	runs  int // checked: at least 1
}

func newBenchExportCmd(a *app, runF func(context.Context, *benchExportOptions) error) *cobra.Command {
	o := &benchExportOptions{app: a}
	cmd := &cobra.Command{
		Use:   "export [--lines N]",
		Short: "Time ckm export lake (full and after a one-day load) against DuckDB's own Parquet COPY",
		Long: `Build a warehouse with N sales lines over 36 months (customers N/50,
products 1,000; written directly with SQL, not through ckm load), then in
the same run:
  raw_copy_ms     DuckDB COPY … (FORMAT parquet) of every lake table with the
                  same masked columns, ZSTD, row-group size and year/month
                  partitioning (no Iceberg metadata);
  full_export_ms  ckm export lake --full into a new lake;
  export_ratio    full_export_ms / raw_copy_ms (goal ≤ 1.2);
then load one more day (N/1000 lines, a new ETL run) and time an incremental
export: incremental_ratio = incremental_ms / full_export_ms (goal < 0.10),
with the partitions it rewrote.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.lines < 1000 {
				return usageErrorf("--lines %d: want at least 1000", o.lines)
			}
			if o.runs < 1 {
				return usageErrorf("--runs %d: want at least 1", o.runs)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return benchExportRun(cmd.Context(), o)
		},
	}
	cmd.Flags().Int64Var(&o.lines, "lines", 5_000_000, "sales lines in the bench warehouse")
	cmd.Flags().IntVar(&o.runs, "runs", 3, "timed runs of each full side, alternating which goes first (the fastest of each is compared)")
	cmd.Flags().StringVar(&o.dir, "bench-dir", "", "directory for the warehouse and lakes (default: a temporary one, removed)")
	return cmd
}

type benchExportResult struct {
	Lines             int64                    `json:"lines"`
	Runs              int                      `json:"runs"`
	BuildMS           float64                  `json:"build_ms"`
	RawCopyMS         float64                  `json:"raw_copy_ms"`
	FullExportMS      float64                  `json:"full_export_ms"`
	ExportRatio       float64                  `json:"export_ratio"`
	DayLines          int64                    `json:"day_lines"`
	IncrementalMS     float64                  `json:"incremental_ms"`
	IncrementalRatio  float64                  `json:"incremental_ratio"`
	FactPartitions    []string                 `json:"fact_sales_partitions_rewritten"`
	TablesRewritten   []string                 `json:"tables_rewritten"`
	Incremental       []export.LakeTableResult `json:"incremental_tables"`
	IncrementalPhases map[string]float64       `json:"incremental_phases_ms"`
	LakeBytes         int64                    `json:"lake_bytes"`
	RawBytes          int64                    `json:"raw_bytes"`
	LoadAverageBefore string                   `json:"loadavg_before"`
	LoadAverageAfter  string                   `json:"loadavg_after"`
}

func benchExportRun(ctx context.Context, o *benchExportOptions) error {
	a := o.app
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ckm-bench-export-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	res := benchExportResult{Lines: o.lines, Runs: o.runs, LoadAverageBefore: loadAverages()}
	start := time.Now()
	w, err := engine.Open(ctx, filepath.Join(dir, "bench.duckdb"), a.engineOptions())
	if err != nil {
		return err
	}
	defer w.Close()
	if err := buildExportBench(ctx, w, o.lines); err != nil {
		return fmt.Errorf("bench export: building the warehouse: %w", err)
	}
	res.BuildMS = ms(time.Since(start))
	analyst := privacy.Principal{User: "bench", Role: privacy.Analyst}

	lake := filepath.Join(dir, "lake")
	raw := func() error {
		os.RemoveAll(filepath.Join(dir, "raw"))
		start := time.Now()
		if _, err := export.LakeBaseline(ctx, w, filepath.Join(dir, "raw"), analyst); err != nil {
			return fmt.Errorf("bench export: raw copy: %w", err)
		}
		if t := ms(time.Since(start)); res.RawCopyMS == 0 || t < res.RawCopyMS {
			res.RawCopyMS = t
		}
		return nil
	}
	full := func() error {
		os.RemoveAll(lake)
		start := time.Now()
		if _, err := export.Lake(ctx, w, export.LakeOptions{Dir: lake, Principal: analyst, Full: true}); err != nil {
			return fmt.Errorf("bench export: %w", err)
		}
		if t := ms(time.Since(start)); res.FullExportMS == 0 || t < res.FullExportMS {
			res.FullExportMS = t
		}
		return nil
	}
	for i := 0; i < o.runs; i++ {
		first, second := raw, full
		if i%2 == 1 {
			first, second = full, raw
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
	}
	if o.runs%2 == 0 { // the lake must be the last thing written for the incremental step
		if err := full(); err != nil {
			return err
		}
	}
	res.ExportRatio = res.FullExportMS / res.RawCopyMS
	res.LakeBytes, res.RawBytes = dirBytes(filepath.Join(lake, export.LakeNamespace), "data"), dirBytes(filepath.Join(dir, "raw"), "")

	res.DayLines = max(o.lines/1000, 1)
	if err := benchExportDay(ctx, w, o.lines, res.DayLines); err != nil {
		return fmt.Errorf("bench export: one-day load: %w", err)
	}
	start = time.Now()
	inc, err := export.Lake(ctx, w, export.LakeOptions{Dir: lake, Principal: analyst})
	if err != nil {
		return fmt.Errorf("bench export: incremental: %w", err)
	}
	res.IncrementalMS = ms(time.Since(start))
	res.IncrementalRatio = res.IncrementalMS / res.FullExportMS
	res.Incremental = inc.Tables
	res.IncrementalPhases = map[string]float64{"tables": inc.TablesMS, "commit": inc.CommitMS, "tidy": inc.TidyMS}
	for _, t := range inc.Tables {
		if t.Changed {
			res.TablesRewritten = append(res.TablesRewritten, t.Name)
		}
		if t.Name == "fact_sales" {
			res.FactPartitions = t.Partitions
		}
	}
	res.LoadAverageAfter = loadAverages()
	if a.format() == formatJSON {
		return writeJSON(a, res)
	}
	return a.printTable([]string{"measure", "value"}, [][]any{
		{"lines", res.Lines},
		{"raw_copy_ms", res.RawCopyMS},
		{"full_export_ms", res.FullExportMS},
		{"export_ratio (goal <= 1.2)", fmt.Sprintf("%.3f", res.ExportRatio)},
		{"day_lines", res.DayLines},
		{"incremental_ms", res.IncrementalMS},
		{"incremental_ratio (goal < 0.10)", fmt.Sprintf("%.3f", res.IncrementalRatio)},
		{"fact_sales partitions rewritten", strings.Join(res.FactPartitions, ",")},
		{"tables rewritten", strings.Join(res.TablesRewritten, ",")},
		{"lake data bytes / raw bytes", fmt.Sprintf("%d / %d", res.LakeBytes, res.RawBytes)},
		{"load average before / after", res.LoadAverageBefore + " / " + res.LoadAverageAfter},
	})
}

// loadAverages is /proc/loadavg's first three figures ("" where there is none).
func loadAverages() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// dirBytes sums the sizes of the .parquet files under root.
func dirBytes(root, _ string) int64 {
	var n int64
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			if st, err := d.Info(); err == nil {
				n += st.Size()
			}
		}
		return nil
	})
	return n
}

// buildExportBench fills a new warehouse: lines sales lines over the 36
// months from 2023-01, one committed ETL run per month.
func buildExportBench(ctx context.Context, w *engine.Warehouse, lines int64) error {
	customers := max(lines/50, 10)
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO dim_customer (customer_key, customer_id, id_number, name, mobile, email, customer_type, birth_date, valid_from, valid_to, is_current)
			SELECT i, 100000 + i, '110105' || CAST(19500101 + (i %% 40) * 10000 AS VARCHAR) || lpad(CAST(i %% 10000 AS VARCHAR), 4, '0'),
			       'Name' || i, '+86138' || lpad(CAST(i %% 100000000 AS VARCHAR), 8, '0'), 'c' || i || '@example.com',
			       'current', DATE '1950-01-01' + CAST(i %% 20000 AS INTEGER), TIMESTAMP '2023-01-01', TIMESTAMP '9999-12-31', true
			FROM range(1, %d) t(i)`, customers+1),
		`INSERT INTO dim_product (product_key, product_code, product_name, category, cost, list_price)
			SELECT i, 'P' || i, 'product ' || i, 'cat ' || (i % 20), 10 + i % 500, 20 + i % 900 FROM range(1, 1001) t(i)`,
		`INSERT INTO etl_run (run_id, started_at, finished_at, status, rows_read, rows_loaded)
			SELECT m + 1, TIMESTAMP '2023-01-01' + INTERVAL (m) MONTH, TIMESTAMP '2023-01-01' + INTERVAL (m) MONTH, 'committed', 0, 0 FROM range(0, 36) t(m)`,
		fmt.Sprintf(`INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, cost_amount, is_return, etl_run_id, source_line)
			SELECT 'O' || (i // 3), CAST(i %% 3 + 1 AS INTEGER), CAST(strftime(d, '%%Y%%m%%d') AS INTEGER), d + INTERVAL (i %% 86400) SECOND,
			       CAST(1 + i %% %[2]d AS INTEGER), 100001 + i %% %[2]d, CAST(1 + i %% 1000 AS INTEGER), CAST(1 + i %% 4 AS INTEGER),
			       CAST(1 + i %% 5 AS INTEGER), CAST(20 + i %% 900 AS DECIMAL(18,2)), CAST((1 + i %% 5) * (20 + i %% 900) AS DECIMAL(18,2)),
			       CAST((1 + i %% 5) * (10 + i %% 500) AS DECIMAL(18,2)), false, 1 + datediff('month', DATE '2023-01-01', d), i
			FROM (SELECT i, DATE '2023-01-01' + CAST(i * 1095 // %[1]d AS INTEGER) AS d FROM range(0, %[1]d) t(i))`, lines, customers),
	} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// benchExportDay loads one more day (2025-12-31, the last month) as a new
// committed ETL run.
func benchExportDay(ctx context.Context, w *engine.Warehouse, lines, day int64) error {
	_, err := w.DB.ExecContext(ctx, fmt.Sprintf(`INSERT INTO etl_run (run_id, started_at, finished_at, status, rows_read, rows_loaded)
			VALUES (37, TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01', 'committed', %[1]d, %[1]d);
		INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, cost_amount, is_return, etl_run_id, source_line)
			SELECT 'D' || i, 1, 20251231, TIMESTAMP '2025-12-31 10:00:00', CAST(1 + i %% 1000 AS INTEGER), 100001 + i %% 1000, CAST(1 + i %% 1000 AS INTEGER), 1,
			       1, 99.00, 99.00, 50.00, false, 37, %[2]d + i
			FROM range(0, %[1]d) t(i)`, day, lines))
	return err
}
