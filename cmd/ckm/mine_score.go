package main

import (
	"context"
	"strconv"
	"strings"
	"time"

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
	// AsOf (ckm mine score --as-of) scores every customer through a
	// warehouse-learnt model's stored feature recipe instead of Source.
	AsOf time.Time
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
	asOfHelp         string // when set, --as-of may stand in for --source
}

// newMineModelCmd builds a command "NAME MODEL --source Q"; runF, when not
// nil, runs instead of run with the parsed options. The source is vetted
// like every mine source (mineSourceKey).
func newMineModelCmd(a *app, d mineModelCmd, runF, run func(context.Context, *mineModelOptions) error) *cobra.Command {
	opts := &mineModelOptions{app: a}
	var asOf string
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
			if opts.AsOf, err = flagDate("as-of", asOf); err != nil {
				return err
			}
			hasSource := strings.TrimSpace(opts.Source.Table) != ""
			switch {
			case hasSource && !opts.AsOf.IsZero():
				return usageErrorf("--source and --as-of: give one (--as-of rebuilds the rows from the warehouse)")
			case !hasSource && opts.AsOf.IsZero() && d.asOfHelp != "":
				return usageErrorf("--source or --as-of: %s, or a date to score every customer through the model's feature recipe", d.sourceMissing)
			case !hasSource && opts.AsOf.IsZero():
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
	if d.asOfHelp != "" {
		cmd.Flags().StringVar(&asOf, "as-of", "", d.asOfHelp)
	}
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
			"The same SQL serves in any query: SELECT params->>'score_sql' FROM kb_model WHERE model_id = MODEL.\n" +
			"A model learnt from the warehouse (--label-sql) scores every customer with --as-of DATE instead:\n" +
			"its stored feature recipe (warehouse features and --feature-sql) is rebuilt from the rows before DATE.",
		sourceHelp:    "table or SELECT of the rows to score (this or --as-of)",
		sourceMissing: "give a table or SELECT of the rows to score",
		asOfHelp:      "score every customer known before this date (YYYY-MM-DD) through the model's stored feature recipe",
	}, runF, mineScoreRun)
}

func mineScoreRun(ctx context.Context, opts *mineScoreOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.ScoreResult, error) {
		if err := vetStoredScoring(ctx, w, opts.ModelID); err != nil {
			return nil, err
		}
		if !opts.AsOf.IsZero() {
			return mining.ScoreModelAsOf(ctx, w, opts.ModelID, opts.AsOf)
		}
		return mining.ScoreModel(ctx, w, opts.ModelID, opts.Source)
	}, func(res *mining.ScoreResult) error {
		a.logf("%d rows scored with %s model %d (probability of %s)", len(res.Rows), res.Kind, res.ModelID, res.Positive)
		return a.printTable(res.Columns, res.Rows)
	})
}
