package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineChurnCmd(a, nil) }) }

// mineChurnOptions are what ckm mine churn's flags resolve to.
type mineChurnOptions struct {
	app *app
	mining.ChurnOptions
}

// newMineChurnCmd builds ckm mine churn; runF, when not nil, runs instead of
// mineChurnRun with the parsed options.
func newMineChurnCmd(a *app, runF func(context.Context, *mineChurnOptions) error) *cobra.Command {
	opts := &mineChurnOptions{app: a}
	o := &opts.ChurnOptions
	var f mineFlags
	cmd := &cobra.Command{
		Use:   "churn",
		Short: "Churn warning: valuable customers whose P(alive) dropped or who are unusually silent",
		Long:  "Needs a clv model (ckm mine clv); watches its top --top-deciles CLV deciles, ranked by value at risk.",
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
			return mineChurnRun(cmd.Context(), opts)
		},
	}
	f.add(cmd, false)
	fl := cmd.Flags()
	fl.Int64Var(&o.CLVModel, "clv-model", 0, "clv model id (default: the latest)")
	fl.IntVar(&o.TopDeciles, "top-deciles", 3, "watch the customers in this many top CLV deciles")
	fl.Float64Var(&o.MinPAliveDrop, "p-alive-drop", 0.2, "warn when P(alive) fell by at least this much")
	fl.Float64Var(&o.SilenceFactor, "silence-factor", 2, "warn when silent longer than this many usual gaps")
	return cmd
}

func mineChurnRun(ctx context.Context, opts *mineChurnOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.ChurnResult, error) {
		return mining.Churn(ctx, w, opts.ChurnOptions)
	}, func(res *mining.ChurnResult) error {
		a.logf("churn model %d as of %s (clv model %d): %d of %d watched customers at risk, value at risk %.2f",
			res.ModelID, res.AsOf, res.CLVModel, len(res.Warnings), res.Watched, res.ValueAtRisk)
		rows := make([][]any, len(res.Warnings))
		for i, c := range res.Warnings {
			rows[i] = []any{c.CustomerID, round(c.CLV, 2), c.CLVDecile, round(c.PAliveThen, 3), round(c.PAliveNow, 3), c.SilentDays, round(c.ValueAtRisk, 2), c.Reason}
		}
		return a.printTable([]string{"customer_id", "clv", "decile", "p_alive_then", "p_alive_now", "silent_days", "value_at_risk", "reason"}, rows)
	})
}
