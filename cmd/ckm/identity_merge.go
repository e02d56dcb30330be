package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/olap"
	"github.com/ckm-dev/ckm/privacy"
)

func init() {
	identityCommands = append(identityCommands,
		func(a *app) *cobra.Command { return newIdentityMergeCmd(a, nil) },
		func(a *app) *cobra.Command { return newIdentitySplitCmd(a, nil) },
		func(a *app) *cobra.Command { return newIdentityUndoCmd(a, nil) },
		func(a *app) *cobra.Command { return newIdentityMergesCmd(a, nil) })
}

// addStewardFlags adds --role and --reason, which every steward decision
// needs.
func addStewardFlags(cmd *cobra.Command, reason *string) {
	cmd.Flags().String("role", string(privacy.Analyst), "role: steward or admin (granted by the principals list of ckm.yaml) may merge, split and undo")
	cmd.Flags().StringVar(reason, "reason", "", "why (required; kept with the decision)")
}

// stewardFlags reads and checks --role and --reason.
func (a *app) stewardFlags(cmd *cobra.Command, reason string) (string, error) {
	role, err := a.role(cmd)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(reason) == "" {
		return "", usageErrorf("--reason: say why (it is kept with the decision)")
	}
	return role, nil
}

// customerArg parses a CUSTOMER argument.
func customerArg(name, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usageErrorf("%s %q: want a customer id (a positive whole number)", name, s)
	}
	return id, nil
}

// steward grants role and returns who decides: a steward or an admin.
func (a *app) steward(role, reason, what string) (etl.Steward, error) {
	p, err := a.grant(role)
	if err != nil {
		return etl.Steward{}, err
	}
	if !p.Role.Covers(privacy.Steward) {
		return etl.Steward{}, fmt.Errorf("%s: role %s may not merge or split customers: ask with --role steward (granted by the principals list of ckm.yaml)", what, p.Role)
	}
	model, err := a.cubeModel()
	if err != nil {
		return etl.Steward{}, err
	}
	// Rollups are rebuilt in the action's transaction, as a load does: the
	// customers measures change with a merge.
	return etl.Steward{User: p.User, Role: string(p.Role), Reason: reason, Version: version,
		BeforeCommit: []func(context.Context, *sql.Tx) error{
			func(ctx context.Context, tx *sql.Tx) error { return olap.RefreshRollups(ctx, tx, model) },
		}}, nil
}

// identityMergeOptions are what ckm identity merge resolves to.
type identityMergeOptions struct {
	app          *app
	a, b         int64
	role, reason string
}

// newIdentityMergeCmd builds ckm identity merge; runF, when not nil, runs
// instead of identityMergeRun with the parsed options.
func newIdentityMergeCmd(a *app, runF func(context.Context, *identityMergeOptions) error) *cobra.Command {
	opts := &identityMergeOptions{app: a}
	cmd := &cobra.Command{
		Use:   "merge CUSTOMER CUSTOMER --reason TEXT --role steward",
		Short: "Merge two customers into one (a steward's decision, kept across loads)",
		Long: `Merge two unified customers: the larger id into the smaller (older) one, so
ids already in reports stay valid. Facts, keys and explanations move in one
transaction; the merged-away customer's versions close now and only the
survivor's stays current. Later loads resolve its keys to the survivor. The
merge is recorded per source record; ckm identity undo MERGE reverts it.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.a, err = customerArg("CUSTOMER", args[0]); err != nil {
				return err
			}
			if opts.b, err = customerArg("CUSTOMER", args[1]); err != nil {
				return err
			}
			if opts.a == opts.b {
				return usageErrorf("CUSTOMER %d %d: name two different customers", opts.a, opts.b)
			}
			if opts.role, err = a.stewardFlags(cmd, opts.reason); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return identityMergeRun(cmd.Context(), opts)
		},
	}
	addStewardFlags(cmd, &opts.reason)
	return cmd
}

func identityMergeRun(ctx context.Context, opts *identityMergeOptions) error {
	a := opts.app
	return a.stewardAction(ctx, opts.role, opts.reason, "identity merge", func(w *engine.Warehouse, st etl.Steward) (*etl.MergeOutcome, error) {
		return etl.MergeCustomers(ctx, w, opts.a, opts.b, st)
	})
}

// stewardAction checks the steward, opens the warehouse, runs one merge,
// split or undo and prints what it did.
func (a *app) stewardAction(ctx context.Context, role, reason, what string, do func(*engine.Warehouse, etl.Steward) (*etl.MergeOutcome, error)) error {
	st, err := a.steward(role, reason, what)
	if err != nil {
		return err
	}
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	out, err := do(w, st)
	if err != nil {
		return err
	}
	return a.printMergeOutcome(out)
}

// printMergeOutcome prints what a merge, split or undo did.
func (a *app) printMergeOutcome(o *etl.MergeOutcome) error {
	return a.printRecord(map[string]any{"merge_id": o.MergeID, "kind": o.Kind, "survivor": o.Survivor, "other": o.Other,
		"fact_rows": o.FactRows, "source_records": o.Records, "keys": o.Keys, "undone": o.Undone, "data_version": o.RunID},
		[]string{"merge_id", "kind", "survivor", "other", "fact_rows", "source_records", "keys", "undone", "data_version"})
}

// identitySplitOptions are what ckm identity split resolves to.
type identitySplitOptions struct {
	app          *app
	customer     int64
	records      string // the keys named, TYPE:VALUE, one a line
	role, reason string
}

// newIdentitySplitCmd builds ckm identity split; runF, when not nil, runs
// instead of identitySplitRun with the parsed options.
func newIdentitySplitCmd(a *app, runF func(context.Context, *identitySplitOptions) error) *cobra.Command {
	opts := &identitySplitOptions{app: a}
	var records []string
	cmd := &cobra.Command{
		Use:   "split CUSTOMER --records TYPE:VALUE[,...] --reason TEXT --role steward",
		Short: "Split the records carrying some keys off a customer (a steward's decision, kept across loads)",
		Long: `Split a unified customer: the source records carrying any of the keys named
(TYPE:VALUE as ckm identity explain lists a customer's keys: the normalised
value, e.g. member_card:M00000002 or mobile:+8613800138000, or the masked
form explain shows, e.g. mobile:138****8000, which on a protected warehouse
stands for the token; a masked form two of the customer's keys share is
refused — name that one with explain --reveal's value), and
the customer's keys that only those records carry, move to a new customer
with their facts, in one transaction. Later loads keep the two apart: a
record linking them goes to the customer its card or ID number names. The
split is recorded per source record; ckm identity undo MERGE reverts it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.customer, err = customerArg("CUSTOMER", args[0]); err != nil {
				return err
			}
			if len(records) == 0 {
				return usageErrorf("--records: name the keys of the records to split off (TYPE:VALUE, see ckm identity explain)")
			}
			keys := make([]string, len(records))
			for i, r := range records {
				k, err := etl.ParseIdentityKey(r)
				if err != nil {
					return usageErrorf("--records: %v", err)
				}
				keys[i] = k.Type + ":" + k.Value
			}
			opts.records = strings.Join(keys, "\n")
			if opts.role, err = a.stewardFlags(cmd, opts.reason); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return identitySplitRun(cmd.Context(), opts)
		},
	}
	addStewardFlags(cmd, &opts.reason)
	cmd.Flags().StringSliceVar(&records, "records", nil, "the keys whose records split off: TYPE:VALUE, comma-separated or repeated")
	return cmd
}

