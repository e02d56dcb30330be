package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineCLVCmd(a, nil) }) }

// mineCLVOptions are what ckm mine clv's flags resolve to.
type mineCLVOptions struct {
	app *app
	mining.CLVOptions
}

// newMineCLVCmd builds ckm mine clv; runF, when not nil, runs instead of
// mineCLVRun with the parsed options.
func newMineCLVCmd(a *app, runF func(context.Context, *mineCLVOptions) error) *cobra.Command {
	opts := &mineCLVOptions{app: a}
	o := &opts.CLVOptions
	var f mineFlags
	var cohort, holdout string
	cmd := &cobra.Command{
		Use:   "clv",
		Short: "Customer lifetime value: BG/NBD + Gamma-Gamma fit, P(alive), discounted CLV",
		Long: "Fits BG/NBD and Gamma-Gamma by maximum likelihood on the purchases up to --as-of (time in weeks),\n" +
			"scores every customer (P(alive), expected purchases and spend, discounted CLV over --horizon-weeks)\n" +
			"and writes model and scores to the knowledge base. --holdout-end adds a calibration/holdout report.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.CohortStart, err = flagDate("cohort-start", cohort); err != nil {
				return err
			}
			if o.HoldoutEnd, err = flagDate("holdout-end", holdout); err != nil {
				return err
			}
			c, err := f.resolve(cmd)
			if err != nil {
				return err
			}
			o.AsOf, o.Source, o.Name, o.DryRun = c.AsOf, c.Source, c.Name, c.DryRun
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineCLVRun(cmd.Context(), opts)
		},
	}
	f.add(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&cohort, "cohort-start", "", "only customers whose first purchase is on or after this date")
	fl.StringVar(&holdout, "holdout-end", "", "report predicted vs actual repeat purchases from --as-of to this date")
	fl.Float64Var(&o.HorizonWeeks, "horizon-weeks", 52, "prediction horizon in weeks")
	fl.Float64Var(&o.PeriodWeeks, "period-weeks", 365.25/12/7, "discounting period in weeks (default a month)")
	fl.Float64Var(&o.AnnualDiscountRate, "discount-rate", 0.10, "annual discount rate (0: none)")
	fl.Float64Var(&o.Margin, "margin", 1, "share of spend counted as value")
	return cmd
}

func mineCLVRun(ctx context.Context, opts *mineCLVOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.CLVResult, error) {
		return mining.CLV(ctx, w, opts.CLVOptions)
	}, func(res *mining.CLVResult) error {
		bg, gg := res.Purchases, res.Spend
		a.logf("clv model %d (%s): %d customers, total CLV %.2f", res.ModelID, res.Status, res.Customers, res.TotalCLV)
		a.logf("BG/NBD r=%.4f alpha=%.4f a=%.4f b=%.4f LL=%.2f (%s); Gamma-Gamma p=%.4f q=%.4f gamma=%.4f LL=%.2f (%s)",
			bg.Model.R, bg.Model.Alpha, bg.Model.A, bg.Model.B, bg.LogLikelihood, bg.Status,
			gg.Model.P, gg.Model.Q, gg.Model.Gamma, gg.LogLikelihood, gg.Status)
		if h := res.Holdout; h != nil {
			a.logf("holdout %.1f weeks: predicted %.1f, actual %.0f repeat purchases, MAE %.3f", h.Weeks, h.Predicted, h.Actual, h.MAE)
			for _, b := range h.Buckets {
				a.logf("  frequency %-3s %6d customers  predicted %.3f  actual %.3f", b.Frequency, b.Customers, b.MeanPredicted, b.MeanActual)
			}
		}
		rows := make([][]any, len(res.Top))
		for i, c := range res.Top {
			rows[i] = []any{c.CustomerID, c.Frequency, round(c.PAlive, 3), round(c.ExpectedPurchases, 3), round(c.ExpectedSpend, 2), round(c.CLV, 2)}
		}
		return a.printTable([]string{"customer_id", "frequency", "p_alive", "expected_purchases", "expected_spend", "clv"}, rows)
	})
}
