package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(newMineLifecycleCmd) }

func newMineLifecycleCmd(a *app) *cobra.Command {
	var f mineFlags
	var o mining.LifecycleOptions
	cmd := &cobra.Command{
		Use:   "lifecycle",
		Short: "Type customers current/potential/churned/distributor and write changes to dim_customer (SCD2)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMine(cmd, a, &f, func(ctx context.Context, w *engine.Warehouse, c mineCommon) (*mining.LifecycleResult, error) {
				o.AsOf, o.Source, o.Name, o.DryRun = c.AsOf, c.Source, c.Name, c.DryRun
				return mining.Lifecycle(ctx, w, o)
			}, func(res *mining.LifecycleResult) error {
				a.logf("lifecycle model %d as of %s: %d customers, %d changed type", res.ModelID, res.AsOf, res.Customers, res.Changed)
				for _, t := range []string{mining.TypeCurrent, mining.TypePotential, mining.TypeChurned, mining.TypeDistributor} {
					a.logf("  %-12s %d", t, res.Types[t])
				}
				rows := make([][]any, len(res.Transitions))
				for i, t := range res.Transitions {
					rows[i] = []any{t.From, t.To, t.Count}
				}
				return a.printTable([]string{"from", "to", "customers"}, rows)
			})
		},
	}
	f.add(cmd, false)
	fl := cmd.Flags()
	fl.IntVar(&o.ChurnDays, "churn-days", 365, "churned after this many days without a purchase")
	fl.Int64Var(&o.CLVModel, "clv-model", 0, "also churn customers whose p_alive in this clv model is below --p-alive")
	fl.Float64Var(&o.PAliveThreshold, "p-alive", 0.5, "p_alive threshold with --clv-model")
	fl.Float64Var(&o.DistributorMinAmount, "distributor-amount", 0, "type as distributor from this yearly net amount (0: master data only)")
	return cmd
}
