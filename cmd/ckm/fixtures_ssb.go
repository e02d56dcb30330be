package main

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/fixtures/ssb"
	"github.com/ckm-dev/ckm/olap"
)

func init() {
	registerFixturesCommand(func(a *app) *cobra.Command { return newFixturesSSBCmd(a, nil) })
}

// fixturesSSBOptions are what ckm fixtures ssb's flags resolve to.
type fixturesSSBOptions struct {
	app     *app
	sf      float64 // checked: positive and finite
	from    string  // a directory of ssb-dbgen .tbl files instead of generating; not with --sf
	rollups bool
}

// newFixturesSSBCmd builds ckm fixtures ssb; runF, when not nil, runs
// instead of fixturesSSBRun with the parsed options.
func newFixturesSSBCmd(a *app, runF func(context.Context, *fixturesSSBOptions) error) *cobra.Command {
	opts := &fixturesSSBOptions{app: a}
	cmd := &cobra.Command{
		Use:   "ssb [--sf X | --from DIR]",
		Short: "Write the Star Schema Benchmark tables (lineorder, date, customer, supplier, part) into the warehouse",
		Long: "Generate the Star Schema Benchmark of O'Neil et al. at scale factor X inside DuckDB\n" +
			"(lineorder ≈ 6,000,000×X rows), deterministically, replacing any SSB tables in the\n" +
			"warehouse. With --from DIR, load instead the .tbl files (lineorder, customer, supplier,\n" +
			"part, date) that the public generator ssb-dbgen wrote into DIR, in one transaction.\n" +
			"Query it with the builtin cube: ckm cube query ssb ….",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkScaleFactor(opts.sf); err != nil {
				return err
			}
			if opts.from != "" && cmd.Flags().Changed("sf") {
				return usageErrorf("--sf %v with --from %s: the scale factor is the one the files were generated at; give one of them", opts.sf, opts.from)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return fixturesSSBRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().Float64Var(&opts.sf, "sf", 1, "scale factor (1 = 6 million lineorder rows)")
	cmd.Flags().StringVar(&opts.from, "from", "", "load the .tbl files of ssb-dbgen from this directory instead of generating")
	cmd.Flags().BoolVar(&opts.rollups, "rollups", false, "also materialize the ssb cube's rollups")
	return cmd
}

// checkScaleFactor checks an SSB --sf: positive and finite.
func checkScaleFactor(sf float64) error {
	if !(sf > 0) || math.IsInf(sf, 0) {
		return usageErrorf("--sf %v: want a positive scale factor, e.g. 0.01 or 1", sf)
	}
	return nil
}

func fixturesSSBRun(ctx context.Context, opts *fixturesSSBOptions) error {
	a := opts.app
	w, err := a.createWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	start := time.Now()
	if opts.from != "" {
		err = loadSSBFiles(ctx, w.DB, opts.from)
	} else {
		err = ssb.Generate(ctx, w.DB, opts.sf)
	}
	if err != nil {
		return err
	}
	gen := time.Since(start)
	if opts.rollups {
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
	if opts.from != "" {
		a.logf("SSB loaded from %s in %v", opts.from, gen.Round(time.Millisecond))
	} else {
		a.logf("SSB at SF %v generated in %v", opts.sf, gen.Round(time.Millisecond))
	}
	return a.printTable([]string{"table", "rows"}, rows)
}

// loadSSBFiles loads ssb-dbgen's .tbl files from dir in one transaction,
// so a bad file leaves the warehouse's SSB tables as they were.
func loadSSBFiles(ctx context.Context, db *sql.DB, dir string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := ssb.Load(ctx, tx, dir); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
