package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineEvaluateCmd(a, nil) }) }

// newMineEvaluateCmd builds ckm mine evaluate; runF, when not nil, runs
// instead of mineEvaluateRun with the parsed options.
func newMineEvaluateCmd(a *app, runF func(context.Context, *mineEvaluateOptions) error) *cobra.Command {
	return newMineModelCmd(a, mineModelCmd{
		use:   "evaluate MODEL",
		short: "Re-validate a stored tree or bayes model on current labelled rows, with drift",
		long: "Scores --source (the model's feature columns and its label column) with the model's stored SQL in\n" +
			"DuckDB, evaluates the predictions and compares them with the evaluation stored with the model:\n" +
			"accuracy, baseline, positive rate, AUC, per-class precision/recall changes and a two-proportion\n" +
			"z-test of the accuracy (degraded: lower with p < 0.05). Nothing is written.",
		sourceHelp:    "table or SELECT of labelled rows with the model's columns (required)",
		sourceMissing: "give a table or SELECT of labelled rows",
	}, runF, mineEvaluateRun)
}

func mineEvaluateRun(ctx context.Context, opts *mineEvaluateOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.ModelDrift, error) {
		if err := vetStoredScoring(ctx, w, opts.ModelID); err != nil {
			return nil, err
		}
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
