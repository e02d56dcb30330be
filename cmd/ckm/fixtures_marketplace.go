package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/fixtures"
)

func init() {
	registerFixturesCommand(newFixturesMarketplaceCmd)
}

// newFixturesMarketplaceCmd builds ckm fixtures marketplace: a
// marketplace export of many files to load with its own mapping, at any
// size, with the figures a correct load arrives at.
func newFixturesMarketplaceCmd(a *app) *cobra.Command {
	var out string
	var orders int
	var seed int64
	cmd := &cobra.Command{
		Use:   "marketplace --out DIR",
		Short: "Generate a marketplace export (orders, customers, order items, payments) with its mapping and expected.json",
		Long: "Generate an export shaped like the public Brazilian marketplace export: orders,\n" +
			"the customer behind each order, order items and payments (combined per order), with\n" +
			"the ckm.yaml that maps them as one sales source and expected.json, the figures a\n" +
			"correct load arrives at (lines, customers, revenue, freight). Load it with\n" +
			"  ckm --config DIR/ckm.yaml load DIR\n" +
			"The same seed gives the same files.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErrorf("--out is required: the directory to write the files to")
			}
			if orders < 1 {
				return usageErrorf("--orders %d: want at least 1", orders)
			}
			t0 := time.Now()
			truth, err := fixtures.WriteMarketplace(out, orders, uint64(seed))
			if err != nil {
				return err
			}
			a.logf("generated a marketplace export of %d orders in %s into %s", orders, time.Since(t0).Round(time.Millisecond), out)
			if a.format() == formatJSON {
				return writeJSON(a, truth)
			}
			return a.printTable([]string{"figure", "value"}, [][]any{
				{"orders", truth.Orders}, {"cancelled orders", truth.Cancelled},
				{"item lines", truth.ItemLines}, {"payment lines", truth.PaymentLines}, {"customer lines", truth.CustomerLines},
				{"sales lines a load keeps", truth.Loaded}, {"lines of cancelled orders (excluded)", truth.Excluded},
				{"customers", truth.Customers},
				{"revenue", fmt.Sprintf("%d.%02d", truth.RevenueCents/100, truth.RevenueCents%100)},
				{"freight", fmt.Sprintf("%d.%02d", truth.FreightCents/100, truth.FreightCents%100)},
				{"lines paid two ways", truth.TwoTypes},
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write the files to (required)")
	cmd.Flags().IntVar(&orders, "orders", 10000, "orders in the export")
	cmd.Flags().Int64Var(&seed, "seed", 1, "random seed")
	return cmd
}
