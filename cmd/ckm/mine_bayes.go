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
	var seed int
	var cases warehouseCaseFlags
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
			if err := cases.resolve(o.Source.Table, &o.FromWarehouse); err != nil {
				return err
			}
			switch {
			case strings.TrimSpace(o.Source.Label) == "":
				return usageErrorf("--label: give the class label column")
			case !(o.TestFraction > 0 && o.TestFraction < 1):
				return usageErrorf("--test-fraction %v: want a number > 0 and < 1", o.TestFraction)
			case math.IsNaN(o.Alpha) || math.IsInf(o.Alpha, 0) || o.Alpha < 0:
				return usageErrorf("--alpha %v: want a number >= 0", o.Alpha)
			case seed < 0:
				return usageErrorf("--seed %d: want 0 or more", seed)
			}
			o.Seed = uint64(seed)
			vetSourceInRun(cmd, o.Source)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineBayesRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Source.Table, "source", "", "table or SELECT of the cases: features and a label (or --label-sql)")
	fl.StringVar(&o.Source.Label, "label", "label", "class label column")
	fl.StringVar(&o.Source.Features, "features", "", "feature columns, comma-separated (default: every column but label, id and split)")
	fl.StringVar(&o.ID, "id", "", "case id column, left out of the features")
	fl.Float64Var(&o.Alpha, "alpha", 1, "additive smoothing of categorical likelihoods (0: relative frequencies)")
	fl.Float64Var(&o.TestFraction, "test-fraction", 0.3, "share of each class held out for testing, in (0, 1)")
	fl.IntVar(&seed, "seed", 1, "seed of the stratified split, 0 or more")
	fl.StringVar(&o.SplitCol, "split-col", "", "column saying train or test per row, in place of the seeded split")
	fl.StringVar(&o.Positive, "positive", "", "class scored for AUC and lift (default the rarer class in training)")
	fl.StringVar(&o.Name, "name", "", "model name in kb_model")
	fl.BoolVar(&o.DryRun, "dry-run", false, "learn and evaluate without writing to the knowledge base")
	cases.add(cmd)
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
