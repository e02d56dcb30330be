package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(newMineProfitCmd) }

func newMineProfitCmd(a *app) *cobra.Command {
	var f mineFlags
	var o mining.ProfitOptions
	cmd := &cobra.Command{
		Use:   "profit",
		Short: "Per-customer profit (revenue − cost − returns − service cost), deciles and Pareto share",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMineLegacy(cmd, a, &f, func(ctx context.Context, w *engine.Warehouse, c mineCommon) (*mining.ProfitResult, error) {
				o.AsOf, o.Source, o.Name, o.DryRun = c.AsOf, c.Source, c.Name, c.DryRun
				return mining.Profit(ctx, w, o)
			}, func(res *mining.ProfitResult) error {
				a.logf("profit model %d as of %s: %d customers, profit %.2f (revenue %.2f, returns %.2f, cost %.2f, service %.2f); top 20%% earn %.1f%%",
					res.ModelID, res.AsOf, res.Customers, res.Profit, res.Revenue, res.Returns, res.Cost, res.ServiceCost, 100*res.Top20Share)
				rows := make([][]any, len(res.Deciles))
				for i, d := range res.Deciles {
					rows[i] = []any{d.Decile, d.Customers, round(d.Profit, 2), round(100*d.Share, 1), round(100*d.CumulativeShare, 1)}
				}
				return a.printTable([]string{"decile", "customers", "profit", "share_pct", "cumulative_pct"}, rows)
			})
		},
	}
	f.add(cmd, true)
	cmd.Flags().IntVar(&o.WindowDays, "window-days", 0, "only the last N days before --as-of (0: all history)")
	cmd.Flags().Float64Var(&o.ServiceCostPerInteraction, "service-cost", 0, "cost charged per fact_interaction contact")
	return cmd
}
