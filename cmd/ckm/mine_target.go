package main

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
	"github.com/ckm-dev/ckm/privacy"
)

func init() { registerMineCommand(func(a *app) *cobra.Command { return newMineTargetCmd(a, nil) }) }

// mineTargetOptions are what ckm mine target's flags resolve to.
type mineTargetOptions struct {
	app *app
	mining.TargetOptions
	// contactFile, role and reveal: the steward's contact file of the list.
	contactFile, role, reveal string
}

// newMineTargetCmd builds ckm mine target; runF, when not nil, runs
// instead of mineTargetRun with the parsed options.
func newMineTargetCmd(a *app, runF func(context.Context, *mineTargetOptions) error) *cobra.Command {
	opts := &mineTargetOptions{app: a}
	o := &opts.TargetOptions
	var seed int
	var asOf string
	cmd := &cobra.Command{
		Use:   "target CAMPAIGN",
		Short: "Campaign target list by expected profit, and who responds, from a past campaign",
		Long: "Learns who responded to CAMPAIGN (a dim_campaign code) — a C4.5 tree over the warehouse features\n" +
			"of its targeted members from the rows before its start, evaluated on held-out members — scores\n" +
			"every customer known before --as-of with the tree's SQL in DuckDB, leaves out customers without\n" +
			"marketing consent or on the do-not-contact list, and keeps the --top customers by expected profit\n" +
			"(probability × expected revenue − --contact-cost, positive only). The list goes to kb_target (keyed\n" +
			"by customer id, no contact details), the responder profile (the tree's rules) to kb_rule.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Campaign = args[0]
			switch {
			case strings.TrimSpace(o.Campaign) == "":
				return usageErrorf("CAMPAIGN: give a campaign code")
			case o.Top < 1:
				return usageErrorf("--top %d: want 1 or more", o.Top)
			case math.IsNaN(o.ContactCost) || math.IsInf(o.ContactCost, 0) || o.ContactCost < 0:
				return usageErrorf("--contact-cost %v: want a number >= 0", o.ContactCost)
			case math.IsNaN(o.ExpectedRevenue) || math.IsInf(o.ExpectedRevenue, 0) || o.ExpectedRevenue < 0:
				return usageErrorf("--expected-revenue %v: want a number >= 0", o.ExpectedRevenue)
			case !(o.TestFraction > 0 && o.TestFraction < 1):
				return usageErrorf("--test-fraction %v: want a number > 0 and < 1", o.TestFraction)
			case seed < 0:
				return usageErrorf("--seed %d: want 0 or more", seed)
			}
			o.Seed = uint64(seed)
			t, err := flagDate("as-of", asOf)
			if err != nil {
				return err
			}
			if asOf != "" && t.IsZero() {
				return usageErrorf("--as-of %s: want a date after 0001-01-01", asOf)
			}
			o.AsOf = t
			if opts.role, err = a.role(cmd); err != nil {
				return err
			}
			if opts.reveal, err = a.reveal(cmd, opts.role); err != nil {
				return err
			}
			switch {
			case opts.contactFile != "" && opts.reveal == "":
				return usageErrorf("--contact-file: contact details are raw personal data: give --role steward and --reveal REASON")
			case opts.contactFile != "" && o.DryRun:
				return usageErrorf("--contact-file needs a stored list: drop --dry-run")
			case opts.contactFile == "" && opts.reveal != "":
				return usageErrorf("--reveal: mine target reveals only with --contact-file")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineTargetRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Top, "top", 1000, "customers in the list at most")
	fl.Float64Var(&o.ContactCost, "contact-cost", 0, "cost of contacting one customer")
	fl.Float64Var(&o.ExpectedRevenue, "expected-revenue", 0, "revenue of one response (0: the campaign's mean response revenue)")
	fl.StringVar(&asOf, "as-of", "", "score customers on their rows before this date YYYY-MM-DD (default: the day after the last sale)")
	fl.Float64Var(&o.TestFraction, "test-fraction", 0.3, "share of the campaign's members held out to evaluate the response model")
	fl.IntVar(&seed, "seed", 1, "seed of the stratified split, 0 or more")
	fl.StringVar(&o.Name, "name", "", "model name in kb_model")
	fl.BoolVar(&o.DryRun, "dry-run", false, "score and list without writing to the knowledge base")
	fl.StringVar(&opts.contactFile, "contact-file", "", "also write the list's contact details (name, mobile, e-mail) to this CSV for the mailing tool: steward only, audited")
	addRoleFlag(cmd)
	return cmd
}

func mineTargetRun(ctx context.Context, opts *mineTargetOptions) error {
	a := opts.app
	var principal privacy.Principal
	if opts.contactFile != "" {
		var err error
		if principal, err = a.grant(opts.role); err != nil {
			return err
		}
		if !principal.MayReveal() {
			return fmt.Errorf("--contact-file: role %s may not see raw personal data (steward or admin may)", principal.Role)
		}
	}
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.TargetResult, error) {
		var reveal func(string) (string, error)
		if opts.contactFile != "" {
			// The key first: a list whose contacts cannot be opened is not stored.
			var err error
			if reveal, err = a.tokenRevealer(ctx, w); err != nil {
				return nil, err
			}
		}
		res, err := mining.MineTarget(ctx, w, opts.TargetOptions)
		if err != nil || opts.contactFile == "" {
			return res, err
		}
		n, err := mining.WriteTargetContacts(ctx, w, mining.TargetContactsOptions{ModelID: res.ModelID, Path: opts.contactFile,
			Principal: principal, Reason: opts.reveal, Reveal: reveal})
		if err != nil {
			return nil, err
		}
		a.logf("wrote %d contacts of target model %d to %s (audited)", n, res.ModelID, opts.contactFile)
		return res, nil
	}, func(res *mining.TargetResult) error {
		a.logf("target model %d: campaign %s (%d targeted, %.1f %% responded; features before %s); %d customers scored on %s, "+
			"%d without marketing consent and %d on the do-not-contact list left out; %d listed, %.1f responses and %.2f profit expected",
			res.ModelID, res.Campaign, res.Targeted, 100*res.ResponseRate, res.TrainedAsOf, res.Scored, res.ScoredAsOf,
			res.NoConsent, res.DoNotContact, res.Listed, res.ExpectedResp, res.ExpectedProfit)
		auc := any("n/a")
		if res.Metrics.AUC != nil {
			auc = round(*res.Metrics.AUC, 4)
		}
		if err := a.printTable([]string{"measure", "response_model", "random"}, [][]any{
			{"top-decile lift (held-out members)", round(res.TopDecileLift, 3), 1.0},
			{"auc (held-out members)", auc, 0.5},
		}); err != nil {
			return err
		}
		var rows [][]any
		for _, r := range res.ResponderRules {
			cond := strings.Join(r.Conditions, " AND ")
			if cond == "" {
				cond = "TRUE"
			}
			rows = append(rows, []any{"IF " + cond + " THEN responds", round(r.Confidence, 3), fmt.Sprintf("%.0f", r.Members)})
		}
		return a.printTable([]string{"responder_profile", "confidence", "members"}, rows)
	})
}
