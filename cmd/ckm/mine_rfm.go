package main

import (
	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/mining"
)

func init() { registerMineCommand(newMineRFMCmd) }

func newMineRFMCmd(a *app) *cobra.Command {
	var f mineFlags
	var window int
	cmd := &cobra.Command{
		Use:   "rfm",
		Short: "Recency, frequency, monetary scores and segments per customer",
		Long: "Computes RFM per customer from the purchases up to --as-of (within --window-days, returns netted),\n" +
			"quintile scores (ties share the lower score) and named segments, and writes them to kb_customer_score.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateMineFlags(cmd); err != nil {
				return err
			}
			asOf, err := flagDate("as-of", f.asOf)
			if err != nil {
				return err
			}
			w, err := a.openWarehouse(cmd.Context())
			if err != nil {
				return err
			}
			defer w.Close()
			res, err := mining.RFM(cmd.Context(), w, mining.RFMOptions{Source: f.sourceSpec(), AsOf: asOf, WindowDays: window, Name: f.name, DryRun: f.dryRun})
			if err != nil {
				return err
			}
			if a.format() == formatJSON {
				return writeJSON(a, res)
			}
			a.logf("rfm model %d as of %s: %d customers", res.ModelID, res.AsOf, res.Customers)
			rows := make([][]any, len(res.Segments))
			for i, s := range res.Segments {
				rows[i] = []any{s.Segment, s.Customers, round(100*s.Share, 1), round(s.Monetary, 2)}
			}
			return a.printTable([]string{"segment", "customers", "share_pct", "monetary"}, rows)
		},
	}
	f.add(cmd, false)
	cmd.Flags().IntVar(&window, "window-days", 0, "only purchases in the last N days before --as-of (0: all history)")
	return cmd
}
