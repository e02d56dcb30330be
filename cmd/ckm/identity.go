package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/privacy"
)

// identityCommands are the subcommands of ckm identity.
var identityCommands []func(*app) *cobra.Command

func init() {
	registerCommand(func(a *app) *cobra.Command {
		cmd := &cobra.Command{Use: "identity", Short: "Why customers' records are unified", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() }}
		for _, f := range identityCommands {
			cmd.AddCommand(f(a))
		}
		return cmd
	})
	identityCommands = append(identityCommands, func(a *app) *cobra.Command { return newIdentityExplainCmd(a, nil) })
}

// identityExplainOptions are what ckm identity explain resolves to.
type identityExplainOptions struct {
	app          *app
	customer     int64
	role, reveal string
}

// newIdentityExplainCmd builds ckm identity explain; runF, when not nil,
// runs instead of identityExplainRun with the parsed options.
func newIdentityExplainCmd(a *app, runF func(context.Context, *identityExplainOptions) error) *cobra.Command {
	opts := &identityExplainOptions{app: a}
	cmd := &cobra.Command{
		Use:   "explain CUSTOMER",
		Short: "The keys, rules and records that hold a customer's records together",
		Long: `Show, per load, each key of the customer's records (masked) with the rule that
used it: strong (card, valid ID number), id_typo (an ID number one digit from
another of the customer's, with name/birth date/region agreeing), weak (a
mobile or e-mail no other customer holds), shared (held by other customers
too: it links nothing), shared_by_time (records carrying only shared keys,
given to this customer as the holder at their time and channel), or
shared_alone (such records no holder could claim); how many records carry
it and when. A steward or admin gives --reveal REASON to see the raw keys
(written to the reveal audit), as ckm identity split names them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return usageErrorf("CUSTOMER %q: want a customer id (a positive whole number)", args[0])
			}
			opts.customer = id
			if opts.role, err = a.role(cmd); err != nil {
				return err
			}
			if opts.reveal, err = a.reveal(cmd, opts.role); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return identityExplainRun(cmd.Context(), opts)
		},
	}
	addRoleFlag(cmd)
	return cmd
}

func identityExplainRun(ctx context.Context, opts *identityExplainOptions) error {
	a := opts.app
	if opts.reveal != "" {
		principal, err := a.grant(opts.role)
		if err != nil {
			return err
		}
		// No audit row, no raw keys.
		if err := a.auditReveal(ctx, privacy.Reveal{Principal: principal, Command: "identity explain",
			Detail: fmt.Sprintf("customer %d", opts.customer), Reason: opts.reveal, Rows: -1}); err != nil {
			return err
		}
	}
	header, rows, err := a.query(ctx, `SELECT run_id AS run, key_type, CASE WHEN ? THEN key_value ELSE coalesce(key_display, key_value) END AS key, rule, coalesce(detail, '') AS detail, records,
		strftime(first_seen, '%Y-%m-%d') AS first_seen, strftime(last_seen, '%Y-%m-%d') AS last_seen
		FROM identity_link WHERE customer_id = ?
		ORDER BY run_id, CASE rule WHEN 'strong' THEN 1 WHEN 'id_typo' THEN 2 WHEN 'weak' THEN 3 WHEN 'shared_by_time' THEN 4
			WHEN 'shared_alone' THEN 5 ELSE 6 END, key_type, key_value`, opts.reveal != "", opts.customer)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		_, merged, err := a.query(ctx, `SELECT survivor, merge_id FROM customer_merge
			WHERE other = ? AND kind NOT IN ('steward_split', 'load_split') AND undone_run IS NULL ORDER BY merge_id DESC LIMIT 1`, opts.customer)
		if err != nil {
			return err
		}
		if len(merged) == 1 {
			return fmt.Errorf("customer %d was merged into customer %v (merge %v): ckm identity explain %v", opts.customer, merged[0][0], merged[0][1], merged[0][0])
		}
		return fmt.Errorf("customer %d: no identity links (no load resolved this customer)", opts.customer)
	}
	if opts.reveal != "" {
		// A protected warehouse stores tokens: the raw keys are sealed.
		if err := a.revealColumn(ctx, rows, 2); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if opts.reveal != "" {
			break
		}
		kind, _ := r[1].(string)
		if v, ok := r[2].(string); ok {
			r[2] = privacy.Mask(privacy.ParseKind(kind), v) // key types are named as the kinds; a display value is masked already
		}
		if v, ok := r[4].(string); ok {
			r[4] = privacy.MaskText(v) // an id_typo's detail names the other ID
		}
	}
	return a.printTable(header, rows)
}
