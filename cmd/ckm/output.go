package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ckm-dev/ckm/shell"
)

// printRecord prints one record (key/value pairs in the given order) in the
// chosen --format.
func (a *app) printRecord(rec map[string]any, order []string) error {
	switch a.format() {
	case formatJSON:
		return writeJSON(a, rec)
	case formatCSV:
		w := csv.NewWriter(a.stdout)
		w.Write(order)
		row := make([]string, len(order))
		for i, k := range order {
			row[i] = fmt.Sprint(rec[k])
		}
		w.Write(row)
		w.Flush()
		return w.Error()
	default:
		tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
		for _, k := range order {
			fmt.Fprintf(tw, "%s\t%v\n", k, rec[k])
		}
		return tw.Flush()
	}
}

// printTable prints rows under a header in the chosen --format; JSON is an
// array of objects.
func (a *app) printTable(header []string, rows [][]any) error {
	switch a.format() {
	case formatJSON:
		out := make([]map[string]any, len(rows))
		for i, r := range rows {
			m := make(map[string]any, len(header))
			for j, h := range header {
				m[h] = r[j]
			}
			out[i] = m
		}
		return writeJSON(a, out)
	case formatCSV:
		w := csv.NewWriter(a.stdout)
		w.Write(header)
		for _, r := range rows {
			rec := make([]string, len(r))
			for j, v := range r {
				rec[j] = cell(v)
			}
			w.Write(rec)
		}
		w.Flush()
		return w.Error()
	default:
		return writeAligned(a.stdout, header, rows)
	}
}

// writeAligned writes columns padded to their display width (Chinese
// characters take two terminal columns), two spaces apart.
func writeAligned(w io.Writer, header []string, rows [][]any) error {
	cells := make([][]string, 0, len(rows)+1)
	cells = append(cells, header)
	for _, r := range rows {
		line := make([]string, len(r))
		for j, v := range r {
			line[j] = cell(v)
		}
		cells = append(cells, line)
	}
	widths := make([]int, len(header))
	for _, line := range cells {
		for j, c := range line {
			if j < len(widths) {
				widths[j] = max(widths[j], shell.DisplayWidth(c))
			}
		}
	}
	bw := bufio.NewWriter(w)
	for _, line := range cells {
		for j, c := range line {
			bw.WriteString(c)
			if j < len(line)-1 && j < len(widths) {
				bw.WriteString(strings.Repeat(" ", widths[j]-shell.DisplayWidth(c)+2))
			}
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64) // never 2.7e+06 for money
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	}
	return fmt.Sprint(v)
}

func writeJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