func identitySplitRun(ctx context.Context, opts *identitySplitOptions) error {
	a := opts.app
	var keys []etl.IdentityKey
	for _, r := range strings.Split(opts.records, "\n") {
		k, err := etl.ParseIdentityKey(r)
		if err != nil {
			return usageErrorf("--records: %v", err)
		}
		keys = append(keys, k)
	}
	return a.stewardAction(ctx, opts.role, opts.reason, "identity split", func(w *engine.Warehouse, st etl.Steward) (*etl.MergeOutcome, error) {
		return etl.SplitCustomer(ctx, w, opts.customer, keys, st)
	})
}

// identityUndoOptions are what ckm identity undo resolves to.
type identityUndoOptions struct {
	app          *app
	merge        int64
	role, reason string
}

// newIdentityUndoCmd builds ckm identity undo; runF, when not nil, runs
// instead of identityUndoRun with the parsed options.
func newIdentityUndoCmd(a *app, runF func(context.Context, *identityUndoOptions) error) *cobra.Command {
	opts := &identityUndoOptions{app: a}
	cmd := &cobra.Command{
		Use:   "undo MERGE --reason TEXT --role steward",
		Short: "Revert a merge or split exactly (see ckm identity merges)",
		Long: `Revert a merge (found by a load or a steward's) or a split: every fact row,
key and explanation it moved goes back to its customer and version, and the
versions it closed or added are as they were, in one transaction. Later
merges and splits of the same customers must be undone first.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return usageErrorf("MERGE %q: want a merge id (a positive whole number; see ckm identity merges)", args[0])
			}
			opts.merge = id
			if opts.role, err = a.stewardFlags(cmd, opts.reason); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return identityUndoRun(cmd.Context(), opts)
		},
	}
	addStewardFlags(cmd, &opts.reason)
	return cmd
}

func identityUndoRun(ctx context.Context, opts *identityUndoOptions) error {
	a := opts.app
	return a.stewardAction(ctx, opts.role, opts.reason, "identity undo", func(w *engine.Warehouse, st etl.Steward) (*etl.MergeOutcome, error) {
		return etl.UndoMerge(ctx, w, opts.merge, st)
	})
}

// identityMergesOptions are what ckm identity merges resolves to.
type identityMergesOptions struct {
	app      *app
	customer int64
}

// newIdentityMergesCmd builds ckm identity merges; runF, when not nil,
// runs instead of identityMergesRun with the parsed options.
func newIdentityMergesCmd(a *app, runF func(context.Context, *identityMergesOptions) error) *cobra.Command {
	opts := &identityMergesOptions{app: a}
	cmd := &cobra.Command{
		Use:   "merges [CUSTOMER]",
		Short: "The merges and splits of customers, with the decisions behind them",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				var err error
				if opts.customer, err = customerArg("CUSTOMER", args[0]); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return identityMergesRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func identityMergesRun(ctx context.Context, opts *identityMergesOptions) error {
	return opts.app.queryTable(ctx, `SELECT m.merge_id, m.kind, m.run_id, m.survivor, m.other, strftime(m.merged_at, '%Y-%m-%d %H:%M:%S') AS merged_at,
			(SELECT coalesce(sum(rows), 0) FROM etl_customer_merge h WHERE h.merge_id = m.merge_id) AS fact_rows,
			coalesce(d.principal || ' (' || d.role || '): ' || d.reason, 'found by load ' || m.run_id) AS decision,
			m.undone_run, strftime(m.undone_at, '%Y-%m-%d %H:%M:%S') AS undone_at
		FROM customer_merge m LEFT JOIN identity_decision d USING (decision_id)
		WHERE ? = 0 OR ? IN (m.survivor, m.other) ORDER BY m.merge_id`, opts.customer, opts.customer)
}
