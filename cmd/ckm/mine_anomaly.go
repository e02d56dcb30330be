package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineAnomalyCmd(a, nil) }) }

// mineAnomalyOptions are what ckm mine anomaly's flags resolve to.
type mineAnomalyOptions struct {
	app *app
	mining.AnomalyOptions
}

// newMineAnomalyCmd builds ckm mine anomaly; runF, when not nil, runs instead of
// mineAnomalyRun with the parsed options.
func newMineAnomalyCmd(a *app, runF func(context.Context, *mineAnomalyOptions) error) *cobra.Command {
	opts := &mineAnomalyOptions{app: a}
	o := &opts.AnomalyOptions
	var f mineFlags
	cmd := &cobra.Command{
		Use:   "anomaly",
		Short: "Customers whose last-period purchases deviate from their own history (robust z, jumps)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.resolve(cmd)
			if err != nil {
				return err
			}
			o.AsOf, o.Source, o.Name, o.DryRun = c.AsOf, c.Source, c.Name, c.DryRun
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineAnomalyRun(cmd.Context(), opts)
		},
	}
	f.add(cmd, false)
	fl := cmd.Flags()
	fl.IntVar(&o.PeriodDays, "period-days", 30, "length of the compared periods")
	fl.IntVar(&o.HistoryPeriods, "history", 12, "periods of own history")
	fl.IntVar(&o.MinHistory, "min-history", 4, "fewest history periods to judge a customer")
	fl.Float64Var(&o.ZThreshold, "z", 3.5, "robust z-score threshold")
	fl.Float64Var(&o.JumpFactor, "jump", 3, "period-over-period factor threshold")
	fl.Float64Var(&o.MinChange, "min-change", 0, "ignore changes smaller than this amount")
	fl.Float64Var(&o.MinRelativeChange, "min-relative-change", 0.25, "ignore z deviations smaller than this share of the median")
	return cmd
}

func mineAnomalyRun(ctx context.Context, opts *mineAnomalyOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.AnomalyResult, error) {
		return mining.Anomaly(ctx, w, opts.AnomalyOptions)
	}, func(res *mining.AnomalyResult) error {
		a.logf("anomaly model %d as of %s: %d of %d customers flagged", res.ModelID, res.AsOf, len(res.Flagged), res.Examined)
		rows := make([][]any, len(res.Flagged))
		for i, d := range res.Flagged {
			var z any
			if d.RobustZ != nil {
				z = round(*d.RobustZ, 2)
			}
			rows[i] = []any{d.CustomerID, round(d.Current, 2), round(d.Previous, 2), round(d.Median, 2), z, d.Reason}
		}
		return a.printTable([]string{"customer_id", "current", "previous", "median", "robust_z", "reason"}, rows)
	})
}
