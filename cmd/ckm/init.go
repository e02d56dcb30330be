package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
)

// initOptions are what ckm init resolves to (it has no flags of its own).
type initOptions struct{ app *app }

// newInitCmd builds ckm init; runF, when not nil, runs instead of initRun.
func newInitCmd(a *app, runF func(context.Context, *initOptions) error) *cobra.Command {
	opts := &initOptions{app: a}
	return &cobra.Command{
		Use:   "init",
		Short: "Create or upgrade the warehouse (idempotent)",
		Args:  cobra.NoArgs,
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
	return a.printRecord(map[string]any{"warehouse": w.Path, "schema_version": v},
		[]string{"warehouse", "schema_version"})
}
