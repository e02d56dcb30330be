package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineRoughSetCmd(a, nil) }) }

// mineRoughSetOptions are what ckm mine roughset's flags resolve to.
type mineRoughSetOptions struct {
	app *app
	mining.RoughOptions
}

// newMineRoughSetCmd builds ckm mine roughset; runF, when not nil, runs
// instead of mineRoughSetRun with the parsed options.
func newMineRoughSetCmd(a *app, runF func(context.Context, *mineRoughSetOptions) error) *cobra.Command {
	opts := &mineRoughSetOptions{app: a}
	o := &opts.RoughOptions
	cmd := &cobra.Command{
		Use:   "roughset",
		Short: "Rough sets: what the attributes can and cannot decide (approximations, γ, core, reduct, rules)",
		Long: "Reads a decision table from --source (condition attributes: --features, default every column but\n" +
			"--label and --id; every value compared as text, so discretise numbers in the query) and reports the\n" +
			"indiscernibility classes, the lower and upper approximation and boundary of each decision value, the\n" +
			"positive region, the dependency degree γ, the core and one reduct, and stores the certain and\n" +
			"possible rules over the reduct in kb_rule (kind roughset).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case strings.TrimSpace(o.Source.Table) == "":
				return usageErrorf("--source: give a table or SELECT of condition attributes and a decision")
			case strings.TrimSpace(o.Source.Label) == "":
				return usageErrorf("--label: give the decision column")
			}
			vetSourceInRun(cmd, o.Source)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineRoughSetRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Source.Table, "source", "", "table or SELECT of the objects: condition attributes and a decision (required)")
	fl.StringVar(&o.Source.Label, "label", "decision", "decision column")
	fl.StringVar(&o.Source.Features, "features", "", "condition attributes, comma-separated (default: every column but label and id)")
	fl.StringVar(&o.ID, "id", "", "object id column (default: objects numbered 1, 2, … in source order)")
	fl.StringVar(&o.Decision, "decision", "", "decision value whose approximations come first (default: all, in order of appearance)")
	fl.StringVar(&o.Name, "name", "", "model name in kb_model")
	fl.BoolVar(&o.DryRun, "dry-run", false, "analyse without writing to the knowledge base")
	return cmd
}

func mineRoughSetRun(ctx context.Context, opts *mineRoughSetOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.RoughResult, error) {
		return mining.MineRoughSet(ctx, w, opts.RoughOptions)
	}, func(res *mining.RoughResult) error {
		a.logf("roughset model %d: %d objects, %d indiscernibility classes over %s; γ = %.4f; core {%s}; reduct {%s}",
			res.ModelID, res.Objects, len(res.Classes), strings.Join(res.Attributes, ", "), res.Gamma,
			strings.Join(res.Core, ", "), strings.Join(res.Reduct, ", "))
		set := func(s []string) string { return "{" + strings.Join(s, ",") + "}" }
		var rows [][]any
		for _, ap := range res.Approximations {
			rows = append(rows, []any{res.Decision + " = " + ap.Decision, set(ap.Lower), set(ap.Upper), set(ap.Boundary), round(ap.Accuracy, 4)})
		}
		if err := a.printTable([]string{"decision", "lower", "upper", "boundary", "accuracy"}, rows); err != nil {
			return err
		}
		rows = rows[:0]
		for _, r := range res.Rules {
			kind := "possible"
			if r.Certain {
				kind = "certain"
			}
			cond := strings.Join(r.Conditions, " AND ")
			if cond == "" {
				cond = "TRUE"
			}
			rows = append(rows, []any{"IF " + cond + " THEN " + res.Decision + " = " + r.Decision, kind,
				fmt.Sprintf("%d/%d", r.Support, r.Matches)})
		}
		return a.printTable([]string{"rule", "kind", "support"}, rows)
	})
}
