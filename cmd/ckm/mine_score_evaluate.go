package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineEvaluateCmd(a, nil) }) }

// mineEvaluateOptions are what ckm mine evaluate's arguments and flags resolve to.
type mineEvaluateOptions struct {
	app     *app
	ModelID int64
	Source  mining.Source
}

// newMineEvaluateCmd builds ckm mine evaluate; runF, when not nil, runs
// instead of mineEvaluateRun with the parsed options.
func newMineEvaluateCmd(a *app, runF func(context.Context, *mineEvaluateOptions) error) *cobra.Command {
	opts := &mineEvaluateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "evaluate MODEL",
		Short: "Re-validate a stored tree or bayes model on current labelled rows, with drift",
		Long: "Scores --source (the model's feature columns and its label column) with the model's stored SQL in\n" +
			"DuckDB, evaluates the predictions and compares them with the evaluation stored with the model:\n" +
			"accuracy, baseline, positive rate, AUC, per-class precision/recall changes and a two-proportion\n" +
			"z-test of the accuracy (degraded: lower with p < 0.05). Nothing is written.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return usageErrorf("model %q: want a model id (a positive integer, see ckm kb list)", args[0])
			}
			opts.ModelID = id
			if strings.TrimSpace(opts.Source.Table) == "" {
				return usageErrorf("--source: give a table or SELECT of labelled rows")
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			cmd.SetContext(context.WithValue(ctx, mineSourceKey{}, opts.Source))
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineEvaluateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Source.Table, "source", "", "table or SELECT of labelled rows with the model's columns (required)")
	return cmd
}

func mineEvaluateRun(ctx context.Context, opts *mineEvaluateOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.ModelDrift, error) {
		return mining.EvaluateModel(ctx, w, opts.ModelID, opts.Source)
	}, func(d *mining.ModelDrift) error {
		verdict := "no significant change"
		if d.Degraded {
			verdict = "DEGRADED"
		}
		a.logf("%s model %d on %d rows (stored: %d): accuracy change %+.4f, z %.3f, p %.4g: %s",
			d.Kind, d.ModelID, d.After.TestRows, d.Before.TestRows, d.AccuracyChange, d.Z, d.PValue, verdict)
		opt := func(v *float64) any {
			if v == nil {
				return "n/a"
			}
			return round(*v, 4)
		}
		return a.printTable([]string{"measure", "stored", "now"}, [][]any{
			{"rows", d.Before.TestRows, d.After.TestRows},
			{"accuracy", round(d.Before.Accuracy, 4), round(d.After.Accuracy, 4)},
			{"majority_baseline", round(d.Before.MajorityAccuracy, 4), round(d.After.MajorityAccuracy, 4)},
			{"auc", opt(d.Before.AUC), opt(d.After.AUC)},
		})
	})
}
