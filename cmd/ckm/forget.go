package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/export"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// forgetOptions are what ckm forget's arguments and flags resolve to.
type forgetOptions struct {
	app      *app
	customer int64
	reason   string
	role     string
	lakes    []string // Iceberg lakes (ckm export lake) to expire snapshots in
}

func init() { registerCommand(func(a *app) *cobra.Command { return newForgetCmd(a, nil) }) }

// newForgetCmd builds ckm forget CUSTOMER --reason R.
func newForgetCmd(a *app, runF func(context.Context, *forgetOptions) error) *cobra.Command {
	opts := &forgetOptions{app: a}
	cmd := &cobra.Command{
		Use:   "forget CUSTOMER",
		Short: "Erase a customer's personal data (a data subject's deletion request)",
		Long: `Carry out a deletion request on a protected warehouse: the customer's own key
and encrypted values are destroyed (so no copy of the file can decrypt them),
the tokens that would find the customer again are removed from the identity
map and its links, reject-ledger records holding their ID number, mobile,
e-mail or member card, or a name of theirs with their birth date, lose their
raw text, and their dim_customer versions lose ID number, name, mobile, e-mail
and birth date.
Facts stay as anonymous history. The warehouse file is then rewritten whole,
so no freed block keeps what was removed. Needs the key and the admin role.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageErrorf("CUSTOMER %q: want a customer id (a positive integer)", args[0])
			}
			opts.customer = id
			if opts.reason == "" {
				return usageErrorf("--reason: give the erasure request (e.g. its reference)")
			}
			if opts.role, err = a.role(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return forgetRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.reason, "reason", "", "the erasure request (logged in vault_forgotten)")
	cmd.Flags().String("role", string(privacy.Analyst), "role: admin erases; granted by the principals list of ckm.yaml")
	cmd.Flags().StringSliceVar(&opts.lakes, "lake", nil, "Iceberg lakes written by ckm export lake: re-exported and every older snapshot expired (default: config export.lake.dir)")
	return cmd
}

func forgetRun(ctx context.Context, opts *forgetOptions) error {
	a := opts.app
	principal, err := a.grant(opts.role)
	if err != nil {
		return err
	}
	if !principal.MayExportRaw() {
		return fmt.Errorf("role %s may not erase customers (admin may)", principal.Role)
	}
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	v, err := a.openVault(ctx, w)
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("warehouse %s: %w (erasure by crypto-shredding needs the customers' keys)", w.Path, vault.ErrNotProtected)
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	e, err := v.Forget(ctx, tx, opts.customer, principal.User, opts.reason)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("forget customer %d: %w", opts.customer, err)
	}
	path := w.Path
	if err := w.Close(); err != nil {
		return err
	}
	if err := engine.Rewrite(ctx, path); err != nil {
		return fmt.Errorf("customer %d was forgotten, but rewriting %s failed (old blocks may keep what was removed; run ckm forget again): %w", opts.customer, path, err)
	}
	a.logf("customer %d forgotten: %d sealed values destroyed, %d identity keys and links removed, %d ledger records erased, %d versions emptied; %s rewritten",
		e.CustomerID, e.ValuesSealed, e.LinksBroken, e.LedgerRedacted, e.VersionsBlank, path)
	if err := forgetInLakes(ctx, a, opts, principal); err != nil {
		return err
	}
	if a.format() == formatJSON {
		return writeJSON(a, e)
	}
	return nil
}

// forgetInLakes expires, in each configured lake, every snapshot that may
// still hold the forgotten customer.
func forgetInLakes(ctx context.Context, a *app, opts *forgetOptions, p privacy.Principal) error {
	lakes := opts.lakes
	if len(lakes) == 0 && a.cfg.GetString("export.lake.dir") != "" {
		lakes = []string{a.cfg.GetString("export.lake.dir")}
	}
	if len(lakes) == 0 {
		return nil
	}
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	for _, dir := range lakes {
		res, err := export.ForgetInLake(ctx, w, dir, p, fmt.Sprintf("forget customer %d: %s", opts.customer, opts.reason))
		if err != nil {
			return fmt.Errorf("customer %d was forgotten in the warehouse, but lake %s still has older snapshots (run ckm forget again): %w", opts.customer, dir, err)
		}
		a.logf("lake %s: export %d, %d older snapshots expired, %d files removed", dir, res.ExportID, res.SnapshotsExpired, res.FilesRemoved)
	}
	return nil
}
