package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/export"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
)

func init() { registerBenchCommand(func(a *app) *cobra.Command { return newBenchExportCmd(a, nil) }) }

// benchExportOptions are what ckm bench export's flags resolve to.
type benchExportOptions struct {
	app   *app
	lines int64 // checked: at least 1000
	dir   string
	runs  int    // checked: at least 1
	build string // sql | load
	reuse bool   // checked: only with dir
}

func newBenchExportCmd(a *app, runF func(context.Context, *benchExportOptions) error) *cobra.Command {
	o := &benchExportOptions{app: a}
	cmd := &cobra.Command{
		Use:   "export [--lines N] [--build sql|load] [--runs 3] [--bench-dir DIR [--reuse]]",
		Short: "Time ckm export lake (full and after a one-day load) against DuckDB's own Parquet COPY",
		Long: `Build a warehouse of about N sales lines over 36 months, then, in each of
--runs runs (each on a copy of that warehouse):
  raw_copy_ms     DuckDB COPY … (FORMAT parquet) of every lake table with the
                  same masked columns, ZSTD, row-group size and year/month
                  partitioning (no Iceberg metadata);
  full_export_ms  ckm export lake --full into a new lake (the two alternate
                  which goes first);
  export_ratio    full_export_ms / raw_copy_ms of the run (goal ≤ 1.2);
                  raw_tables_ms and full_tables_ms give each table's part
                  (a full export links fact_sales' files for the months
                  where fact_sales_current keeps every line; the raw side
                  copies both tables);
then load one more day and time an incremental export of that lake:
incremental_ratio = incremental_ms / full_export_ms of the run (goal < 0.10),
with the partitions it rewrote. Each figure is the median over the runs;
the per-run figures and the load average are printed beside them.

--build sql (default) writes the warehouse directly with SQL (customers
N/50, products 1,000), unprotected, and the day as N/1000 lines.
--build load generates source exports (ckm fixtures generate: about N lines
over 2023-01-01..2026-01-01) and loads all but the last day with ckm load
into a protected warehouse (personal data as tokens, masked for the
analyst export), and the last day with a second ckm load.

--bench-dir DIR keeps the warehouse and lakes in DIR; with --reuse, a
warehouse an earlier run built there with the same --build and --lines
(recorded in DIR/bench-export.json) is used again instead of building one,
so a slow --build load at 5 M lines is paid once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.lines < 1000 {
				return usageErrorf("--lines %d: want at least 1000", o.lines)
			}
			if o.runs < 1 {
				return usageErrorf("--runs %d: want at least 1", o.runs)
			}
			if o.build != "sql" && o.build != "load" {
				return usageErrorf("--build %q: want sql or load", o.build)
			}
			if o.reuse && o.dir == "" {
				return usageErrorf("--reuse needs --bench-dir: the directory holding the warehouse to use again")
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return benchExportRun(cmd.Context(), o)
		},
	}
	cmd.Flags().Int64Var(&o.lines, "lines", 5_000_000, "sales lines in the bench warehouse (about, with --build load)")
	cmd.Flags().IntVar(&o.runs, "runs", 3, "runs, each on a fresh copy of the warehouse; medians are reported")
	cmd.Flags().StringVar(&o.build, "build", "sql", "how the warehouse is built: sql (direct, unprotected) or load (ckm load of generated exports, protected)")
	cmd.Flags().StringVar(&o.dir, "bench-dir", "", "directory for the warehouse and lakes (default: a temporary one, removed)")
	cmd.Flags().BoolVar(&o.reuse, "reuse", false, "use the warehouse an earlier run built in --bench-dir (same --build and --lines) instead of building one")
	return cmd
}

type benchExportResult struct {
	Build            string  `json:"build"`
	Protected        bool    `json:"protected"`
	Lines            int64   `json:"lines"`
	Runs             int     `json:"runs"`
	BuildMS          float64 `json:"build_ms"`
	Reused           bool    `json:"reused"` // the warehouse of an earlier run (--reuse): build_ms 0
	RawCopyMS        float64 `json:"raw_copy_ms"`
	FullExportMS     float64 `json:"full_export_ms"`
	ExportRatio      float64 `json:"export_ratio"`
	DayLines         int64   `json:"day_lines"`
	IncrementalMS    float64 `json:"incremental_ms"`
	IncrementalRatio float64 `json:"incremental_ratio"`
	// Medians of the per-run CPU times and CPU-time ratios.
	RawCopyCPU          float64                  `json:"raw_copy_cpu_seconds"`
	FullExportCPU       float64                  `json:"full_export_cpu_seconds"`
	IncrementalCPU      float64                  `json:"incremental_cpu_seconds"`
	ExportCPURatio      float64                  `json:"export_cpu_ratio"`
	IncrementalCPURatio float64                  `json:"incremental_cpu_ratio"`
	PerRun              []benchExportRunResult   `json:"per_run"`
	FactPartitions      []string                 `json:"fact_sales_partitions_rewritten"`
	TablesRewritten     []string                 `json:"tables_rewritten"`
	Incremental         []export.LakeTableResult `json:"incremental_tables"`
	// The median run's incremental export: prepare, tables, commit, tidy
	// (and tidy.*), and storage_warm_done: when, from its start, the
	// fact tables' storage warm-up had finished (LakeResult.StorageWarmMS),
	// and side_done: when the tables read on a second connection were
	// (IncrementalSide; LakeResult.SideTables).
	IncrementalPhases map[string]float64 `json:"incremental_phases_ms"`
	IncrementalSide   []string           `json:"incremental_side_tables"`
	// The median run's incremental export: the fact tables' DuckDB row
	// groups hashed again and those whose kept hashes it used.
	RowGroupsHashed   int    `json:"incremental_row_groups_hashed"`
	RowGroupsKept     int    `json:"incremental_row_groups_kept"`
	LakeBytes         int64  `json:"lake_bytes"`
	RawBytes          int64  `json:"raw_bytes"`
	LoadAverageBefore string `json:"loadavg_before"`
	LoadAverageAfter  string `json:"loadavg_after"`
}

// benchExportRunResult is one run's figures; the ratios are of the run.
type benchExportRunResult struct {
	RawCopyMS        float64 `json:"raw_copy_ms"`
	FullExportMS     float64 `json:"full_export_ms"`
	ExportRatio      float64 `json:"export_ratio"`
	IncrementalMS    float64 `json:"incremental_ms"`
	IncrementalRatio float64 `json:"incremental_ratio"`
	LoadAverage      string  `json:"loadavg"`
	// This process's CPU time (user + system, DuckDB's threads included)
	// of each part, and the ratios by CPU time: steadier than wall time on
	// a shared machine.
	RawCopyCPU          float64 `json:"raw_copy_cpu_seconds"`
	FullExportCPU       float64 `json:"full_export_cpu_seconds"`
	IncrementalCPU      float64 `json:"incremental_cpu_seconds"`
	ExportCPURatio      float64 `json:"export_cpu_ratio"`
	IncrementalCPURatio float64 `json:"incremental_cpu_ratio"`
	// Where the full export's time went (tables, commit, tidy).
	FullPhases map[string]float64 `json:"full_phases_ms"`
	// Each table's milliseconds: the raw side's COPY, and the full
	// export's check and write (a table whose partitions are linked to
	// another's files, as fact_sales_current's to fact_sales', writes
	// little).
	RawTablesMS  map[string]float64 `json:"raw_tables_ms"`
	FullTablesMS map[string]float64 `json:"full_tables_ms"`
	inc          *export.LakeResult
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
	res := benchExportResult{Build: o.build, Protected: o.build == "load", Lines: o.lines, Runs: o.runs, LoadAverageBefore: loadAverages()}
	start := time.Now()
	base := filepath.Join(dir, "base.duckdb")
	built, err := reusableExportBench(dir, o)
	if err != nil {
		return err
	}
	res.Reused = built != nil
	if built == nil {
		for _, p := range []string{base, base + ".wal", filepath.Join(dir, benchExportRecord), filepath.Join(dir, "exports"), filepath.Join(dir, "split"), filepath.Join(dir, "keys")} {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
		built = &benchExportBuilt{Build: o.build, Lines: o.lines}
		switch o.build {
		case "sql":
			w, err := engine.Open(ctx, base, a.engineOptions())
			if err != nil {
				return err
			}
			err = buildExportBench(ctx, w, o.lines)
			w.Close()
			if err != nil {
				return fmt.Errorf("bench export: building the warehouse: %w", err)
			}
			built.Loaded = o.lines
		default:
			if err := buildExportBenchByLoad(ctx, a, dir, base, o.lines, built); err != nil {
				return fmt.Errorf("bench export: building the warehouse: %w", err)
			}
		}
		b, _ := json.MarshalIndent(built, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, benchExportRecord), b, 0o644); err != nil {
			return err
		}
	}
	res.Lines, res.Protected = built.Loaded, built.Protected
	var day func(ctx context.Context, wh string, run int) error
	switch o.build {
	case "sql":
		res.DayLines = max(o.lines/1000, 1)
		day = func(ctx context.Context, wh string, run int) error {
			w, err := engine.Open(ctx, wh, a.engineOptions())
			if err != nil {
				return err
			}
			defer w.Close()
			return benchExportDay(ctx, w, o.lines, res.DayLines, run)
		}
	default:
		b, err := newBenchChildren(a, dir, 1)
		if err != nil {
			return err
		}
		day = func(ctx context.Context, wh string, _ int) error {
			if _, _, err := b.child(wh, []string{"load", built.DayDir, "--as-of", built.AsOf}); err != nil {
				return fmt.Errorf("ckm load: %w", err)
			}
			w, err := engine.Open(ctx, wh, a.engineOptions())
			if err != nil {
				return err
			}
			defer w.Close()
			return w.DB.QueryRowContext(ctx, `SELECT count(*) FROM fact_sales WHERE date_key = 20260101`).Scan(&res.DayLines)
		}
	}
	if res.Reused {
		a.logf("reusing the warehouse built in %s (%d lines)", dir, res.Lines)
	}
	if !res.Reused {
		res.BuildMS = ms(time.Since(start))
	}
	analyst := privacy.Principal{User: "bench", Role: privacy.Analyst}

	lake := filepath.Join(dir, "lake")
	for i := 0; i < o.runs; i++ {
		wh := filepath.Join(dir, "run.duckdb")
		if err := copyWarehouse(base, wh); err != nil {
			return err
		}
		r := benchExportRunResult{LoadAverage: loadAverages()}
		w, err := engine.Open(ctx, wh, a.engineOptions())
		if err != nil {
			return err
		}
		raw := func() error {
			os.RemoveAll(filepath.Join(dir, "raw"))
			start, cpu := time.Now(), processCPU()
			br, err := export.LakeBaseline(ctx, w, filepath.Join(dir, "raw"), analyst)
			if err != nil {
				return fmt.Errorf("bench export: raw copy: %w", err)
			}
			r.RawCopyMS, r.RawCopyCPU = ms(time.Since(start)), processCPU()-cpu
			r.RawTablesMS = br.TablesMS
			return nil
		}
		full := func() error {
			os.RemoveAll(lake)
			start, cpu := time.Now(), processCPU()
			fr, err := export.Lake(ctx, w, export.LakeOptions{Dir: lake, Principal: analyst, Full: true})
			if err != nil {
				return fmt.Errorf("bench export: %w", err)
			}
			r.FullExportMS, r.FullExportCPU = ms(time.Since(start)), processCPU()-cpu
			r.FullPhases = map[string]float64{"tables": fr.TablesMS, "commit": fr.CommitMS, "tidy": fr.TidyMS}
			r.FullTablesMS = map[string]float64{}
			for _, t := range fr.Tables {
				r.FullTablesMS[t.Name] = t.CheckMS + t.WriteMS
			}
			return nil
		}
		first, second := raw, full
		if i%2 == 1 {
			first, second = full, raw
		}
		err = first()
		if err == nil {
			err = second()
		}
		w.Close()
		if err != nil {
			return err
		}
		if err := day(ctx, wh, i); err != nil {
			return fmt.Errorf("bench export: one-day load: %w", err)
		}
		if w, err = engine.Open(ctx, wh, a.engineOptions()); err != nil {
			return err
		}
		start, cpu := time.Now(), processCPU()
		r.inc, err = export.Lake(ctx, w, export.LakeOptions{Dir: lake, Principal: analyst})
		r.IncrementalMS, r.IncrementalCPU = ms(time.Since(start)), processCPU()-cpu
		w.Close()
		if err != nil {
			return fmt.Errorf("bench export: incremental: %w", err)
		}
		r.ExportRatio, r.IncrementalRatio = r.FullExportMS/r.RawCopyMS, r.IncrementalMS/r.FullExportMS
		r.ExportCPURatio, r.IncrementalCPURatio = r.FullExportCPU/r.RawCopyCPU, r.IncrementalCPU/r.FullExportCPU
		a.logf("run %d: raw %.0f ms, full %.0f ms (ratio %.3f), incremental %.0f ms (ratio %.3f); cpu raw %.2f s, full %.2f s (%.3f), incremental %.2f s (%.3f); load average %s", i+1,
			r.RawCopyMS, r.FullExportMS, r.ExportRatio, r.IncrementalMS, r.IncrementalRatio,
			r.RawCopyCPU, r.FullExportCPU, r.ExportCPURatio, r.IncrementalCPU, r.IncrementalCPURatio, r.LoadAverage)
		res.PerRun = append(res.PerRun, r)
	}
	med := func(f func(r benchExportRunResult) float64) (float64, int) {
		idx := make([]int, len(res.PerRun))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(x, y int) int { return cmp.Compare(f(res.PerRun[x]), f(res.PerRun[y])) })
		m := idx[len(idx)/2]
		return f(res.PerRun[m]), m
	}
	res.RawCopyMS, _ = med(func(r benchExportRunResult) float64 { return r.RawCopyMS })
	res.FullExportMS, _ = med(func(r benchExportRunResult) float64 { return r.FullExportMS })
	res.ExportRatio, _ = med(func(r benchExportRunResult) float64 { return r.ExportRatio })
	res.IncrementalMS, _ = med(func(r benchExportRunResult) float64 { return r.IncrementalMS })
	res.RawCopyCPU, _ = med(func(r benchExportRunResult) float64 { return r.RawCopyCPU })
	res.FullExportCPU, _ = med(func(r benchExportRunResult) float64 { return r.FullExportCPU })
	res.IncrementalCPU, _ = med(func(r benchExportRunResult) float64 { return r.IncrementalCPU })
	res.ExportCPURatio, _ = med(func(r benchExportRunResult) float64 { return r.ExportCPURatio })
	res.IncrementalCPURatio, _ = med(func(r benchExportRunResult) float64 { return r.IncrementalCPURatio })
	var m int
	res.IncrementalRatio, m = med(func(r benchExportRunResult) float64 { return r.IncrementalRatio })
	inc := res.PerRun[m].inc // the median run's incremental export
	res.LakeBytes, res.RawBytes = dirBytes(filepath.Join(lake, export.LakeNamespace), "data"), dirBytes(filepath.Join(dir, "raw"), "")
	res.Incremental = inc.Tables
	res.IncrementalPhases = map[string]float64{"prepare": inc.PrepareMS, "tables": inc.TablesMS, "commit": inc.CommitMS, "tidy": inc.TidyMS,
		"storage_warm_done": inc.StorageWarmMS, "side_done": inc.SideMS}
	res.IncrementalSide = inc.SideTables
	res.RowGroupsHashed, res.RowGroupsKept = inc.GroupsHashed, inc.GroupsKept
	for k, v := range inc.TidyParts {
		res.IncrementalPhases["tidy."+k] = v
	}
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
	perRun := func(f func(r benchExportRunResult) string) string {
		var out []string
		for _, r := range res.PerRun {
			out = append(out, f(r))
		}
		return strings.Join(out, " / ")
	}
	return a.printTable([]string{"measure", "value"}, [][]any{
		{"build", fmt.Sprintf("%s (protected: %v)", res.Build, res.Protected)},
		{"lines", res.Lines},
		{"raw_copy_ms (median)", res.RawCopyMS},
		{"full_export_ms (median)", res.FullExportMS},
		{"export_ratio (goal <= 1.2; median)", fmt.Sprintf("%.3f", res.ExportRatio)},
		{"export_ratio per run", perRun(func(r benchExportRunResult) string { return fmt.Sprintf("%.3f", r.ExportRatio) })},
		{"day_lines", res.DayLines},
		{"incremental_ms (median)", res.IncrementalMS},
		{"incremental_ratio (goal < 0.10; median)", fmt.Sprintf("%.3f", res.IncrementalRatio)},
		{"incremental_ratio per run", perRun(func(r benchExportRunResult) string { return fmt.Sprintf("%.3f", r.IncrementalRatio) })},
		{"cpu seconds raw / full / incremental (median)", fmt.Sprintf("%.2f / %.2f / %.2f", res.RawCopyCPU, res.FullExportCPU, res.IncrementalCPU)},
		{"export_cpu_ratio per run", perRun(func(r benchExportRunResult) string { return fmt.Sprintf("%.3f", r.ExportCPURatio) })},
		{"incremental_cpu_ratio per run", perRun(func(r benchExportRunResult) string { return fmt.Sprintf("%.3f", r.IncrementalCPURatio) })},
		{"fact_sales partitions rewritten", strings.Join(res.FactPartitions, ",")},
		{"fact row groups hashed / kept (incremental)", fmt.Sprintf("%d / %d", res.RowGroupsHashed, res.RowGroupsKept)},
		{"tables rewritten", strings.Join(res.TablesRewritten, ",")},
		{"lake data bytes / raw bytes", fmt.Sprintf("%d / %d", res.LakeBytes, res.RawBytes)},
		{"load average before / per run / after", res.LoadAverageBefore + " / " + perRun(func(r benchExportRunResult) string { return r.LoadAverage }) + " / " + res.LoadAverageAfter},
	})
}

// copyWarehouse copies a closed warehouse file (and its WAL, if any).
func copyWarehouse(from, to string) error {
	for _, sfx := range []string{"", ".wal"} {
		os.Remove(to + sfx)
		if _, err := os.Stat(from + sfx); errors.Is(err, os.ErrNotExist) && sfx != "" {
			continue
		}
		if err := copyFile(from+sfx, to+sfx); err != nil {
			return err
		}
	}
	return nil
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
func benchExportDay(ctx context.Context, w *engine.Warehouse, lines, day int64, _ int) error {
	_, err := w.DB.ExecContext(ctx, fmt.Sprintf(`INSERT INTO etl_run (run_id, started_at, finished_at, status, rows_read, rows_loaded)
			VALUES (37, TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01', 'committed', %[1]d, %[1]d);
		INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, cost_amount, is_return, etl_run_id, source_line)
			SELECT 'D' || i, 1, 20251231, TIMESTAMP '2025-12-31 10:00:00', CAST(1 + i %% 1000 AS INTEGER), 100001 + i %% 1000, CAST(1 + i %% 1000 AS INTEGER), 1,
			       1, 99.00, 99.00, 50.00, false, 37, %[2]d + i
			FROM range(0, %[1]d) t(i)`, day, lines))
	return err
}

// benchLoadCut is the last day of the --build load world: its sales are
// the one-day load.
const benchLoadCut = "2026-01-01"

// benchExportRecord, in --bench-dir, describes the warehouse built there.
const benchExportRecord = "bench-export.json"

// benchExportBuilt is what a run built in --bench-dir, for --reuse.
type benchExportBuilt struct {
	Build     string `json:"build"`
	Lines     int64  `json:"lines"`        // as asked (--lines)
	Loaded    int64  `json:"loaded_lines"` // fact_sales rows of the warehouse
	Protected bool   `json:"protected"`
	DayDir    string `json:"day_dir,omitempty"` // --build load: the last day's exports
	AsOf      string `json:"as_of,omitempty"`   // and ckm load's --as-of for them
}

// reusableExportBench returns what an earlier run built in dir when
// --reuse asks for it and it matches --build and --lines (nil: build).
func reusableExportBench(dir string, o *benchExportOptions) (*benchExportBuilt, error) {
	if !o.reuse {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, benchExportRecord))
	if errors.Is(err, os.ErrNotExist) {
		o.app.logf("--reuse: %s has no warehouse built yet: building one", dir)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var built benchExportBuilt
	if err := json.Unmarshal(b, &built); err != nil {
		return nil, fmt.Errorf("--reuse: %s: %w", filepath.Join(dir, benchExportRecord), err)
	}
	if built.Build != o.build || built.Lines != o.lines {
		return nil, usageErrorf("--reuse: %s holds a warehouse of --build %s --lines %d, not --build %s --lines %d (another --bench-dir, or drop --reuse to rebuild)",
			dir, built.Build, built.Lines, o.build, o.lines)
	}
	if _, err := os.Stat(filepath.Join(dir, "base.duckdb")); err != nil {
		return nil, fmt.Errorf("--reuse: %w", err)
	}
	return &built, nil
}

// buildExportBenchByLoad generates source exports of about lines sales
// lines from 2023-01-01 to benchLoadCut, cuts them at that day (contacts
// and campaign responses stay with the first load) and loads the first
// part with ckm load (a child process, so the warehouse is protected as
// every CLI warehouse) into base. built gets the one-day load: the last
// day's exports and their --as-of.
func buildExportBenchByLoad(ctx context.Context, a *app, dir, base string, lines int64, built *benchExportBuilt) error {
	exports := filepath.Join(dir, "exports")
	// About 66 sales lines per customer over the three years (measured:
	// 2,000 customers over 1,097 days give 131,898 lines).
	customers := max(int(lines/66), 100)
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: exports, Customers: customers, Days: 1097, Seed: 1, Start: start})
	if err != nil {
		return err
	}
	a.logf("generated %d sales lines for %d customers", exp.FactSalesRows, customers)
	split, err := splitWorld(exports, filepath.Join(dir, "split"), benchLoadCut, nil)
	if err != nil {
		return err
	}
	for _, name := range []string{"callcenter_contacts.csv", "campaign_responses.csv"} {
		if err := os.Rename(filepath.Join(split.dirs[1], name), filepath.Join(split.dirs[0], name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	b, err := newBenchChildren(a, dir, 1)
	if err != nil {
		return err
	}
	if _, _, err := b.child(base, []string{"load", split.dirs[0], "--as-of", "2025-12-31"}); err != nil {
		return fmt.Errorf("ckm load: %w", err)
	}
	w, err := engine.Open(ctx, base, a.engineOptions())
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM fact_sales`).Scan(&built.Loaded); err != nil {
		return err
	}
	if built.Protected, err = vault.Protected(ctx, w.DB); err != nil {
		return err
	}
	built.DayDir, built.AsOf = split.dirs[1], exp.ExportDate
	return nil
}
