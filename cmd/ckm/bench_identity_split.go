package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// worldSplit is a generated world cut in two loads at a time: the
// directories of the loads and, per load, the true person of each line
// of the files split (expected.json's RecordPersons renumbered).
type worldSplit struct {
	dirs  [2]string
	truth [2]map[string][]int32
}

// splitWorld cuts the exports in dir at day cut (yyyy-mm-dd) into
// out/load1 and out/load2: till files by month (a month from cut's on is
// in load 2, so cut should be a first of the month), web orders by their
// created_at, CRM rows by registration date, except that a second CRM row
// of a person (a re-registration: ID typo, other ID form, name variant)
// is in load 2 and an exact duplicate row goes with its original.
// Products and campaigns go to load 1, contacts and responses to load 2.
// A line whose date cannot be read stays with the line before it.
func splitWorld(dir, out, cut string, truth map[string][]int32) (*worldSplit, error) {
	s := &worldSplit{}
	for i := range s.dirs {
		s.dirs[i] = filepath.Join(out, fmt.Sprintf("load%d", i+1))
		s.truth[i] = map[string][]int32{}
		if err := os.MkdirAll(s.dirs[i], 0o755); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	cutMonth := strings.ReplaceAll(cut[:7], "-", "")
	for _, e := range entries {
		name := e.Name()
		src := filepath.Join(dir, name)
		switch {
		case name == "expected.json":
		case strings.HasPrefix(name, "pos_sales_"):
			load := 0
			if strings.TrimSuffix(strings.TrimPrefix(name, "pos_sales_"), ".csv") >= cutMonth {
				load = 1
			}
			if err := os.Link(src, filepath.Join(s.dirs[load], name)); err != nil {
				return nil, err
			}
			s.truth[load][name] = truth[name]
		case name == "web_orders.ndjson":
			if err := s.splitLines(src, name, cut, truth[name]); err != nil {
				return nil, err
			}
		case name == "crm_customers.xlsx":
			if err := s.splitCRM(src, name, cut, truth[name]); err != nil {
				return nil, err
			}
		case name == "callcenter_contacts.csv" || name == "campaign_responses.csv":
			if err := os.Link(src, filepath.Join(s.dirs[1], name)); err != nil {
				return nil, err
			}
		default:
			if err := os.Link(src, filepath.Join(s.dirs[0], name)); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// keep appends the person of a source line (1-based) to load's truth of name.
func (s *worldSplit) keep(load int, name string, truth []int32, line int) {
	p := int32(-1)
	if line-1 < len(truth) {
		p = truth[line-1]
	}
	s.truth[load][name] = append(s.truth[load][name], p)
}

// splitLines splits an NDJSON file by each line's created_at.
func (s *worldSplit) splitLines(src, name, cut string, truth []int32) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var bufs [2]bytes.Buffer
	load := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		text := sc.Bytes()
		if i := bytes.Index(text, []byte(`"created_at":"`)); i >= 0 && len(text) >= i+24 {
			if d := string(text[i+14 : i+24]); d[4] == '-' && d[7] == '-' {
				load = 0
				if d >= cut {
					load = 1
				}
			}
		}
		bufs[load].Write(text)
		bufs[load].WriteByte('\n')
		s.keep(load, name, truth, line)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	for i := range bufs {
		if err := os.WriteFile(filepath.Join(s.dirs[i], name), bufs[i].Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// crmRegistered is the column of the registration date in crm_customers.xlsx.
const crmRegistered = 9

// splitCRM splits the CRM workbook's rows (as text cells).
func (s *worldSplit) splitCRM(src, name, cut string, truth []int32) error {
	f, err := excelize.OpenFile(src)
	if err != nil {
		return err
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows, err := f.GetRows(sheet)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if len(rows) == 0 {
		return fmt.Errorf("%s: no header row", src)
	}
	var outs [2][][]string
	for i := range outs {
		outs[i] = [][]string{rows[0]}
		s.truth[i][name] = []int32{-1}
	}
	seen := map[string]int{}   // row text → its load
	person := map[int32]bool{} // persons with a row so far
	load := 0
	for n, row := range rows[1:] {
		line := n + 2
		key := strings.Join(row, "\x00")
		p := int32(-1)
		if line-1 < len(truth) {
			p = truth[line-1]
		}
		switch l, dup := seen[key]; {
		case dup:
			load = l
		case p >= 0 && person[p]:
			load = 1
		case len(row) > crmRegistered:
			if d, ok := parseDay(row[crmRegistered]); ok {
				load = 0
				if d >= cut {
					load = 1
				}
			}
		}
		seen[key] = load
		if p >= 0 {
			person[p] = true
		}
		outs[load] = append(outs[load], row)
		s.keep(load, name, truth, line)
	}
	for i, rows := range outs {
		if err := writeTextXLSX(filepath.Join(s.dirs[i], name), sheet, rows); err != nil {
			return err
		}
	}
	return nil
}

// parseDay reads the registration date forms of the CRM export as
// yyyy-mm-dd.
func parseDay(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2006/1/2", "20060102", "2006年1月2日", "01-02-06", "1/2/06"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly), true
		}
	}
	return "", false
}

// writeTextXLSX writes rows as text cells of one sheet.
func writeTextXLSX(path, sheet string, rows [][]string) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	for i, r := range rows {
		cells := make([]any, len(r))
		for j, v := range r {
			cells[j] = excelize.Cell{Value: v}
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}
