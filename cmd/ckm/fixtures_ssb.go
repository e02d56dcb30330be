package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/fixtures/ssb"
	"github.com/ckm-dev/ckm/olap"
)

func init() { registerFixturesCommand(newFixturesSSBCmd) }

func newFixturesSSBCmd(a *app) *cobra.Command {
	var sf float64
	var rollups bool
	cmd := &cobra.Command{
		Use:   "ssb --sf X",
		Short: "Write the Star Schema Benchmark tables (lineorder, date, customer, supplier, part) into the warehouse",
		Long: "Generate the Star Schema Benchmark of O'Neil et al. at scale factor X inside DuckDB\n" +
			"(lineorder ≈ 6,000,000×X rows), deterministically, replacing any SSB tables in the\n" +
			"warehouse. Query it with the builtin cube: ckm cube query ssb ….",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sf <= 0 {
				return usageErrorf("--sf %v: want a positive scale factor, e.g. 0.01 or 1", sf)
			}
			ctx := cmd.Context()
			w, err := a.createWarehouse(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			start := time.Now()
			if err := ssb.Generate(ctx, w.DB, sf); err != nil {
				return err
			}
			gen := time.Since(start)
			if rollups {
				m, err := a.cubeModel()
				if err != nil {
					return err
				}
				if err := olap.NewExecutor(w, m).Refresh(ctx, "ssb", nil); err != nil {
					return err
				}
			}
			var rows [][]any
			for _, t := range ssb.Tables {
				var n int64
				if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM "`+t+`"`).Scan(&n); err != nil {
					return err
				}
				rows = append(rows, []any{t, n})
			}
			a.logf("SSB at SF %v generated in %v", sf, gen.Round(time.Millisecond))
			return a.printTable([]string{"table", "rows"}, rows)
		},
	}
	cmd.Flags().Float64Var(&sf, "sf", 1, "scale factor (1 = 6 million lineorder rows)")
	cmd.Flags().BoolVar(&rollups, "rollups", false, "also materialize the ssb cube's rollups")
	return cmd
}
