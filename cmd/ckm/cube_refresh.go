package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/olap"
)

func init() {
	registerCubeCommand(func(a *app) *cobra.Command { return newCubeRefreshCmd(a, nil) })
}

// cubeRefreshOptions are what ckm cube refresh resolves to.
type cubeRefreshOptions struct {
	app     *app
	cube    string
	rollups []string // none: every rollup of the cube
}

// newCubeRefreshCmd builds ckm cube refresh; runF, when not nil, runs
// instead of cubeRefreshRun.
func newCubeRefreshCmd(a *app, runF func(context.Context, *cubeRefreshOptions) error) *cobra.Command {
	opts := &cubeRefreshOptions{app: a}
	return &cobra.Command{
		Use:   "refresh NAME [ROLLUP...]",
		Short: "Materialize a cube's rollup tables (all, or the named ones) in one transaction",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.cube, opts.rollups = args[0], args[1:]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cubeRefreshRun(cmd.Context(), opts)
		},
	}
}

func cubeRefreshRun(ctx context.Context, opts *cubeRefreshOptions) error {
	a := opts.app
	m, c, err := a.cubeFor(ctx, opts.cube)
	if err != nil {
		return err
	}
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	if err := olap.NewExecutor(w, m).Refresh(ctx, c.Name, opts.rollups); err != nil {
		return err
	}
	version, err := w.DataVersion(ctx)
	if err != nil {
		return err
	}
	avail, err := olap.AvailableRollups(ctx, w.DB, c, version)
	if err != nil {
		return err
	}
	var rows [][]any
	for _, name := range olap.RollupNames(c) {
		if info, ok := avail[name]; ok {
			rows = append(rows, []any{name, info.Rows, version})
		}
	}
	return a.printTable([]string{"rollup", "rows", "data_version"}, rows)
}
