package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineTreeCmd(a, nil) }) }

// mineTreeOptions are what ckm mine tree's flags resolve to.
type mineTreeOptions struct {
	app *app
	mining.TreeOptions
}

// newMineTreeCmd builds ckm mine tree; runF, when not nil, runs instead of
// mineTreeRun with the parsed options.
func newMineTreeCmd(a *app, runF func(context.Context, *mineTreeOptions) error) *cobra.Command {
	opts := &mineTreeOptions{app: a}
	o := &opts.TreeOptions
	sup := &supervisedFlags{Source: &o.Source, ID: &o.ID, TestFraction: &o.TestFraction, Seed: &o.Seed, SplitCol: &o.SplitCol,
		Positive: &o.Positive, Name: &o.Name, DryRun: &o.DryRun, From: &o.FromWarehouse}
	cmd := &cobra.Command{
		Use:   "tree",
		Short: "Decision tree (C4.5 or ID3) from a features+label query, evaluated on held-out rows",
		Long: "Learns a decision tree from --source (one row per case: feature columns and a --label column;\n" +
			"numeric columns are numeric attributes, others nominal, NULL missing) on a seeded stratified split\n" +
			"(--test-fraction, --seed) or the 'train'/'test' values of --split-col, evaluates it on the held-out\n" +
			"rows (accuracy, precision/recall, AUC and lift by decile, beside the majority class) and stores the\n" +
			"tree, its scoring SQL (a CASE over the source's columns; see ckm kb show) and one decision rule\n" +
			"per leaf in kb_rule.\n\n" +
			"With --label-sql (SELECT customer_id, label) and --as-of the cases are built from the star schema:\n" +
			"RFM, tenure, channel mix, interactions and satisfaction, campaign history, stored CLV, province,\n" +
			"customer type and member level, all from rows dated before --as-of (plus --feature-sql's columns,\n" +
			"refused if they change when the rows from --as-of on are hidden).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sup.resolve(cmd); err != nil {
				return err
			}
			if err := checkTreeFlags(o); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineTreeRun(cmd.Context(), opts)
		},
	}
	sup.add(cmd, "seed of the stratified split (and of the id3 window), 0 or more")
	fl := cmd.Flags()
	fl.StringVar(&o.Algorithm, "algorithm", mining.AlgoC45, "c45 (J48's settings) or id3 (nominal features)")
	fl.IntVar(&o.Window, "window", 0, "id3: grow by windowing from a first window of N rows (0: none)")
	return cmd
}

// checkTreeFlags turns bad values of the tree's own flags into usage
// errors naming the flag (supervisedFlags checks the shared ones).
func checkTreeFlags(o *mining.TreeOptions) error {
	switch {
	case o.Algorithm != mining.AlgoC45 && o.Algorithm != mining.AlgoID3:
		return usageErrorf("--algorithm %q: want c45 or id3", o.Algorithm)
	case o.Window < 0:
		return usageErrorf("--window %d: want 0 or more", o.Window)
	case o.Window > 0 && o.Algorithm != mining.AlgoID3:
		return usageErrorf("--window needs --algorithm id3")
	}
	return nil
}

func mineTreeRun(ctx context.Context, opts *mineTreeOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.TreeResult, error) {
		if err := vetFeatureQueries(ctx, w, opts.FromWarehouse); err != nil {
			return nil, err
		}
		return mining.MineTree(ctx, w, opts.TreeOptions)
	}, func(res *mining.TreeResult) error {
		m := res.Metrics
		a.logf("tree model %d (%s): %d nodes, %d leaves, %d decision rules; trained on %d rows, tested on %d",
			res.ModelID, res.Algorithm, res.Size, res.Leaves, res.Rules, m.TrainRows, m.TestRows)
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
