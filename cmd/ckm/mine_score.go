package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineScoreCmd(a, nil) }) }

// mineModelOptions are what the commands that apply a stored model to
// --source rows (ckm mine score, ckm mine evaluate) resolve to.
type mineModelOptions struct {
	app     *app
	ModelID int64
	Source  mining.Source
}

type (
	mineScoreOptions    = mineModelOptions
	mineEvaluateOptions = mineModelOptions
)

// mineModelCmd describes one command over a stored model and --source.
type mineModelCmd struct {
	use, short, long string
	sourceHelp       string // the --source flag's help, ending "(required)"
	sourceMissing    string // the usage error without --source
}

// newMineModelCmd builds a command "NAME MODEL --source Q"; runF, when not
// nil, runs instead of run with the parsed options. The source is vetted
// like every mine source (mineSourceKey).
func newMineModelCmd(a *app, d mineModelCmd, runF, run func(context.Context, *mineModelOptions) error) *cobra.Command {
	opts := &mineModelOptions{app: a}
	cmd := &cobra.Command{
		Use:   d.use,
		Short: d.short,
		Long:  d.long,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return usageErrorf("model %q: want a model id (a positive integer, see ckm kb list)", args[0])
			}
			opts.ModelID = id
			if strings.TrimSpace(opts.Source.Table) == "" {
				return usageErrorf("--source: %s", d.sourceMissing)
			}
			vetSourceInRun(cmd, opts.Source)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Source.Table, "source", "", d.sourceHelp)
	return cmd
}

// newMineScoreCmd builds ckm mine score; runF, when not nil, runs instead
// of mineScoreRun with the parsed options.
func newMineScoreCmd(a *app, runF func(context.Context, *mineScoreOptions) error) *cobra.Command {
	return newMineModelCmd(a, mineModelCmd{
		use:   "score MODEL",
		short: "Score rows with a stored tree or bayes model, in DuckDB",
		long: "Runs the scoring SQL stored with a tree or bayes model (kb_model params score_sql and\n" +
			"probability_sql) over --source, which must hold the model's feature columns, and prints the\n" +
			"model's id column (when the source has it), the predicted class and the positive class's probability.\n" +
			"The same SQL serves in any query: SELECT params->>'score_sql' FROM kb_model WHERE model_id = MODEL.",
		sourceHelp:    "table or SELECT of the rows to score (required)",
		sourceMissing: "give a table or SELECT of the rows to score",
	}, runF, mineScoreRun)
}

func mineScoreRun(ctx context.Context, opts *mineScoreOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.ScoreResult, error) {
		if err := vetStoredScoring(ctx, w, opts.ModelID); err != nil {
			return nil, err
		}
		return mining.ScoreModel(ctx, w, opts.ModelID, opts.Source)
	}, func(res *mining.ScoreResult) error {
		a.logf("%d rows scored with %s model %d (probability of %s)", len(res.Rows), res.Kind, res.ModelID, res.Positive)
		return a.printTable(res.Columns, res.Rows)
	})
}
