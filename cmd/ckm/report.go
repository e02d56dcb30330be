package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/report"
)

func init() { registerCommand(func(a *app) *cobra.Command { return newReportCmd(a, nil) }) }

// reportOptions are what ckm report's flags resolve to.
type reportOptions struct {
	app  *app
	out  string    // checked: not empty
	asOf time.Time // zero: the last day with sales
}

// newReportCmd builds ckm report; runF, when not nil, runs instead of
// reportRun with the parsed options.
func newReportCmd(a *app, runF func(context.Context, *reportOptions) error) *cobra.Command {
	opts := &reportOptions{app: a}
	var asOf string
	cmd := &cobra.Command{
		Use:   "report --out FILE.html [--as-of DATE]",
		Short: "Write one HTML page of charts and tables for people",
		Long: `Write a self-contained HTML report (no script, nothing fetched: it opens
offline and can be mailed): revenue by month with the stored forecast,
revenue by region, the RFM grid, the Pareto curve of customer profit,
lifetime value and customers at churn risk, segments and cross-sell
rules, and data quality per load. Personal data is masked as for an
analyst. Sections without data say so and what to run.`,
		Example: `  ckm report --out report.html
  ckm report --out q3.html --as-of 2024-09-30`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.out == "" {
				return usageErrorf("--out: want the HTML file to write")
			}
			if asOf != "" {
				t, err := time.ParseInLocation(time.DateOnly, asOf, time.Local)
				if err != nil {
					return usageErrorf("--as-of %q: want a date YYYY-MM-DD", asOf)
				}
				opts.asOf = t
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return reportRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.out, "out", "o", "report.html", "the HTML file to write")
	cmd.Flags().StringVar(&asOf, "as-of", "", "last day the report covers (default: the last day with sales)")
	return cmd
}

func reportRun(ctx context.Context, opts *reportOptions) error {
	a := opts.app
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	if err := report.WriteFile(ctx, w, opts.out, report.Options{AsOf: opts.asOf}); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, opts.out)
	return nil
}
