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
	p := newPivot(c)
	rows, colKeys := p.gather(data)
	g := Grid{Header: p.header(colKeys)}
	for _, gr := range rows {
		g.Rows = append(g.Rows, p.line(gr, colKeys))
	}
	return g
}

// pivot is what laying out one compiled query's result needs to know.
type pivot struct {
	c        *Compiled
	idx      map[string]int // result column name -> position
	measures []string
	tagged   bool           // rows carry _row_level (subtotals)
	depth    map[string]int // row level -> indent ("total": -1)
}

// gridRow is one row of the grid: its label and, per column key, the
// measure values.
type gridRow struct {
	label []any
	cells map[string][]any
}

func newPivot(c *Compiled) *pivot {
	p := &pivot{c: c, idx: map[string]int{}, depth: map[string]int{"total": -1}}
	for i, col := range c.Columns {
		p.idx[col.Name] = i
	}
	for _, col := range c.Columns {
		if col.Kind == "measure" {
			p.measures = append(p.measures, col.Name)
		}
	}
	_, p.tagged = p.idx["_row_level"]
	for i, r := range c.Rows {
		p.depth[r] = i
	}
	return p
}

// gather groups the result rows into grid rows, in order of first
// appearance, and lists the column keys in the same order.
func (p *pivot) gather(data [][]any) (rows []*gridRow, colKeys []string) {
	seenCol := map[string]bool{}
	byLabel := map[string]*gridRow{}
	for _, row := range data {
		label := p.rowLabel(row)
		lk := p.rowKey(row, label)
		gr := byLabel[lk]
		if gr == nil {
			gr = &gridRow{label: label, cells: map[string][]any{}}
			byLabel[lk] = gr
			rows = append(rows, gr)
		}
		ck := p.colKey(row)
		if !seenCol[ck] {
			seenCol[ck] = true
			colKeys = append(colKeys, ck)
		}
		vals := make([]any, len(p.measures))
		for i, m := range p.measures {
			vals[i] = row[p.idx[m]]
		}
		gr.cells[ck] = vals
	}
	return rows, colKeys
}

// rowLabel is the row header of a result row: its members, or with
// subtotals one indented member (or "Total").
func (p *pivot) rowLabel(row []any) []any {
	c := p.c
	if !p.tagged || len(c.Rows) == 0 {
		out := make([]any, len(c.Rows))
		for i, r := range c.Rows {
			out[i] = row[p.idx[r]]
		}
		return out
	}
	lvl := fmt.Sprint(row[p.idx["_row_level"]])
	d := p.depth[lvl]
	if d < 0 {
		return []any{"Total"}
	}
	return []any{strings.Repeat("  ", d) + cellString(row[p.idx[c.Rows[d]]])}
}

// rowKey identifies the grid row a result row belongs to.
func (p *pivot) rowKey(row, label []any) string {
	lk := fmt.Sprint(label...)
	if p.tagged {
		lk += "|" + fmt.Sprint(row[p.idx["_row_level"]])
	}
	for _, r := range p.c.Rows {
		lk += "|" + cellString(row[p.idx[r]])
	}
	return lk
}

// colKey names the column member of a result row ("" without column
// levels; with column subtotals, the members down to the row's level).
func (p *pivot) colKey(row []any) string {
	if len(p.c.Cols) == 0 {
		return ""
	}
	li, leveled := p.idx["_col_level"]
	lvl := ""
	if leveled {
		lvl = fmt.Sprint(row[li])
		if lvl == "total" {
			return "Total"
		}
	}
	var parts []string
	for _, col := range p.c.Cols {
		parts = append(parts, cellString(row[p.idx[col]]))
		if leveled && col == lvl {
			break
		}
	}
	return strings.Join(parts, " / ")
}

// header is the grid's header: the row levels, then a column per column
// key and measure.
func (p *pivot) header(colKeys []string) []string {
	var header []string
	if !p.tagged || len(p.c.Rows) == 0 {
		header = append(header, p.c.Rows...)
	} else {
		header = append(header, strings.Join(p.c.Rows, " > "))
	}
	for _, ck := range colKeys {
		for _, m := range p.measures {
			switch {
			case ck == "":
				header = append(header, m)
			case len(p.measures) == 1:
				header = append(header, ck)
			default:
				header = append(header, ck+" "+m)
			}
		}
	}
	return header
}

// line lays out one grid row: its label, then its values per column key
// (nil where the result had no row).
func (p *pivot) line(gr *gridRow, colKeys []string) []any {
	out := append([]any{}, gr.label...)
	for _, ck := range colKeys {
		vals := gr.cells[ck]
		for i := range p.measures {
			if vals == nil {
				out = append(out, nil)
			} else {
				out = append(out, vals[i])
			}
		}
	}
	return out
}

func cellString(v any) string {
	if v == nil {
		return "∅"
	}
	return fmt.Sprint(v)
}
