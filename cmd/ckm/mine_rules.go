package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineRulesCmd(a, nil) }) }

// mineRulesOptions are what ckm mine rules' flags resolve to.
type mineRulesOptions struct {
	app *app
	mining.RulesOptions
	// HoldoutEnd, when set, evaluates cross-sell on a time split (rules
	// before --to, hits from --to to HoldoutEnd) instead of writing a model.
	HoldoutEnd time.Time
}

// newMineRulesCmd builds ckm mine rules; runF, when not nil, runs instead of
// mineRulesRun with the parsed options.
func newMineRulesCmd(a *app, runF func(context.Context, *mineRulesOptions) error) *cobra.Command {
	opts := &mineRulesOptions{app: a}
	o := &opts.RulesOptions
	var from, to, holdout string
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Association rules (FP-Growth or Apriori) and cross-sell recommendations",
		Long: "Mines association rules with one item on the right from baskets (orders, or each customer's items\n" +
			"in the window) at product or category level, writes them to kb_rule and, with --cross-sell N, each\n" +
			"customer's top N items not yet bought to kb_recommendation (SQL: ckm_cross_sell(customer_id, n)),\n" +
			"each scored by the best rule that fires: lift x confidence, or with --rank confidence the rule's\n" +
			"confidence (it does not favour rare items).\n" +
			"--holdout-end evaluates cross-sell: rules from the rows before --to, precision@N on the purchases\n" +
			"from --to to --holdout-end, beside a popularity baseline; nothing is written.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateMineFlags(cmd); err != nil {
				return err
			}
			var err error
			if o.From, err = flagDate("from", from); err != nil {
				return err
			}
			if o.To, err = flagDate("to", to); err != nil {
				return err
			}
			if opts.HoldoutEnd, err = flagDate("holdout-end", holdout); err != nil {
				return err
			}
			if err := checkRulesFlags(opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineRulesRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Source.Table, "source", "", "table or SELECT of (basket, item) rows (default: the current sale lines with dim_product)")
	fl.StringVar(&o.Source.Basket, "basket-col", "", "basket (order) column (default order_id)")
	fl.StringVar(&o.Source.Item, "item-col", "", "item column (default product_code)")
	fl.StringVar(&o.Source.Category, "category-col", "", "item attribute column for --level category (default category)")
	fl.StringVar(&o.Source.Customer, "customer-col", "", "customer column for --basket customer and cross-sell (default customer_id)")
	fl.StringVar(&o.Source.Time, "time-col", "", "time column for --from/--to (default order_ts)")
	fl.Float64Var(&o.MinSupport, "min-support", 0.01, "least share of baskets holding a rule's items, in (0, 1]")
	fl.Float64Var(&o.MinConfidence, "min-confidence", 0.5, "least confidence of a rule, in (0, 1]")
	fl.IntVar(&o.MinLen, "min-len", 2, "fewest items in a rule (antecedent and consequent; 1 admits empty antecedents)")
	fl.IntVar(&o.MaxLen, "max-len", 10, "most items in a rule")
	fl.StringVar(&o.Level, "level", mining.LevelProduct, "items: product (--item-col) or category (--category-col)")
	fl.StringVar(&o.Basket, "basket", mining.BasketOrder, "baskets: order (--basket-col) or customer (all a customer's items in the window)")
	fl.StringVar(&o.Algorithm, "algorithm", mining.AlgoFPGrowth, "fpgrowth or apriori (the same rules)")
	fl.StringVar(&from, "from", "", "only rows on or after this date")
	fl.StringVar(&to, "to", "", "only rows before this date")
	fl.StringVar(&holdout, "holdout-end", "", "evaluate cross-sell on the purchases from --to to this date (writes nothing)")
	fl.IntVar(&o.CrossSell, "cross-sell", 0, "also write each customer's top N items not yet bought (0: none)")
	fl.StringVar(&o.Rank, "rank", mining.RankLiftConfidence, "cross-sell score of a rule: lift-confidence or confidence")
	fl.IntVar(&o.Top, "top", 10, "rules to print")
	fl.IntVar(&o.MaxItemsets, "max-itemsets", 2_000_000, "most frequent itemsets to hold; more is an error")
	fl.StringVar(&o.Name, "name", "", "model name in kb_model")
	fl.BoolVar(&o.DryRun, "dry-run", false, "mine without writing to the knowledge base")
	return cmd
}

