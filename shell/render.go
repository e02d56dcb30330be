package shell

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/text/width"
)

// Output modes of the shell (.mode).
const (
	ModeTable = "table"
	ModeCSV   = "csv"
	ModeJSON  = "json"
	ModeLine  = "line"
	// ModeMarkdown writes a GitHub-flavoured Markdown table, to paste into
	// an issue, a wiki or a notebook.
	ModeMarkdown = "markdown"
)

// Modes lists the output modes .mode accepts.
var Modes = []string{ModeTable, ModeCSV, ModeJSON, ModeLine, ModeMarkdown}

// renderer writes one result set in an output mode: begin with the
// columns, row for each row (values as scanned, already masked), end with
// the row count.
type renderer interface {
	begin(cols []Column) error
	row(vals []any) error
	end(rows int64) error
}

// limits bound what table mode shows on a terminal; zero means no limit.
type limits struct {
	MaxRows      int // rows shown: the first and last half of this many
	MaxWidth     int // display columns of the whole table
	MaxCellWidth int // display columns of one cell
}

func newRenderer(mode string, w io.Writer, lim limits) renderer {
	switch mode {
	case ModeCSV:
		return &csvRenderer{w: csv.NewWriter(w)}
	case ModeJSON:
		return &jsonRenderer{w: w}
	case ModeLine:
		return &lineRenderer{w: w}
	case ModeMarkdown:
		return &markdownRenderer{w: w}
	default:
		return &tableRenderer{w: w, lim: lim}
	}
}

// csvRenderer writes RFC 4180 CSV with a header; NULL is an empty field.
type csvRenderer struct {
	w    *csv.Writer
	cols []Column
}

func (r *csvRenderer) begin(cols []Column) error {
	r.cols = cols
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return r.w.Write(names)
}

func (r *csvRenderer) row(vals []any) error {
	rec := make([]string, len(vals))
	for i, v := range vals {
		if v != nil {
			rec[i] = formatText(v, r.cols[i].Type)
		}
	}
	return r.w.Write(rec)
}

func (r *csvRenderer) end(int64) error {
	r.w.Flush()
	return r.w.Error()
}

// lineRenderer writes one "column = value" line per column, rows separated
// by a blank line.
type lineRenderer struct {
	w     io.Writer
	cols  []Column
	names []string
	n     int64
}

func (r *lineRenderer) begin(cols []Column) error {
	r.cols = cols
	wd := 0
	for _, c := range cols {
		wd = max(wd, DisplayWidth(c.Name))
	}
	r.names = make([]string, len(cols))
	for i, c := range cols {
		r.names[i] = strings.Repeat(" ", wd-DisplayWidth(c.Name)) + c.Name
	}
	return nil
}

func (r *lineRenderer) row(vals []any) error {
	var b strings.Builder
	if r.n > 0 {
		b.WriteByte('\n')
	}
	r.n++
	for i, v := range vals {
		fmt.Fprintf(&b, "%s = %s\n", r.names[i], formatText(v, r.cols[i].Type))
	}
	_, err := io.WriteString(r.w, b.String())
	return err
}

func (r *lineRenderer) end(int64) error { return nil }

// jsonRenderer writes a JSON array of row objects, one object per line,
// keys in column order.
type jsonRenderer struct {
	w    io.Writer
	keys []string
	cols []Column
	n    int64
}

func (r *jsonRenderer) begin(cols []Column) error {
	r.cols = cols
	r.keys = jsonKeys(cols)
	_, err := io.WriteString(r.w, "[")
	return err
}

func (r *jsonRenderer) row(vals []any) error {
	sep := ",\n  "
	if r.n == 0 {
		sep = "\n  "
	}
	r.n++
	obj, err := jsonObject(r.keys, r.cols, vals)
	if err != nil {
		return err
	}
	_, err = io.WriteString(r.w, sep+obj)
	return err
}

func (r *jsonRenderer) end(int64) error {
	end := "\n]\n"
	if r.n == 0 {
		end = "]\n"
	}
	_, err := io.WriteString(r.w, end)
	return err
}

// jsonKeys makes the object keys of a result's rows: the column names, with
// a suffix on repeats so no value is lost.
func jsonKeys(cols []Column) []string {
	seen := map[string]int{}
	keys := make([]string, len(cols))
	for i, c := range cols {
		k := c.Name
		if n := seen[k]; n > 0 {
			k = fmt.Sprintf("%s_%d", k, n+1)
		}
		seen[c.Name]++
		keys[i] = k
	}
	return keys
}

// jsonObject encodes one row as a JSON object with keys in column order.
func jsonObject(keys []string, cols []Column, vals []any) (string, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		k, err := marshalJSON(keys[i])
		if err != nil {
			return "", err
		}
		val, err := marshalJSON(jsonValue(v, cols[i].Type))
		if err != nil {
			return "", fmt.Errorf("column %s: %w", cols[i].Name, err)
		}
		b.WriteString(k + ": " + val)
	}
	b.WriteByte('}')
	return b.String(), nil
}

