package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl/region"
	"github.com/ckm-dev/ckm/olap"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// initOptions are what ckm init resolves to (it has no flags of its own).
type initOptions struct{ app *app }

// newInitCmd builds ckm init; runF, when not nil, runs instead of initRun.
func newInitCmd(a *app, runF func(context.Context, *initOptions) error) *cobra.Command {
	opts := &initOptions{app: a}
	return &cobra.Command{
		Use:   "init",
		Short: "Create or upgrade the warehouse (idempotent); a new warehouse is protected",
		Long: `Create the warehouse, or upgrade its schema. A warehouse without a data key
gets one: personal data is stored encrypted from the first load, under a
key from --key-file (created if missing), CKM_KEY, or else a new key file
in the key directory (CKM_KEY_DIR, default the user's configuration
directory, e.g. ~/.config/ckm/keys), named by the key's id. A warehouse
loaded in the clear by an older ckm is converted and rewritten whole.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return initRun(cmd.Context(), opts)
		},
	}
}

func initRun(ctx context.Context, opts *initOptions) error {
	a := opts.app
	w, err := engine.Open(ctx, a.warehousePath(), a.engineOptions())
	if err != nil {
		return err
	}
	defer w.Close()
	v, err := w.Version(ctx)
	if err != nil {
		return err
	}
	if err := emptyRollups(ctx, a, w); err != nil {
		return err
	}
	if err := ensureProtected(ctx, a, w); err != nil {
		return err
	}
	return a.printRecord(map[string]any{"warehouse": w.Path, "schema_version": v},
		[]string{"warehouse", "schema_version"})
}

// ensureProtected gives a warehouse without a data key one (protection by
// default): a new one simply gets its key, one loaded in the clear by an
// older ckm is converted and rewritten whole (protectWarehouse). A
// protected warehouse stays as it is; its key is not needed here.
func ensureProtected(ctx context.Context, a *app, w *engine.Warehouse) error {
	if a.cfg.GetBool("read-only") {
		return nil
	}
	protected, err := vault.Protected(ctx, w.DB)
	if err != nil || protected {
		return err
	}
	_, err = protectWarehouse(ctx, a, w)
	return err
}

// emptyRollups prepares a warehouse for its loads in one transaction: the
// regions of the embedded GB/T 2260 table in dim_region (static reference
// rows, like dim_date's calendar; a load only checks them), and the cubes'
// rollups that loads refresh in place materialized empty while nothing is
// loaded, so that the first load refreshes them as every later one does
// instead of creating their tables (olap.CreateEmptyRollups).
func emptyRollups(ctx context.Context, a *app, w *engine.Warehouse) error {
	if a.cfg.GetBool("read-only") {
		return nil
	}
	model, err := a.cubeModel()
	if err != nil {
		return err
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := region.LoadDim(ctx, tx); err != nil {
		return err
	}
	if err := olap.CreateEmptyRollups(ctx, tx, model); err != nil {
		return err
	}
	return tx.Commit()
}