// checkRulesFlags turns the bad combinations and choices into usage errors
// naming the flag.
func checkRulesFlags(opts *mineRulesOptions) error {
	o := &opts.RulesOptions
	choices := []struct{ flag, value, want string }{
		{"level", o.Level, "product|category"},
		{"basket", o.Basket, "order|customer"},
		{"algorithm", o.Algorithm, "fpgrowth|apriori"},
		{"rank", o.Rank, mining.RankLiftConfidence + "|" + mining.RankConfidence},
	}
	for _, c := range choices {
		if !strings.Contains("|"+c.want+"|", "|"+c.value+"|") || c.value == "" {
			return usageErrorf("--%s %q: want %s", c.flag, c.value, strings.ReplaceAll(c.want, "|", " or "))
		}
	}
	if o.MaxLen < o.MinLen {
		return usageErrorf("--max-len %d: want at least --min-len %d", o.MaxLen, o.MinLen)
	}
	if !o.From.IsZero() && !o.To.IsZero() && !o.From.Before(o.To) {
		return usageErrorf("--from %s: want a date before --to %s", o.From.Format(time.DateOnly), o.To.Format(time.DateOnly))
	}
	if !opts.HoldoutEnd.IsZero() {
		switch {
		case o.To.IsZero():
			return usageErrorf("--holdout-end needs --to, the split date")
		case !o.To.Before(opts.HoldoutEnd):
			return usageErrorf("--holdout-end %s: want a date after --to %s", opts.HoldoutEnd.Format(time.DateOnly), o.To.Format(time.DateOnly))
		case o.CrossSell < 1:
			return usageErrorf("--holdout-end needs --cross-sell N ≥ 1, the recommendations per customer")
		}
	}
	return nil
}

func mineRulesRun(ctx context.Context, opts *mineRulesOptions) error {
	a := opts.app
	if !opts.HoldoutEnd.IsZero() {
		return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.CrossSellHoldout, error) {
			return mining.EvaluateCrossSell(ctx, w, opts.RulesOptions, opts.HoldoutEnd)
		}, func(h *mining.CrossSellHoldout) error {
			a.logf("cross-sell holdout: %d rules from the rows before %s, hits from %s to %s, %d customers",
				h.Rules, h.Split, h.Split, h.HoldoutEnd, h.Customers)
			return a.printTable([]string{"recommender", "n", "recommended", "hits", "precision_at_n"}, [][]any{
				{"cross-sell (" + h.Rank + ")", h.N, h.Recommended, h.Hits, round(h.Precision, 4)},
				{"cross-sell, then popularity", h.N, h.FilledRecommended, h.FilledHits, round(h.FilledPrecision, 4)},
				{"popularity", h.N, h.BaselineRecommended, h.BaselineHits, round(h.BaselinePrecision, 4)},
			})
		})
	}
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.RulesResult, error) {
		return mining.MineRules(ctx, w, opts.RulesOptions)
	}, func(res *mining.RulesResult) error {
		a.logf("rules model %d (%s, %s level, %s baskets): %d rules from %d itemsets of %d baskets, %d of %d items frequent; %.3f s",
			res.ModelID, res.Algorithm, res.Level, res.Basket, res.RuleCount, res.Itemsets, res.Baskets, res.FrequentItems, res.Items, res.MineSeconds)
		if res.Recommendations > 0 {
			a.logf("cross-sell: %d recommendations in kb_recommendation (SELECT * FROM ckm_cross_sell(customer_id, n))", res.Recommendations)
		}
		return a.printTable(ruleHeader, ruleRows(res.Top))
	})
}

var ruleHeader = []string{"rule_id", "antecedent", "consequent", "support", "confidence", "lift", "count"}

func ruleRows(rules []mining.Rule) [][]any {
	rows := make([][]any, len(rules))
	for i, r := range rules {
		rows[i] = []any{r.ID, "{" + strings.Join(r.Antecedent, ", ") + "}", r.Consequent, round(r.Support, 6), round(r.Confidence, 4), round(r.Lift, 4), r.Count}
	}
	return rows
}
