package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineRFMCmd(a, nil) }) }

// mineRFMOptions are what ckm mine rfm's flags resolve to.
type mineRFMOptions struct {
	app *app
	mining.RFMOptions
}

// newMineRFMCmd builds ckm mine rfm; runF, when not nil, runs instead of
// mineRFMRun with the parsed options.
func newMineRFMCmd(a *app, runF func(context.Context, *mineRFMOptions) error) *cobra.Command {
	opts := &mineRFMOptions{app: a}
	var f mineFlags
	cmd := &cobra.Command{
		Use:   "rfm",
		Short: "Recency, frequency, monetary scores and segments per customer",
		Long: "Computes RFM per customer from the purchases up to --as-of (within --window-days, returns netted),\n" +
			"quintile scores (ties share the lower score) and named segments, and writes them to kb_customer_score.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.resolve(cmd)
			if err != nil {
				return err
			}
			opts.AsOf, opts.Source, opts.Name, opts.DryRun = c.AsOf, c.Source, c.Name, c.DryRun
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineRFMRun(cmd.Context(), opts)
		},
	}
	f.add(cmd, false)
	cmd.Flags().IntVar(&opts.WindowDays, "window-days", 0, "only purchases in the last N days before --as-of (0: all history)")
	return cmd
}

func mineRFMRun(ctx context.Context, opts *mineRFMOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.RFMResult, error) {
		return mining.RFM(ctx, w, opts.RFMOptions)
	}, func(res *mining.RFMResult) error {
		a.logf("rfm model %d as of %s: %d customers", res.ModelID, res.AsOf, res.Customers)
		rows := make([][]any, len(res.Segments))
		for i, s := range res.Segments {
			rows[i] = []any{s.Segment, s.Customers, round(100*s.Share, 1), round(s.Monetary, 2)}
		}
		return a.printTable([]string{"segment", "customers", "share_pct", "monetary"}, rows)
	})
}
