package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/report"
)

// demoSection adds a part to `ckm demo` after the load: it prints a
// titled result and returns it for --format json.
type demoSection struct {
	Order int
	Title string
	Run   func(ctx context.Context, a *app, w *engine.Warehouse) (header []string, rows [][]any, err error)
}

var demoSections []demoSection

// registerDemoSection lets the OLAP and mining commands add their part of
// the demo from their own files.
func registerDemoSection(s demoSection) { demoSections = append(demoSections, s) }

// demoOptions are what ckm demo's flags resolve to.
type demoOptions struct {
	app       *app
	dir       string // checked: not empty
	customers int    // checked: 1 to fixtures.MaxCustomers
	seed      int64
}

func init() { registerCommand(func(a *app) *cobra.Command { return newDemoCmd(a, nil) }) }

// newDemoCmd builds ckm demo; runF, when not nil, runs instead of demoRun
// with the parsed options.
func newDemoCmd(a *app, runF func(context.Context, *demoOptions) error) *cobra.Command {
	opts := &demoOptions{app: a}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate a retailer's dirty exports, load them, and show what ckm finds",
		Long: `Generate the exports of a fictional Chinese retailer (CRM workbook, GBK till
files, web orders, call centre, campaigns) into --dir, load them into the
warehouse (default ./ckm.duckdb) and print what ckm found: rows per table,
rejected rows by reason, customers unified across channels, checked against
the generator's ground truth. Running it again reuses what is loaded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.dir == "" {
				return usageErrorf("--dir: want a work directory")
			}
			if err := checkCustomers(opts.customers); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return demoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.dir, "dir", "ckm-demo", "work directory for the generated exports")
	cmd.Flags().IntVar(&opts.customers, "customers", 2000, "persons in the generated world")
	cmd.Flags().Int64Var(&opts.seed, "seed", 1, "random seed of the generator")
	return cmd
}

type demoResult struct {
	Title  string           `json:"title"`
	Header []string         `json:"header"`
	Rows   []map[string]any `json:"rows"`
}

func demoRun(ctx context.Context, opts *demoOptions) error {
	a := opts.app
	exportDir := filepath.Join(opts.dir, "exports")
	if err := os.MkdirAll(exportDir, 0o755); err != nil {
		return err
	}
	t0 := time.Now()
	exp, err := fixtures.Generate(ctx, demoFixtures(exportDir, opts.customers, opts.seed))
	if err != nil {
		return err
	}
	a.logf("generated %d export files for %d people into %s in %s", len(exp.Files)+1, opts.customers, exportDir, time.Since(t0).Round(time.Millisecond))
	w, err := a.createWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	asOf, _ := time.ParseInLocation(time.DateOnly, exp.ExportDate, time.Local)
	lo, err := a.loadOptions(asOf.Add(24*time.Hour - time.Second))
	if err != nil {
		return err
	}
	// The demo runs protected like every warehouse of the CLI: its key is
	// the one given, or a default key file (ckm init).
	var keyAt string
	if lo.Vault, keyAt, err = a.loadVault(ctx, w); err != nil {
		return err
	}
	a.logf("warehouse %s keeps personal data encrypted; its key is in %s", w.Path, keyAt)
	rep, err := etl.Load(ctx, w, []string{exportDir}, lo)
	switch {
	case errors.Is(err, etl.ErrNothingToLoad):
		a.logf("the exports are loaded already (warehouse %s)", w.Path)
	case err != nil:
		return err
	default:
		a.logf("loaded run %d into %s: %d rows read, %d loaded, %d rejected, %d duplicates in %s",
			rep.RunID, w.Path, rep.Read, rep.Loaded, rep.Rejected, rep.Duplicates, rep.Elapsed.Round(time.Millisecond))
		a.warnAfterCommit(rep)
	}
	sections := append([]demoSection{
		{Order: 10, Title: "Rows per table", Run: demoTableRows},
		{Order: 20, Title: "Rejected and flagged rows by reason", Run: demoRejects},
		{Order: 30, Title: "Customers unified across channels", Run: demoChannels},
		{Order: 40, Title: "Checked against the generator's ground truth", Run: func(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
			return demoTruth(ctx, w, exp)
		}},
	}, demoSections...)
	sortSections(sections)
	var results []demoResult
	for _, s := range sections {
		header, rows, err := s.Run(ctx, a, w)
		if err != nil {
			return fmt.Errorf("demo %s: %w", s.Title, err)
		}
		if a.format() == formatJSON {
			r := demoResult{Title: s.Title, Header: header}
			for _, row := range rows {
				m := map[string]any{}
				for i, h := range header {
					m[h] = row[i]
				}
				r.Rows = append(r.Rows, m)
			}
			results = append(results, r)
			continue
		}
		fmt.Fprintf(a.stdout, "\n== %s ==\n", s.Title)
		if err := a.printTable(header, rows); err != nil {
			return err
		}
	}
	// The same findings as one HTML page of charts (ckm report).
	reportPath := filepath.Join(opts.dir, "report.html")
	if err := report.WriteFile(ctx, w, reportPath, report.Options{}); err != nil {
		return fmt.Errorf("demo report: %w", err)
	}
	if a.format() == formatJSON {
		a.logf("report: %s", reportPath)
		return writeJSON(a, results)
	}
	fmt.Fprintf(a.stdout, "\n== Report: charts and tables in one HTML file (ckm report) ==\n%s\n", reportPath)
	return nil
}

func sortSections(s []demoSection) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Order < s[j-1].Order; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func demoQuery(ctx context.Context, w *engine.Warehouse, q string, args ...any) ([]string, [][]any, error) {
	rows, err := w.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	return scanAll(rows)
}

// demoTableRows counts the rows of every dimension, fact and ledger table
// (exactly: duckdb_tables' estimated_size is an estimate).
func demoTableRows(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	_, names, err := demoQuery(ctx, w, `SELECT table_name FROM duckdb_tables()
		WHERE NOT temporary AND (table_name LIKE 'dim\_%' ESCAPE '\' OR table_name LIKE 'fact\_%' ESCAPE '\' OR table_name LIKE 'etl\_%' ESCAPE '\')
		ORDER BY CASE WHEN table_name LIKE 'fact%' THEN 0 WHEN table_name LIKE 'dim%' THEN 1 ELSE 2 END, table_name`)
	if err != nil {
		return nil, nil, err
	}
	counts := make([]string, len(names))
	for i, n := range names {
		name := n[0].(string)
		counts[i] = fmt.Sprintf("SELECT %d AS i, %s AS \"table\", count(*) AS rows FROM %s", i, engine.QuoteString(name), engine.QuoteIdent(name))
	}
	header, rows, err := demoQuery(ctx, w, "SELECT \"table\", rows FROM ("+strings.Join(counts, " UNION ALL ")+") ORDER BY i")
	return header, rows, err
}

func demoRejects(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	return demoQuery(ctx, w, `SELECT rule, severity, count(*) AS rows,
			string_agg(DISTINCT regexp_extract(path, '[^/]+$'), ', ' ORDER BY regexp_extract(path, '[^/]+$')) AS files
		FROM etl_reject GROUP BY rule, severity ORDER BY severity, rows DESC, rule`)
}

func demoChannels(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	return demoQuery(ctx, w, `SELECT source_systems AS seen_in, count(*) AS customers,
			count(*) FILTER (WHERE id_number IS NOT NULL) AS with_id_number,
			count(*) FILTER (WHERE mobile IS NOT NULL) AS with_mobile
		FROM dim_customer WHERE is_current AND customer_id > 0 GROUP BY ALL ORDER BY customers DESC`)
}

func demoTruth(ctx context.Context, w *engine.Warehouse, exp *fixtures.Expected) ([]string, [][]any, error) {
	var customers, lines int64
	var revenue, planted string
	err := w.DB.QueryRowContext(ctx, `SELECT
			(SELECT count(DISTINCT customer_id) FROM dim_customer WHERE customer_id > 0),
			(SELECT count(*) FROM fact_sales),
			(SELECT CAST(sum(amount) AS VARCHAR) FROM fact_sales),
			(SELECT CAST(count(DISTINCT path || ':' || line) AS VARCHAR) FROM etl_reject WHERE severity = 'error')`).
		Scan(&customers, &lines, &revenue, &planted)
	if err != nil {
		return nil, nil, err
	}
	var rejected int64
	for _, f := range exp.Files {
		rejected += f.Rejected
	}
	check := func(got, want any) string {
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return "ok"
		}
		return "DIFFERS"
	}
	return []string{"figure", "warehouse", "ground truth", "check"}, [][]any{
		{"distinct customers", customers, exp.DistinctCustomers, check(customers, exp.DistinctCustomers)},
		{"sales lines", lines, exp.FactSalesRows, check(lines, exp.FactSalesRows)},
		{"net revenue", revenue, exp.NetRevenue, check(revenue, exp.NetRevenue)},
		{"rejected rows", planted, rejected, check(planted, rejected)},
	}, nil
}
