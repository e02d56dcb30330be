package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/olap"
)

func init() { registerCubeCommand(newCubeAdviseCmd) }

func newCubeAdviseCmd(a *app) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "advise NAME",
		Short: "Suggest rollups from the query log (grains of the heaviest base-table queries)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, c, err := a.cubeFor(ctx, args[0])
			if err != nil {
				return err
			}
			w, err := a.openWarehouse(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			advice, err := olap.Advise(ctx, w.DB, c, limit)
			if err != nil {
				return err
			}
			if a.format() == formatJSON {
				return writeJSON(a, advice)
			}
			var rows [][]any
			for i, ad := range advice {
				rows = append(rows, []any{ad.Queries, fmt.Sprintf("%.1f", ad.TotalMS), strings.TrimSpace(ad.YAML(fmt.Sprintf("advised_%d", i+1))), strings.Join(ad.Skipped, ", ")})
			}
			if len(rows) == 0 {
				a.logf("no base-table queries of cube %s in the log yet", c.Name)
			}
			return a.printTable([]string{"queries", "total_ms", "rollup (add under rollups: in the cube file)", "not rollup-able"}, rows)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 5, "number of suggestions")
	return cmd
}