// marshalJSON encodes v without escaping <, > and & (results are data, not
// HTML) and without a trailing newline.
func marshalJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// tableRenderer draws a box table: column names and types over the rows,
// numbers right-aligned, NULL as NULL, and a row count below. On a terminal
// (limits set) long cells, wide tables and long results are cut in the
// middle with an ellipsis.
type tableRenderer struct {
	w    io.Writer
	lim  limits
	cols []Column
	head [][]string // first rows
	tail [][]string // ring of the last rows once head is full
	next int        // next slot in tail
	n    int64
}

func (r *tableRenderer) begin(cols []Column) error {
	r.cols = cols
	return nil
}

func (r *tableRenderer) row(vals []any) error {
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = cellText(formatText(v, r.cols[i].Type), r.lim.MaxCellWidth)
	}
	r.n++
	half := r.lim.MaxRows / 2
	switch {
	case r.lim.MaxRows <= 0 || len(r.head) < r.lim.MaxRows-half:
		r.head = append(r.head, cells)
	case len(r.tail) < half:
		r.tail = append(r.tail, cells)
	default:
		r.tail[r.next] = cells
		r.next = (r.next + 1) % half
	}
	return nil
}

func (r *tableRenderer) end(int64) error {
	rows := r.head
	elided := r.n > int64(len(r.head)+len(r.tail))
	if elided {
		rows = append(rows, nil) // the ellipsis row
	}
	rows = append(rows, r.tail[r.next:]...)
	rows = append(rows, r.tail[:r.next]...)

	n := len(r.cols)
	wd := make([]int, n)
	types := make([]string, n)
	for j, c := range r.cols {
		types[j] = strings.ToLower(c.Type)
		wd[j] = max(DisplayWidth(c.Name), DisplayWidth(types[j]))
	}
	for _, row := range rows {
		for j, c := range row {
			for _, l := range strings.Split(c, "\n") {
				wd[j] = max(wd[j], DisplayWidth(l))
			}
		}
	}
	shown := r.visibleColumns(wd)

	var b strings.Builder
	border := func(left, mid, right string) {
		b.WriteString(left)
		for i, j := range shown {
			if i > 0 {
				b.WriteString(mid)
			}
			w := 1
			if j >= 0 {
				w = wd[j]
			}
			b.WriteString(strings.Repeat("─", w+2))
		}
		b.WriteString(right + "\n")
	}
	line := func(cells []string, right func(j int) bool) {
		height := 1
		for _, j := range shown {
			if j >= 0 {
				height = max(height, strings.Count(cells[j], "\n")+1)
			}
		}
		for l := 0; l < height; l++ {
			b.WriteString("│")
			for _, j := range shown {
				if j < 0 {
					b.WriteString(" … │")
					continue
				}
				parts := strings.Split(cells[j], "\n")
				text := ""
				if l < len(parts) {
					text = parts[l]
				}
				b.WriteString(" " + pad(text, wd[j], right(j)) + " │")
			}
			b.WriteByte('\n')
		}
	}
	names := make([]string, n)
	for j, c := range r.cols {
		names[j] = c.Name
	}
	left := func(int) bool { return false }
	border("┌", "┬", "┐")
	line(names, left)
	line(types, left)
	border("├", "┼", "┤")
	for _, row := range rows {
		if row == nil {
			dots := make([]string, n)
			for j := range dots {
				dots[j] = "…"
			}
			line(dots, left)
			continue
		}
		line(row, func(j int) bool { return r.cols[j].numeric() })
	}
	border("└", "┴", "┘")
	b.WriteString(r.footer(len(rows), elided, shown))
	_, err := io.WriteString(r.w, b.String())
	return err
}

// visibleColumns picks the columns that fit MaxWidth, alternating from the
// left and right edges; -1 marks where hidden columns were cut out.
func (r *tableRenderer) visibleColumns(wd []int) []int {
	all := make([]int, len(wd))
	total := 1
	for j := range wd {
		all[j] = j
		total += wd[j] + 3
	}
	if r.lim.MaxWidth <= 0 || total <= r.lim.MaxWidth || len(wd) < 2 {
		return all
	}
	budget := r.lim.MaxWidth - 1 - 4 // outer border and the ellipsis column
	var left, right []int
	l, rt := 0, len(wd)-1
	for l <= rt {
		j := l
		if len(right) < len(left) {
			j = rt
		}
		if wd[j]+3 > budget {
			break
		}
		budget -= wd[j] + 3
		if j == l {
			left = append(left, j)
			l++
		} else {
			right = append([]int{j}, right...)
			rt--
		}
	}
	if len(left) == 0 {
		left = []int{0} // always show the first column, even if too wide
	}
	return append(append(left, -1), right...)
}

