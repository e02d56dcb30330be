package olap

import (
	"fmt"
	"strings"

	"github.com/ckm-dev/ckm/privacy"
)

// maskSQL wraps a PII column in what an analyst sees of its kind
// (privacy's DisplaySQL: the mask kept for a token, else the kind's
// ckm_mask_* macro); an unknown kind hides the value whole.
func maskSQL(kind, expr string) string {
	if d := privacy.ParseKind(kind).DisplaySQL(expr); d != "" {
		return d
	}
	return "CASE WHEN " + expr + " IS NULL THEN NULL ELSE '***' END"
}

// DefaultThroughLimit is the page size of a drill-through without a limit.
const DefaultThroughLimit = 100

// compileThrough lists the base rows behind the cell that rq's filters name.
func compileThrough(rq *resolved) (*Compiled, error) {
	c := rq.c
	if c.DrillThrough == nil || len(c.DrillThrough.Columns) == 0 {
		return nil, fmt.Errorf("cube %s allows no drill-through (add drill_through: columns: to the model)", c.Name)
	}
	cols := c.DrillThrough.Columns
	if len(rq.through.Columns) > 0 {
		cols = nil
		for _, name := range rq.through.Columns {
			var found *ThroughColumn
			var names []string
			for _, tc := range c.DrillThrough.Columns {
				names = append(names, tc.Name)
				if tc.Name == name {
					found = tc
				}
			}
			if found == nil {
				return nil, fmt.Errorf("through: column %q is not whitelisted for drill-through (allowed: %s)", name, strings.Join(names, ", "))
			}
			cols = append(cols, found)
		}
	}
	b := &binder{}
	out := &Compiled{}
	var sel, order []string
	for _, tc := range cols {
		e := tc.expr
		if tc.PII != "" && !rq.allowPII {
			e = maskSQL(tc.PII, e)
		}
		sel = append(sel, e+" AS "+q(tc.Name))
		// Pages follow the raw values, so masked ties cannot shuffle them.
		order = append(order, tc.expr)
		out.Columns = append(out.Columns, Column{Name: tc.Name, Kind: "column"})
	}
	text := strings.Join(sel, ", ") + " FROM " + baseFrom(b, c, sel, rq.filters)
	limit := rq.through.Limit
	if limit == 0 {
		limit = DefaultThroughLimit
	}
	text = "SELECT " + text + " ORDER BY " + strings.Join(order, ", ") + fmt.Sprintf(" LIMIT %d OFFSET %d", limit, rq.through.Offset)
	out.SQL = text
	out.Args = b.args
	return out, nil
}
