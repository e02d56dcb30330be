package main

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() {
	registerMineCommand(func(a *app) *cobra.Command { return newMineForecastCmd(a, nil) })
}

// mineForecastOptions are what ckm mine forecast's flags resolve to.
type mineForecastOptions struct {
	app *app
	mining.ForecastOptions
}

// newMineForecastCmd builds ckm mine forecast; runF, when not nil, runs
// instead of mineForecastRun with the parsed options.
func newMineForecastCmd(a *app, runF func(context.Context, *mineForecastOptions) error) *cobra.Command {
	opts := &mineForecastOptions{app: a}
	o := &opts.ForecastOptions
	cmd := &cobra.Command{
		Use:   "forecast",
		Short: "Holt-Winters forecast of a revenue series with prediction intervals",
		Long: "Sums the net revenue of the current sale lines (or the value column of any --source) per day,\n" +
			"week or month (periods without rows count 0), fits Holt-Winters with additive or multiplicative\n" +
			"seasonality of --period periods and forecasts --horizon periods with prediction intervals into\n" +
			"kb_forecast. --holdout N also scores a fit on all but the last N periods against them, beside the\n" +
			"seasonal naive forecast (MAPE, sMAPE, MASE in the model's metrics).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkForecastFlags(cmd, o); err != nil {
				return err
			}
			vetSourceInRun(cmd, o.Source)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineForecastRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Source.Table, "source", "", "table or SELECT of (time, value) rows (default: the current sale lines, order_ts and amount)")
	fl.StringVar(&o.Source.Time, "time-col", "", "date/timestamp column (default order_ts; period with --source)")
	fl.StringVar(&o.Source.Amount, "value-col", "", "value column summed per period (default amount; value with --source)")
	fl.StringVar(&o.Grain, "grain", mining.GrainMonth, "period of the series: day, week or month")
	fl.StringVar(&o.Seasonal, "seasonal", "additive", "seasonality: additive or multiplicative")
	fl.IntVar(&o.Period, "period", 0, "season length in periods (default 7 for day, 52 for week, 12 for month)")
	fl.IntVar(&o.Horizon, "horizon", 0, "periods to forecast (default one season)")
	fl.IntVar(&o.Holdout, "holdout", 0, "score a fit on all but the last N periods against them (0: no holdout)")
	fl.Float64Var(&o.Coverage, "coverage", 0.95, "coverage of the prediction intervals, in (0, 1)")
	fl.StringVar(&o.Series, "series", "revenue", "series name in kb_forecast")
	fl.StringVar(&o.Name, "name", "", "model name in kb_model")
	fl.BoolVar(&o.DryRun, "dry-run", false, "forecast without writing to the knowledge base")
	return cmd
}

// checkForecastFlags turns bad values, from the command line, the
// environment or the config, into usage errors naming the flag.
func checkForecastFlags(cmd *cobra.Command, o *mining.ForecastOptions) error {
	switch o.Grain {
	case mining.GrainDay, mining.GrainWeek, mining.GrainMonth:
	default:
		return usageErrorf("--grain %q: want day, week or month", o.Grain)
	}
	switch o.Seasonal {
	case "additive", "multiplicative":
	default:
		return usageErrorf("--seasonal %q: want additive or multiplicative", o.Seasonal)
	}
	fl := cmd.Flags()
	if fl.Changed("period") || o.Period != 0 {
		if o.Period < 2 {
			return usageErrorf("--period %d: want at least 2", o.Period)
		}
	}
	if (fl.Changed("horizon") || o.Horizon != 0) && o.Horizon < 1 {
		return usageErrorf("--horizon %d: want at least 1", o.Horizon)
	}
	if o.Holdout < 0 {
		return usageErrorf("--holdout %d: want 0 or more", o.Holdout)
	}
	if !(o.Coverage > 0 && o.Coverage < 1) {
		return usageErrorf("--coverage %v: want a number > 0 and < 1", o.Coverage)
	}
	return nil
}

func mineForecastRun(ctx context.Context, opts *mineForecastOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.ForecastResult, error) {
		return mining.Forecast(ctx, w, opts.ForecastOptions)
	}, func(res *mining.ForecastResult) error {
		a.logf("forecast model %d: %s Holt-Winters (period %d) on %d %ss from %s to %s; alpha %.4f beta %.4f gamma %.4f",
			res.ModelID, res.Seasonal, res.Period, res.Periods, res.Grain, res.First.Format(time.DateOnly), res.Last.Format(time.DateOnly),
			res.Alpha, res.Beta, res.Gamma)
		if res.HWErrors != nil {
			for _, e := range []struct {
				name string
				e    *mining.ForecastErrors
			}{{"Holt-Winters", res.HWErrors}, {"seasonal naive", res.Naive}} {
				mape := "n/a (an actual is 0)"
				if e.e.MAPE != nil {
					mape = strconv.FormatFloat(*e.e.MAPE, 'f', 4, 64)
				}
				a.logf("holdout of %d %ss, %s: MAPE %s, sMAPE %.4f, MASE %.4f", res.Holdout, res.Grain, e.name, mape, e.e.SMAPE, e.e.MASE)
			}
		}
		rows := make([][]any, len(res.Forecast))
		for i, p := range res.Forecast {
			rows[i] = []any{p.Period.Format(time.DateOnly), round(p.Value, 2), round(p.Lower, 2), round(p.Upper, 2)}
		}
		return a.printTable([]string{"period", "value", "lower", "upper"}, rows)
	})
}