func (r *tableRenderer) footer(listed int, elided bool, shown []int) string {
	rows := "rows"
	if r.n == 1 {
		rows = "row"
	}
	s := fmt.Sprintf("(%d %s", r.n, rows)
	if elided {
		s += fmt.Sprintf(", %d shown", listed-1)
	}
	if slices.Contains(shown, -1) { // one of the shown is the ellipsis column
		s += fmt.Sprintf("; %d columns, %d shown", len(r.cols), len(shown)-1)
	}
	return s + ")\n"
}

// cellText makes a value fit a table cell: tabs become spaces, carriage
// returns go, and lines are cut to maxWidth display columns when set.
func cellText(s string, maxWidth int) string {
	s = strings.NewReplacer("\t", " ", "\r", "").Replace(s)
	if maxWidth <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = truncate(l, maxWidth)
	}
	return strings.Join(lines, "\n")
}

// truncate cuts s to at most w display columns, ending in "…" when cut.
func truncate(s string, w int) string {
	if DisplayWidth(s) <= w {
		return s
	}
	var b strings.Builder
	used := 0
	for _, c := range s {
		cw := runeWidth(c)
		if used+cw > w-1 {
			break
		}
		b.WriteRune(c)
		used += cw
	}
	return b.String() + "…"
}

func pad(s string, w int, right bool) string {
	gap := strings.Repeat(" ", max(0, w-DisplayWidth(s)))
	if right {
		return gap + s
	}
	return s + gap
}

// DisplayWidth is the number of terminal columns s takes: East Asian wide
// and full-width characters (Chinese names, addresses) take two.
func DisplayWidth(s string) int {
	n := 0
	for _, c := range s {
		n += runeWidth(c)
	}
	return n
}

func runeWidth(c rune) int {
	if c < 0x1100 {
		return 1
	}
	switch width.LookupRune(c).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// markdownRenderer writes a Markdown table with padded columns, numbers
// right-aligned; a | in a value is escaped and a line break becomes <br>.
type markdownRenderer struct {
	w     io.Writer
	cols  []Column
	cells [][]string
}

func (r *markdownRenderer) begin(cols []Column) error {
	r.cols = cols
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = markdownCell(c.Name)
	}
	r.cells = append(r.cells, head)
	return nil
}

func (r *markdownRenderer) row(vals []any) error {
	rec := make([]string, len(vals))
	for i, v := range vals {
		rec[i] = markdownCell(formatText(v, r.cols[i].Type))
	}
	r.cells = append(r.cells, rec)
	return nil
}

func markdownCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "<br>")
	return strings.ReplaceAll(s, "\n", "<br>")
}

func (r *markdownRenderer) end(int64) error {
	wd := make([]int, len(r.cols))
	for _, rec := range r.cells {
		for i, c := range rec {
			wd[i] = max(wd[i], DisplayWidth(c), 3)
		}
	}
	var b strings.Builder
	line := func(rec []string) {
		b.WriteString("|")
		for i, c := range rec {
			b.WriteString(" " + pad(c, wd[i], r.cols[i].numeric()) + " |")
		}
		b.WriteString("\n")
	}
	for n, rec := range r.cells {
		line(rec)
		if n == 0 {
			b.WriteString("|")
			for i, c := range r.cols {
				if c.numeric() {
					b.WriteString(" " + strings.Repeat("-", wd[i]-1) + ": |")
				} else {
					b.WriteString(" " + strings.Repeat("-", wd[i]) + " |")
				}
			}
			b.WriteString("\n")
		}
	}
	r.cells = nil
	_, err := io.WriteString(r.w, b.String())
	return err
}

// Renderer writes one result set in an output mode, as the shell does:
// Begin with the columns, Row for each row (values as text, or as DuckDB
// scans them; nil is NULL), End with the row count.
type Renderer interface {
	Begin(cols []Column) error
	Row(vals []any) error
	End(rows int64) error
}

// NewRenderer returns the shell's renderer of mode (table, csv, line,
// markdown; json writes one object per row) writing to w. terminalColumns,
// when above 0, bounds table mode as on a terminal of that width: long
// cells, wide tables and long results are cut in the middle with an
// ellipsis (TerminalLimits).
func NewRenderer(mode string, w io.Writer, terminalColumns int) Renderer {
	var lim limits
	if terminalColumns > 0 {
		lim = TerminalLimits(terminalColumns)
	}
	return exported{newRenderer(mode, w, lim)}
}

type exported struct{ r renderer }

func (e exported) Begin(cols []Column) error { return e.r.begin(cols) }
func (e exported) Row(vals []any) error      { return e.r.row(vals) }
func (e exported) End(rows int64) error      { return e.r.end(rows) }
