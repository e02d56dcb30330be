package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/etl"
)

// fieldsOptions are what ckm fields resolves to.
type fieldsOptions struct {
	app    *app
	target string // one target, or "" for all
}

func init() { registerCommand(func(a *app) *cobra.Command { return newFieldsCmd(a, nil) }) }

// newFieldsCmd builds ckm fields; runF, when not nil, runs instead of
// fieldsRun.
func newFieldsCmd(a *app, runF func(context.Context, *fieldsOptions) error) *cobra.Command {
	opts := &fieldsOptions{app: a}
	return &cobra.Command{
		Use:   "fields [TARGET]",
		Short: "List the canonical fields a source mapping fills (name, type, required, aliases)",
		Long: `List the canonical fields of each target (customers, products, sales,
interactions, campaigns, responses) or of one: the names a ckm.yaml
'sources:' mapping uses under 'columns:', what each holds, whether a source
must map it, and the headers the built-in and configured mappings try.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.target = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return fieldsRun(cmd.Context(), opts)
		},
	}
}

func fieldsRun(_ context.Context, opts *fieldsOptions) error {
	a := opts.app
	ms, err := a.configuredMappings()
	if err != nil {
		return err
	}
	fields, err := etl.Fields(opts.target, ms)
	if err != nil {
		return usageError{err}
	}
	if a.format() == formatJSON {
		return writeJSON(a, fields)
	}
	var rows [][]any
	for _, f := range fields {
		rows = append(rows, []any{f.Target, f.Name, f.Type, f.Required, strings.Join(f.Aliases, ", ")})
	}
	return a.printTable([]string{"target", "field", "type", "required", "aliases"}, rows)
}
