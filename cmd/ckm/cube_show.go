package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func init() { registerCubeCommand(func(a *app) *cobra.Command { return newCubeShowCmd(a, nil) }) }

// cubeShowOptions are what ckm cube show resolves to.
type cubeShowOptions struct {
	app  *app
	cube string
}

// newCubeShowCmd builds ckm cube show; runF, when not nil, runs instead of
// cubeShowRun.
func newCubeShowCmd(a *app, runF func(context.Context, *cubeShowOptions) error) *cobra.Command {
	opts := &cubeShowOptions{app: a}
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a cube's dimensions, hierarchies, levels, measures and rollups",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.cube = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cubeShowRun(cmd.Context(), opts)
		},
	}
}

func cubeShowRun(ctx context.Context, opts *cubeShowOptions) error {
	a := opts.app
	_, c, err := a.cubeFor(ctx, opts.cube)
	if err != nil {
		return err
	}
	var rows [][]any
	for _, d := range c.Dimensions {
		table := c.Fact
		if d.Join != "" {
			for _, j := range c.Joins {
				if j.Name == d.Join {
					table = j.Table
				}
			}
		}
		for _, h := range d.Hierarchies {
			var names []string
			for _, l := range h.Levels {
				names = append(names, d.Name+"."+l.Name)
			}
			rows = append(rows, []any{"hierarchy", d.Name + "/" + h.Name, strings.Join(names, " > ") + " (" + table + ")"})
		}
		for _, l := range d.Attributes {
			rows = append(rows, []any{"attribute", d.Name + "." + l.Name, table + "." + l.Column})
		}
	}
	for _, m := range c.Measures {
		var def string
		switch {
		case m.Agg != "":
			def = m.Agg + "(" + m.Expr + ")"
			for _, w := range m.Where {
				def += fmt.Sprintf(" where %s %s %v", w.Column, w.Op, w.Values)
			}
			if m.SemiAdditive != "" {
				def += ", semi-additive: " + m.SemiAdditive + " over the date"
			}
		case m.Derived != "":
			def = m.Derived
		case m.PercentOfTotal != "":
			def = "percent of total " + m.PercentOfTotal
		case m.Time != nil:
			switch {
			case m.Time.Compare != "":
				out := m.Time.Output
				if out == "" {
					out = "value"
				}
				def = fmt.Sprintf("%s of %s, %s", m.Time.Compare, m.Time.Base, out)
			case m.Time.ToDate != "":
				def = m.Time.ToDate + "-to-date " + m.Time.Base
			default:
				def = fmt.Sprintf("rolling %d periods of %s", m.Time.Rolling, m.Time.Base)
			}
		}
		rows = append(rows, []any{"measure", m.Name, def})
	}
	for _, r := range c.Rollups {
		rows = append(rows, []any{"rollup", r.Name, strings.Join(r.Levels, ", ") + ": " + strings.Join(r.Measures, ", ")})
	}
	if c.DrillThrough != nil {
		var cols []string
		for _, tc := range c.DrillThrough.Columns {
			s := tc.Name
			if tc.PII != "" {
				s += " (pii: " + tc.PII + ")"
			}
			cols = append(cols, s)
		}
		rows = append(rows, []any{"drill-through", "columns", strings.Join(cols, ", ")})
	}
	return a.printTable([]string{"kind", "name", "definition"}, rows)
}
