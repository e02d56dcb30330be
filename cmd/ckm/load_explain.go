package main

import (
	"context"
	"strings"

	"github.com/ckm-dev/ckm/etl"
)

// explainRun is ckm load --explain: which source reads each file, and for
// each canonical field the header it maps and the aliases tried. It reads
// file heads only and needs no warehouse.
func explainRun(ctx context.Context, opts *loadOptions) error {
	a := opts.app
	ms, err := a.configuredMappings()
	if err != nil {
		return err
	}
	rep, err := etl.Explain(ctx, opts.paths, ms)
	if err != nil {
		return err
	}
	if a.format() == formatJSON {
		return writeJSON(a, rep)
	}
	header := []string{"file", "source", "role", "field", "required", "from", "tried"}
	var rows [][]any
	for _, f := range rep.Files {
		if len(f.Fields) == 0 {
			rows = append(rows, []any{f.Path, f.Source, f.Role, "", "", f.Note, ""})
			continue
		}
		for _, x := range f.Fields {
			from := x.From
			if from == "" {
				from = "(none)"
			}
			rows = append(rows, []any{f.Path, f.Source, f.Role, x.Field, x.Required, from, strings.Join(x.Tried, ", ")})
		}
	}
	for _, p := range rep.Ignored {
		rows = append(rows, []any{p, "", "ignored", "", "", "no source mapping matches its name", ""})
	}
	for _, p := range rep.Refused {
		rows = append(rows, []any{p, "", "refused", "", "", "", ""})
	}
	return a.printTable(header, rows)
}
