package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() {
	registerMineCommand(func(a *app) *cobra.Command { return newMineLifecycleCmd(a, nil) })
}

// mineLifecycleOptions are what ckm mine lifecycle's flags resolve to.
type mineLifecycleOptions struct {
	app *app
	mining.LifecycleOptions
	// force types customers as of a day after the last sale.
	force bool
}

// newMineLifecycleCmd builds ckm mine lifecycle; runF, when not nil, runs
// instead of mineLifecycleRun with the parsed options.
func newMineLifecycleCmd(a *app, runF func(context.Context, *mineLifecycleOptions) error) *cobra.Command {
	opts := &mineLifecycleOptions{app: a}
	var f mineFlags
	cmd := &cobra.Command{
		Use:   "lifecycle",
		Short: "Type customers current/potential/churned/distributor and write changes to dim_customer (SCD2)",
		Long: `Type customers current/potential/churned/distributor and write the changed
types to dim_customer as new SCD2 versions, effective at the end of the as-of day.

--dry-run reports what would change and writes nothing. An --as-of after the
last sale in the data is refused (every customer would look silent, hence
churned) unless --force.`,
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
			return mineLifecycleRun(cmd.Context(), opts)
		},
	}
	f.add(cmd, false)
	fl := cmd.Flags()
	fl.IntVar(&opts.ChurnDays, "churn-days", 365, "churned after this many days without a purchase")
	fl.Int64Var(&opts.CLVModel, "clv-model", 0, "also churn customers whose p_alive in this clv model is below --p-alive")
	fl.Float64Var(&opts.PAliveThreshold, "p-alive", 0.5, "p_alive threshold with --clv-model")
	fl.Float64Var(&opts.DistributorMinAmount, "distributor-amount", 0, "type as distributor from this yearly net amount (0: master data only)")
	fl.BoolVar(&opts.force, "force", false, "accept an --as-of after the last sale in the data")
	return cmd
}

func mineLifecycleRun(ctx context.Context, opts *mineLifecycleOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.LifecycleResult, error) {
		return lifecycleTypes(ctx, w, opts)
	}, func(res *mining.LifecycleResult) error {
		if res.DryRun {
			a.logf("dry run: would change the type of %d customers as of %s (%d typed); nothing written", res.Changed, res.AsOf, res.Customers)
		} else {
			a.logf("lifecycle model %d as of %s: %d customers, %d changed type", res.ModelID, res.AsOf, res.Customers, res.Changed)
		}
		for _, t := range []string{mining.TypeCurrent, mining.TypePotential, mining.TypeChurned, mining.TypeDistributor} {
			a.logf("  %-12s %d", t, res.Types[t])
		}
		rows := make([][]any, len(res.Transitions))
		for i, t := range res.Transitions {
			rows[i] = []any{t.From, t.To, t.Count}
		}
		return a.printTable([]string{"from", "to", "customers"}, rows)
	})
}

// lifecycleTypes refuses an as-of day after the last sale unless forced, then
// types the customers.
func lifecycleTypes(ctx context.Context, w *engine.Warehouse, o *mineLifecycleOptions) (*mining.LifecycleResult, error) {
	if !o.AsOf.IsZero() && !o.force {
		last, err := mining.LastPurchaseDay(ctx, w, o.Source)
		if err != nil {
			return nil, err
		}
		if o.AsOf.After(last) {
			return nil, usageErrorf("--as-of %s is after the last sale in the data (%s): every customer would look silent and be typed churned; give an --as-of up to %s, or --force to type them as of that day anyway",
				o.AsOf.Format(time.DateOnly), last.Format(time.DateOnly), last.Format(time.DateOnly))
		}
	}
	return mining.Lifecycle(ctx, w, o.LifecycleOptions)
}
