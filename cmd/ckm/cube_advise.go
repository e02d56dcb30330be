package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/olap"
)

func init() {
	registerCubeCommand(func(a *app) *cobra.Command { return newCubeAdviseCmd(a, nil) })
}

// cubeAdviseOptions are what ckm cube advise's flags resolve to.
type cubeAdviseOptions struct {
	app   *app
	cube  string
	limit int // checked: at least 1
}

// newCubeAdviseCmd builds ckm cube advise; runF, when not nil, runs instead
// of cubeAdviseRun.
func newCubeAdviseCmd(a *app, runF func(context.Context, *cubeAdviseOptions) error) *cobra.Command {
	opts := &cubeAdviseOptions{app: a}
	cmd := &cobra.Command{
		Use:   "advise NAME",
		Short: "Suggest rollups from the query log (grains of the heaviest base-table queries)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.cube = args[0]
			if opts.limit < 1 {
				return usageErrorf("--limit %d: want at least 1", opts.limit)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cubeAdviseRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.limit, "limit", 5, "number of suggestions")
	return cmd
}

func cubeAdviseRun(ctx context.Context, opts *cubeAdviseOptions) error {
	a := opts.app
	_, c, err := a.cubeFor(ctx, opts.cube)
	if err != nil {
		return err
	}
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	advice, err := olap.Advise(ctx, w.DB, c, opts.limit)
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
}
