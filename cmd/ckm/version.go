package main

import (
	"context"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// versionOptions are what ckm version resolves to (it has no flags of its
// own).
type versionOptions struct{ app *app }

// newVersionCmd builds ckm version; runF, when not nil, runs instead of
// versionRun.
func newVersionCmd(a *app, runF func(context.Context, *versionOptions) error) *cobra.Command {
	opts := &versionOptions{app: a}
	return &cobra.Command{
		Use:   "version",
		Short: "Print ckm's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return versionRun(cmd.Context(), opts)
		},
	}
}

func versionRun(_ context.Context, opts *versionOptions) error {
	return opts.app.printRecord(map[string]any{
		"ckm": version, "duckdb": "v1.5.6", "schema_version": engine.SchemaVersion(), "go": runtime.Version(),
	}, []string{"ckm", "duckdb", "schema_version", "go"})
}
