package main

import (
	"context"
	"database/sql/driver"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/spf13/cobra"
	"github.com/xuri/excelize/v2"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
)

// benchETLOptions are what ckm bench etl's flags resolve to.
type benchETLOptions struct {
	app       *app
	customers int // checked with days: a world fixtures can generate
	days      int
	seed      int64
	dir       string
	keep      bool
}

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchETLCmd(a, nil) })
	registerCommand(func(a *app) *cobra.Command { return newRawLoadCmd(a, nil) })
}

// newBenchETLCmd builds ckm bench etl; runF, when not nil, runs instead of
// benchETLRun with the parsed options.
func newBenchETLCmd(a *app, runF func(context.Context, *benchETLOptions) error) *cobra.Command {
	opts := &benchETLOptions{app: a}
	cmd := &cobra.Command{
		Use:   "etl",
		Short: "Time ckm load against raw DuckDB reading the same exports",
		Long: `Generate an export set, then in the same run time (a) 'ckm load' of the set
into a fresh warehouse and (b) raw DuckDB reading the same files into tables
with no cleaning (read_csv/read_json with all_varchar; the GBK till files read
as latin-1 bytes, since DuckDB has no GBK decoder; the XLSX workbook read with
excelize and appended). Each side runs in its own process so its peak memory
is its own. ratio = a / b.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkWorld(opts.customers, opts.days); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchETLRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.customers, "customers", 220000, "persons in the generated world (220,000 ≈ 5 million sales lines a year)")
	f.IntVar(&opts.days, "days", 365, "days of sales")
	f.Int64Var(&opts.seed, "seed", 1, "generator seed")
	f.StringVar(&opts.dir, "dir", "", "work directory (default: a temporary one)")
	f.BoolVar(&opts.keep, "keep", false, "keep the work directory")
	return cmd
}

type benchSide struct {
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
}

type benchETLResult struct {
	Customers   int       `json:"customers"`
	Files       int       `json:"files"`
	Bytes       int64     `json:"bytes"`
	SourceRows  int64     `json:"source_rows"`
	SalesLines  int64     `json:"sales_lines"`
	GenerateSec float64   `json:"generate_seconds"`
	CKM         benchSide `json:"ckm_load"`
	RawDuckDB   benchSide `json:"raw_duckdb"`
	Ratio       float64   `json:"ratio"`
}

func benchETLRun(ctx context.Context, opts *benchETLOptions) error {
	a := opts.app
	dir := opts.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ckm-bench-etl-"); err != nil {
			return err
		}
	}
	if !opts.keep {
		defer os.RemoveAll(dir)
	}
	exports := filepath.Join(dir, "exports")
	t0 := time.Now()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: exports, Customers: opts.customers, Days: opts.days, Seed: opts.seed})
	if err != nil {
		return err
	}
	res := benchETLResult{Customers: opts.customers, GenerateSec: time.Since(t0).Seconds(), SalesLines: exp.FactSalesRows}
	for _, f := range exp.Files {
		res.Files++
		res.SourceRows += f.Rows
		res.Bytes += f.Bytes
	}
	a.logf("generated %d files, %d source rows (%d sales lines, %.0f MB) in %.1fs", res.Files, res.SourceRows, res.SalesLines,
		float64(res.Bytes)/1e6, res.GenerateSec)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	asOf := exp.ExportDate
	run := func(name string, args ...string) (benchSide, error) {
		wh := filepath.Join(dir, name+".duckdb")
		os.Remove(wh)
		cmd := exec.CommandContext(ctx, self, append([]string{"--warehouse", wh}, args...)...)
		cmd.Stderr = os.Stderr
		start := time.Now()
		err := cmd.Run()
		secs := time.Since(start).Seconds()
		if err != nil && cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == exitRejected {
			err = nil // a load with rejected rows (the planted faults) is a success here
		}
		if err != nil {
			return benchSide{}, fmt.Errorf("%s: %w", name, err)
		}
		side := benchSide{Seconds: secs, RowsPerSec: float64(res.SourceRows) / secs}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			side.PeakRSSMB = float64(ru.Maxrss) / 1024
		}
		a.logf("%-10s %.2fs  %.0f rows/s  peak %.0f MB", name, side.Seconds, side.RowsPerSec, side.PeakRSSMB)
		return side, nil
	}
	if res.CKM, err = run("ckm", "load", exports, "--as-of", asOf); err != nil {
		return err
	}
	if res.RawDuckDB, err = run("raw", "bench-raw-load", exports); err != nil {
		return err
	}
	res.Ratio = res.CKM.Seconds / res.RawDuckDB.Seconds
	if a.format() == formatJSON {
		return writeJSON(a, res)
	}
	return a.printTable([]string{"side", "seconds", "rows/s", "peak MB"}, [][]any{
		{"ckm load", fmt.Sprintf("%.2f", res.CKM.Seconds), fmt.Sprintf("%.0f", res.CKM.RowsPerSec), fmt.Sprintf("%.0f", res.CKM.PeakRSSMB)},
		{"raw DuckDB", fmt.Sprintf("%.2f", res.RawDuckDB.Seconds), fmt.Sprintf("%.0f", res.RawDuckDB.RowsPerSec), fmt.Sprintf("%.0f", res.RawDuckDB.PeakRSSMB)},
		{"ratio", fmt.Sprintf("%.2f", res.Ratio), "", ""},
	})
}

// rawLoadOptions are what ckm bench-raw-load resolves to.
type rawLoadOptions struct {
	app *app
	dir string // the exports
}

// newRawLoadCmd is the baseline side of `ckm bench etl`: raw DuckDB reading
// every export into a table, no cleaning. Hidden: it is a benchmark tool.
// runF, when not nil, runs instead of rawLoadRun with the parsed options.
func newRawLoadCmd(a *app, runF func(context.Context, *rawLoadOptions) error) *cobra.Command {
	opts := &rawLoadOptions{app: a}
	return &cobra.Command{
		Use:    "bench-raw-load DIR",
		Short:  "Baseline of ckm bench etl: read exports into tables with plain DuckDB",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.dir = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rawLoadRun(cmd.Context(), opts)
		},
	}
}

func rawLoadRun(ctx context.Context, opts *rawLoadOptions) error {
	w, err := engine.Open(ctx, opts.app.warehousePath(), engine.Options{NoMigrate: true})
	if err != nil {
		return err
	}
	defer w.Close()
	return rawLoad(ctx, w, opts.dir)
}

func rawLoad(ctx context.Context, w *engine.Warehouse, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for i, n := range names {
		path := filepath.Join(dir, n)
		table := fmt.Sprintf("raw_%d", i)
		var q string
		switch {
		case strings.HasPrefix(n, "pos_sales_"):
			q = fmt.Sprintf(`CREATE TABLE %s AS SELECT * FROM read_csv(%s, all_varchar = true, encoding = 'latin-1', strict_mode = false, null_padding = true)`, table, engine.QuoteString(path))
		case strings.HasSuffix(n, ".csv"):
			q = fmt.Sprintf(`CREATE TABLE %s AS SELECT * FROM read_csv(%s, all_varchar = true, strict_mode = false, null_padding = true)`, table, engine.QuoteString(path))
		case strings.HasSuffix(n, ".ndjson"):
			q = fmt.Sprintf(`CREATE TABLE %s AS SELECT * FROM read_json(%s, format = 'newline_delimited', ignore_errors = true)`, table, engine.QuoteString(path))
		case strings.HasSuffix(n, ".xlsx"):
			if err := rawXLSX(ctx, w, path, table); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			continue
		default:
			continue
		}
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	return nil
}

// rawXLSX appends a workbook's first sheet as VARCHAR columns.
func rawXLSX(ctx context.Context, w *engine.Warehouse, path, table string) error {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := f.Rows(f.GetSheetList()[0])
	if err != nil {
		return err
	}
	defer rows.Close()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var app *duckdb.Appender
	width := 0
	for rows.Next() {
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return err
		}
		if app == nil {
			width = len(cells)
			cols := make([]string, width)
			for i := range cols {
				cols[i] = fmt.Sprintf("c%d VARCHAR", i)
			}
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", table, strings.Join(cols, ", "))); err != nil {
				return err
			}
			a, err := engine.Appender(conn, table)
			if err != nil {
				return err
			}
			app = a
			continue
		}
		vals := make([]driver.Value, width)
		for i := range vals {
			if i < len(cells) {
				vals[i] = cells[i]
			}
		}
		if err := app.AppendRow(vals...); err != nil {
			return err
		}
	}
	if app != nil {
		return app.Close()
	}
	return nil
}
