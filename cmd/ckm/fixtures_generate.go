package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/fixtures"
)

func init() {
	registerFixturesCommand(func(a *app) *cobra.Command { return newFixturesGenerateCmd(a, nil) })
}

// fixturesGenerateOptions are the flags of `ckm fixtures generate` and the
// generator options they resolve to.
type fixturesGenerateOptions struct {
	app        *app
	out        string
	customers  int
	days       int
	seed       int64
	start      string
	quiet      bool
	hard       bool
	companion  bool
	responders bool

	// gen is what the flags resolve to, set before the command runs.
	gen fixtures.Options
}

// newFixturesGenerateCmd builds ckm fixtures generate; runF, when not nil,
// runs instead of fixturesGenerateRun with the parsed options.
func newFixturesGenerateCmd(a *app, runF func(context.Context, *fixturesGenerateOptions) error) *cobra.Command {
	opts := &fixturesGenerateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "generate --out DIR",
		Short: "Generate the dirty multi-channel exports of a fictional retailer, with expected.json",
		Long: "Generate the exports of 鑫联百货 (CRM workbook, monthly GBK till files, web orders,\n" +
			"call-centre contacts, products, campaigns) with planted faults at known rates, and\n" +
			"expected.json, the figures a correct load must arrive at (fixtures/FORMATS.md).\n" +
			"The same seed gives byte-identical files.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.resolve(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return fixturesGenerateRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.out, "out", "", "directory to write the files to (required)")
	f.IntVar(&opts.customers, "customers", 1000, fmt.Sprintf("persons in the world (1 to %d)", fixtures.MaxCustomers))
	f.IntVar(&opts.days, "days", 365, "length of the sales period in days")
	f.Int64Var(&opts.seed, "seed", 1, "random seed")
	f.StringVar(&opts.start, "start", "2024-01-01", "first day of the period (YYYY-MM-DD)")
	f.BoolVar(&opts.quiet, "quiet", false, "no progress on stderr")
	f.BoolVar(&opts.hard, "hard-cases", false, "plant hard identity cases (households, number changes, recycled numbers, ID typos, name variants, re-issued cards) and write every record's true person into expected.json")
	f.BoolVar(&opts.companion, "companions", false, "plant companion products (a basket holding one often holds the other, or the buyer's next one does) and list them in expected.json")
	f.BoolVar(&opts.responders, "responders", false, "plant who responds to campaigns (member level and web share drive it) and the members' marketing consent and do-not-contact columns")
	return cmd
}

// resolve checks the flags and sets the generator options.
func (opts *fixturesGenerateOptions) resolve() error {
	if opts.out == "" {
		return usageErrorf("--out is required: the directory to write the files to")
	}
	start, err := time.Parse(time.DateOnly, opts.start)
	if err != nil {
		return usageErrorf("--start %q: want YYYY-MM-DD", opts.start)
	}
	if err := checkWorld(opts.customers, opts.days); err != nil {
		return err
	}
	opts.gen = fixtures.Options{Out: opts.out, Customers: opts.customers, Days: opts.days, Seed: opts.seed, Start: start, HardCases: opts.hard,
		Companions: opts.companion, Responders: opts.responders}
	if !opts.quiet {
		opts.gen.Logf = opts.app.logf
	}
	return nil
}

func fixturesGenerateRun(ctx context.Context, opts *fixturesGenerateOptions) error {
	a := opts.app
	t := time.Now()
	exp, err := fixtures.Generate(ctx, opts.gen)
	if err != nil {
		return err
	}
	a.logf("generated %d files in %s into %s: %d distinct customers, %d sales lines, net revenue %s",
		len(exp.Files)+1, time.Since(t).Round(time.Millisecond), opts.out, exp.DistinctCustomers, exp.FactSalesRows, exp.NetRevenue)
	names := make([]string, 0, len(exp.Files))
	for n := range exp.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	header := []string{"file", "rows", "loaded", "rejected", "duplicates", "warned", "bytes"}
	rows := make([][]any, 0, len(names))
	for _, n := range names {
		ft := exp.Files[n]
		rows = append(rows, []any{n, ft.Rows, ft.Loaded, ft.Rejected, ft.Duplicates, ft.Warned, ft.Bytes})
	}
	if a.format() != formatJSON {
		return a.printTable(header, rows)
	}
	files := make([]map[string]any, len(rows))
	for i, r := range rows {
		files[i] = map[string]any{}
		for j, h := range header {
			files[i][h] = r[j]
		}
	}
	return writeJSON(a, map[string]any{
		"out": opts.out, "seed": exp.Seed, "customers": exp.Customers, "days": exp.Days,
		"start": exp.Start, "export_date": exp.ExportDate, "distinct_customers": exp.DistinctCustomers,
		"net_revenue": exp.NetRevenue, "fact_sales_rows": exp.FactSalesRows, "files": files,
	})
}

// checkCustomers checks the --customers of a generated world: out of range
// is a usage error, never the generator's default.
func checkCustomers(customers int) error {
	if customers < 1 || customers > fixtures.MaxCustomers {
		return usageErrorf("--customers %d: want 1 to %d", customers, fixtures.MaxCustomers)
	}
	return nil
}

// checkWorld checks the --customers and --days of a generated world.
func checkWorld(customers, days int) error {
	if err := checkCustomers(customers); err != nil {
		return err
	}
	if days < 1 || days > fixtures.MaxDays {
		return usageErrorf("--days %d: want 1 to %d", days, fixtures.MaxDays)
	}
	return nil
}
