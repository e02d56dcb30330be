package main

import (
	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/olap"
)

func init() { registerCubeCommand(newCubeRefreshCmd) }

func newCubeRefreshCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh NAME [ROLLUP...]",
		Short: "Materialize a cube's rollup tables (all, or the named ones) in one transaction",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			m, c, err := a.cubeFor(ctx, args[0])
			if err != nil {
				return err
			}
			w, err := a.openWarehouse(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			if err := olap.NewExecutor(w, m).Refresh(ctx, c.Name, args[1:]); err != nil {
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
		},
	}
}
