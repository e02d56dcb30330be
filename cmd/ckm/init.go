package main

import (
	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
)

func newInitCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create or upgrade the warehouse (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := engine.Open(cmd.Context(), a.warehousePath(), engine.Options{})
			if err != nil {
				return err
			}
			defer w.Close()
			v, err := w.Version(cmd.Context())
			if err != nil {
				return err
			}
			return a.printRecord(map[string]any{"warehouse": w.Path, "schema_version": v},
				[]string{"warehouse", "schema_version"})
		},
	}
}
