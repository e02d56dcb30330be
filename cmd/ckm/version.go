package main

import (
	"runtime"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print ckm's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.printRecord(map[string]any{
				"ckm": version, "duckdb": "v1.5.6", "schema_version": engine.SchemaVersion(), "go": runtime.Version(),
			}, []string{"ckm", "duckdb", "schema_version", "go"})
		},
	}
}
