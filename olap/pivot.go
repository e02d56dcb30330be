package olap

import (
	"fmt"
	"strings"
)

// Grid is a result laid out for people: row members down the side (indented
// by level when subtotals are present), column members across the top, one
// column per measure and column member.
type Grid struct {
	Header []string
	Rows   [][]any
}

// Pivot lays a result out as a grid. Without column levels it is the result
// with subtotal rows labelled and indented; with column levels every
// combination of column member and measure becomes a column.
func Pivot(c *Compiled, data [][]any) Grid {
	idx := map[string]int{}
	for i, col := range c.Columns {
		idx[col.Name] = i
	}
	var measures []string
	for _, col := range c.Columns {
		if col.Kind == "measure" {
			measures = append(measures, col.Name)
		}
	}
	_, tagged := idx["_row_level"]
	depth := map[string]int{"total": -1}
	for i, r := range c.Rows {
		depth[r] = i
	}
	// Row headers.
	var header []string
	rowLabel := func(row []any) []any {
		if !tagged || len(c.Rows) == 0 {
			out := make([]any, len(c.Rows))
			for i, r := range c.Rows {
				out[i] = row[idx[r]]
			}
			return out
		}
		lvl := fmt.Sprint(row[idx["_row_level"]])
		d := depth[lvl]
		if d < 0 {
			return []any{"Total"}
		}
		return []any{strings.Repeat("  ", d) + cellString(row[idx[c.Rows[d]]])}
	}
	if !tagged || len(c.Rows) == 0 {
		header = append(header, c.Rows...)
	} else {
		header = append(header, strings.Join(c.Rows, " > "))
	}
	colKey := func(row []any) string {
		if len(c.Cols) == 0 {
			return ""
		}
		if _, ok := idx["_col_level"]; ok {
			lvl := fmt.Sprint(row[idx["_col_level"]])
			if lvl == "total" {
				return "Total"
			}
			var parts []string
			for _, col := range c.Cols {
				parts = append(parts, cellString(row[idx[col]]))
				if col == lvl {
					break
				}
			}
			return strings.Join(parts, " / ")
		}
		var parts []string
		for _, col := range c.Cols {
			parts = append(parts, cellString(row[idx[col]]))
		}
		return strings.Join(parts, " / ")
	}
	var colKeys []string
	seenCol := map[string]bool{}
	type gridRow struct {
		label []any
		cells map[string][]any
	}
	var rows []*gridRow
	byLabel := map[string]*gridRow{}
	for _, row := range data {
		label := rowLabel(row)
		lk := fmt.Sprint(label...)
		if tagged {
			lk += "|" + fmt.Sprint(row[idx["_row_level"]])
		}
		for _, r := range c.Rows {
			lk += "|" + cellString(row[idx[r]])
		}
		gr := byLabel[lk]
		if gr == nil {
			gr = &gridRow{label: label, cells: map[string][]any{}}
			byLabel[lk] = gr
			rows = append(rows, gr)
		}
		ck := colKey(row)
		if !seenCol[ck] {
			seenCol[ck] = true
			colKeys = append(colKeys, ck)
		}
		vals := make([]any, len(measures))
		for i, m := range measures {
			vals[i] = row[idx[m]]
		}
		gr.cells[ck] = vals
	}
	for _, ck := range colKeys {
		for _, m := range measures {
			switch {
			case ck == "":
				header = append(header, m)
			case len(measures) == 1:
				header = append(header, ck)
			default:
				header = append(header, ck+" "+m)
			}
		}
	}
	g := Grid{Header: header}
	for _, gr := range rows {
		out := append([]any{}, gr.label...)
		for _, ck := range colKeys {
			vals := gr.cells[ck]
			for i := range measures {
				if vals == nil {
					out = append(out, nil)
				} else {
					out = append(out, vals[i])
				}
			}
		}
		g.Rows = append(g.Rows, out)
	}
	return g
}

func cellString(v any) string {
	if v == nil {
		return "∅"
	}
	return fmt.Sprint(v)
}
