package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/mining"
)

func init() {
	registerKBCommand(func(a *app) *cobra.Command { return newKBListCmd(a, nil) })
	registerKBCommand(func(a *app) *cobra.Command { return newKBShowCmd(a, nil) })
}

// kbListOptions are what ckm kb list resolves to.
type kbListOptions struct {
	app  *app
	Kind string
}

// newKBListCmd builds ckm kb list; runF, when not nil, runs instead of kbListRun.
func newKBListCmd(a *app, runF func(context.Context, *kbListOptions) error) *cobra.Command {
	opts := &kbListOptions{app: a}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "The models of the knowledge base, newest first, with their lineage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return kbListRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kind, "kind", "", "only models of this kind (rfm, clv, rules, …)")
	return cmd
}

func kbListRun(ctx context.Context, opts *kbListOptions) error {
	a := opts.app
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	models, err := mining.ListModels(ctx, w, opts.Kind)
	if err != nil {
		return err
	}
	if a.format() == formatJSON {
		if models == nil {
			models = []mining.ModelInfo{}
		}
		return writeJSON(a, models)
	}
	rows := make([][]any, len(models))
	for i, m := range models {
		rows[i] = []any{m.ModelID, m.Kind, m.Name, m.Status, m.CreatedAt.Format(time.DateTime), m.DataVersion, m.ETLRuns, m.Stale}
	}
	return a.printTable([]string{"model_id", "kind", "name", "status", "created_at", "data_version", "etl_runs", "stale"}, rows)
}

// kbShowOptions are what ckm kb show resolves to.
type kbShowOptions struct {
	app   *app
	Model int64
	Top   int
}

// newKBShowCmd builds ckm kb show MODEL; runF, when not nil, runs instead of kbShowRun.
func newKBShowCmd(a *app, runF func(context.Context, *kbShowOptions) error) *cobra.Command {
	opts := &kbShowOptions{app: a}
	cmd := &cobra.Command{
		Use:   "show MODEL",
		Short: "A model's parameters, metrics, lineage, knowledge rows and top rules",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return usageErrorf("model %q: want a model id (a positive integer, see ckm kb list)", args[0])
			}
			if opts.Top < 0 {
				return usageErrorf("--top %d: want a number >= 0", opts.Top)
			}
			opts.Model = id
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return kbShowRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Top, "top", 10, "rules to show, by lift")
	return cmd
}

func kbShowRun(ctx context.Context, opts *kbShowOptions) error {
	a := opts.app
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	d, err := mining.ShowModel(ctx, w, opts.Model, opts.Top)
	if err != nil {
		return err
	}
	if a.format() == formatJSON {
		return writeJSON(a, d)
	}
	var knowledge []string
	for _, t := range []string{"kb_customer_score", "kb_rule", "kb_recommendation", "kb_segment", "kb_customer_segment", "kb_forecast"} {
		if n, ok := d.Knowledge[t]; ok {
			knowledge = append(knowledge, t+" "+strconv.FormatInt(n, 10))
		}
	}
	rec := map[string]any{"model_id": d.ModelID, "kind": d.Kind, "name": d.Name, "status": d.Status,
		"created_at": d.CreatedAt.Format(time.DateTime), "data_version": d.DataVersion, "etl_runs": d.ETLRuns,
		"stale": d.Stale, "restated": d.Restated, "params": string(d.Params), "metrics": string(d.Metrics),
		"knowledge_rows": strings.Join(knowledge, ", ")}
	if err := a.printRecord(rec, []string{"model_id", "kind", "name", "status", "created_at", "data_version", "etl_runs",
		"stale", "restated", "params", "metrics", "knowledge_rows"}); err != nil {
		return err
	}
	if len(d.TopRules) > 0 {
		a.logf("top %d rules by lift:", len(d.TopRules))
		if err := a.printTable(ruleHeader, ruleRows(d.TopRules)); err != nil {
			return err
		}
	}
	if len(d.Segments) > 0 {
		rows := make([][]any, len(d.Segments))
		for i, s := range d.Segments {
			rows[i] = []any{s.SegmentID, s.Label, s.Size, round(100*s.Share, 1)}
		}
		if err := a.printTable([]string{"segment_id", "label", "size", "share_pct"}, rows); err != nil {
			return err
		}
	}
	if len(d.Scores) > 0 {
		rows := make([][]any, len(d.Scores))
		for i, s := range d.Scores {
			rows[i] = []any{s.Metric, s.Customers, roundPtr(s.Mean), roundPtr(s.Min), roundPtr(s.Max)}
		}
		return a.printTable([]string{"metric", "customers", "mean", "min", "max"}, rows)
	}
	return nil
}

func roundPtr(v *float64) any {
	if v == nil {
		return nil
	}
	return round(*v, 4)
}
