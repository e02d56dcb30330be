package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineProfitCmd(a, nil) }) }

// mineProfitOptions are what ckm mine profit's flags resolve to.
type mineProfitOptions struct {
	app *app
	mining.ProfitOptions
}

// newMineProfitCmd builds ckm mine profit; runF, when not nil, runs instead of
// mineProfitRun with the parsed options.
func newMineProfitCmd(a *app, runF func(context.Context, *mineProfitOptions) error) *cobra.Command {
	opts := &mineProfitOptions{app: a}
	o := &opts.ProfitOptions
	var f mineFlags
	cmd := &cobra.Command{
		Use:   "profit",
		Short: "Per-customer profit (revenue − cost − returns − service cost), deciles and Pareto share",
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
			return mineProfitRun(cmd.Context(), opts)
		},
	}
	f.add(cmd, true)
	cmd.Flags().IntVar(&o.WindowDays, "window-days", 0, "only the last N days before --as-of (0: all history)")
	cmd.Flags().Float64Var(&o.ServiceCostPerInteraction, "service-cost", 0, "cost charged per fact_interaction contact")
	return cmd
}

func mineProfitRun(ctx context.Context, opts *mineProfitOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.ProfitResult, error) {
		return mining.Profit(ctx, w, opts.ProfitOptions)
	}, func(res *mining.ProfitResult) error {
		a.logf("profit model %d as of %s: %d customers, profit %.2f (revenue %.2f, returns %.2f, cost %.2f, service %.2f); top 20%% earn %.1f%%",
			res.ModelID, res.AsOf, res.Customers, res.Profit, res.Revenue, res.Returns, res.Cost, res.ServiceCost, 100*res.Top20Share)
		rows := make([][]any, len(res.Deciles))
		for i, d := range res.Deciles {
			rows[i] = []any{d.Decile, d.Customers, round(d.Profit, 2), round(100*d.Share, 1), round(100*d.CumulativeShare, 1)}
		}
		return a.printTable([]string{"decile", "customers", "profit", "share_pct", "cumulative_pct"}, rows)
	})
}
