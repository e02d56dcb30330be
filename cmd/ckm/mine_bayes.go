package main

import (
	"context"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineBayesCmd(a, nil) }) }

// mineBayesOptions are what ckm mine bayes' flags resolve to.
type mineBayesOptions struct {
	app *app
	mining.BayesOptions
}

// newMineBayesCmd builds ckm mine bayes; runF, when not nil, runs instead
// of mineBayesRun with the parsed options.
func newMineBayesCmd(a *app, runF func(context.Context, *mineBayesOptions) error) *cobra.Command {
	opts := &mineBayesOptions{app: a}
	o := &opts.BayesOptions
	sup := &supervisedFlags{Source: &o.Source, ID: &o.ID, TestFraction: &o.TestFraction, Seed: &o.Seed, SplitCol: &o.SplitCol,
		Positive: &o.Positive, Name: &o.Name, DryRun: &o.DryRun, From: &o.FromWarehouse}
	cmd := &cobra.Command{
		Use:   "bayes",
		Short: "Naive Bayes classifier from a features+label query, evaluated on held-out rows",
		Long: "Trains naive Bayes (categorical likelihoods smoothed by --alpha, Gaussian numeric ones) from --source\n" +
			"(feature columns and a --label column; numeric columns are Gaussian, others categorical, NULL missing)\n" +
			"on a seeded stratified split (--test-fraction, --seed) or the 'train'/'test' values of --split-col,\n" +
			"evaluates it on the held-out rows beside the majority class and stores the model with its scoring\n" +
			"SQL (params score_sql, a CASE over the source's columns, and probability_sql). --label-sql and\n" +
			"--as-of build the cases from the star schema, as for ckm mine tree.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sup.resolve(cmd); err != nil {
				return err
			}
			if math.IsNaN(o.Alpha) || math.IsInf(o.Alpha, 0) || o.Alpha < 0 {
				return usageErrorf("--alpha %v: want a number >= 0", o.Alpha)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineBayesRun(cmd.Context(), opts)
		},
	}
	sup.add(cmd, "seed of the stratified split, 0 or more")
	cmd.Flags().Float64Var(&o.Alpha, "alpha", 1, "additive smoothing of categorical likelihoods (0: relative frequencies)")
	return cmd
}

func mineBayesRun(ctx context.Context, opts *mineBayesOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.BayesResult, error) {
		if err := vetFeatureQueries(ctx, w, opts.FromWarehouse); err != nil {
			return nil, err
		}
		return mining.MineBayes(ctx, w, opts.BayesOptions)
	}, func(res *mining.BayesResult) error {
		m := res.Metrics
		a.logf("bayes model %d: %d features (%d numeric), classes %s; trained on %d rows, tested on %d",
			res.ModelID, len(res.Features), len(res.Numeric), strings.Join(res.Classes, ", "), m.TrainRows, m.TestRows)
		auc := any("n/a")
		if m.AUC != nil {
			auc = round(*m.AUC, 4)
		}
		return a.printTable([]string{"measure", "model", "majority_baseline"}, [][]any{
			{"accuracy", round(m.Accuracy, 4), round(m.MajorityAccuracy, 4)},
			{"error_rate", round(m.ErrorRate, 4), round(1-m.MajorityAccuracy, 4)},
			{"auc (" + m.Positive + ")", auc, 0.5},
		})
	})
}
