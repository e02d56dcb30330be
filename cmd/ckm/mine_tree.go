package main

import (
	"context"
	"strings"

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
	var seed int
	var cases warehouseCaseFlags
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
			if err := cases.resolve(o.Source.Table, &o.FromWarehouse); err != nil {
				return err
			}
			if err := checkTreeFlags(o); err != nil {
				return err
			}
			if seed < 0 {
				return usageErrorf("--seed %d: want 0 or more", seed)
			}
			o.Seed = uint64(seed)
			vetSourceInRun(cmd, o.Source)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineTreeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Source.Table, "source", "", "table or SELECT of the cases: features and a label (or --label-sql)")
	fl.StringVar(&o.Source.Label, "label", "label", "class label column")
	fl.StringVar(&o.Source.Features, "features", "", "feature columns, comma-separated (default: every column but label, id and split)")
	fl.StringVar(&o.ID, "id", "", "case id column, left out of the features")
	fl.StringVar(&o.Algorithm, "algorithm", mining.AlgoC45, "c45 (J48's settings) or id3 (nominal features)")
	fl.IntVar(&o.Window, "window", 0, "id3: grow by windowing from a first window of N rows (0: none)")
	fl.Float64Var(&o.TestFraction, "test-fraction", 0.3, "share of each class held out for testing, in (0, 1)")
	fl.IntVar(&seed, "seed", 1, "seed of the stratified split (and of the id3 window), 0 or more")
	fl.StringVar(&o.SplitCol, "split-col", "", "column saying train or test per row, in place of the seeded split")
	fl.StringVar(&o.Positive, "positive", "", "class scored for AUC and lift (default the rarer class in training)")
	fl.StringVar(&o.Name, "name", "", "model name in kb_model")
	fl.BoolVar(&o.DryRun, "dry-run", false, "learn and evaluate without writing to the knowledge base")
	cases.add(cmd)
	return cmd
}

// checkTreeFlags turns bad values into usage errors naming the flag.
func checkTreeFlags(o *mining.TreeOptions) error {
	switch {
	case strings.TrimSpace(o.Source.Label) == "":
		return usageErrorf("--label: give the class label column")
	case o.Algorithm != mining.AlgoC45 && o.Algorithm != mining.AlgoID3:
		return usageErrorf("--algorithm %q: want c45 or id3", o.Algorithm)
	case !(o.TestFraction > 0 && o.TestFraction < 1):
		return usageErrorf("--test-fraction %v: want a number > 0 and < 1", o.TestFraction)
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
