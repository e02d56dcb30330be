package etl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on hostile input.
const (
	maxFieldBytes  = 1 << 20  // a longer field rejects its record (field_too_long)
	maxRecordLines = 1000     // an open quote spanning more lines is unbalanced
	maxRecordBytes = 16 << 20 // nor may one record exceed this
)

// extraction is one source file read into records: rows that parse become
// lines of a normalised UTF-8 CSV (or wrapped NDJSON) that DuckDB stages;
// rows that do not are rejects of the extract stage.
type extraction struct {
	header  []string       // source headers (delimited, XLSX, Parquet)
	columns map[string]int // canonical field -> source column
	records int64          // source records seen (data rows, JSON lines)
	rejects []reject
	tmpPath string // staged records for DuckDB
}

type reject struct {
	line     int64
	stage    string
	rule     string
	severity string
	column   string
	value    string
	record   string
	message  string
}

// truncate cuts s to at most n bytes (plus an ellipsis) without splitting
// a UTF-8 character: the ledger's columns are VARCHAR and must stay valid.
func truncate(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.ToValidUTF8(s[:n], "\uFFFD") + "…"
}

// extractTabular reads a delimited or XLSX file, maps its header and writes
// well-formed records of the mapped fields to a staging CSV.
func extractTabular(ctx context.Context, src io.Reader, d Detected, m *Mapping, tmpDir string) (*extraction, error) {
	x := &extraction{}
	fields := m.fields()
	var sw *stagingWriter
	var row []string
	emit := func(line int64, cells []string, raw string) error {
		if x.header == nil {
			if cells == nil || isBlankRow(cells) {
				return nil // blank lines before the header
			}
			x.header = append([]string(nil), cells...)
			cols, err := mapColumns(x.header, m)
			if err != nil {
				return fmt.Errorf("header (line %d): %w", line, err)
			}
			x.columns = cols
			sw, err = newStagingWriter(tmpDir, "ckm-stage-*.csv", fields)
			return err
		}
		if cells != nil && isBlankRow(cells) {
			return nil
		}
		x.records++
		if cells == nil {
			x.rejects = append(x.rejects, reject{line: line, stage: "extract", rule: "malformed_row", severity: "error",
				record: truncate(raw, 4096), message: "unbalanced quotes: a quoted field never closes"})
			return nil
		}
		if !utf8.ValidString(raw) {
			x.rejects = append(x.rejects, reject{line: line, stage: "extract", rule: "encoding_invalid", severity: "error",
				record: truncate(raw, 4096), message: fmt.Sprintf("bytes that are not %s text (a line in another encoding?)", d.Encoding)})
			return nil
		}
		if strings.IndexByte(raw, 0) >= 0 {
			x.rejects = append(x.rejects, reject{line: line, stage: "extract", rule: "malformed_row", severity: "error",
				record: truncate(strings.ReplaceAll(raw, "\x00", `\0`), 4096), message: "NUL byte in the record: binary data, not text"})
			return nil
		}
		if d.Format != "xlsx" && !fitsWidth(cells, len(x.header)) {
			x.rejects = append(x.rejects, reject{line: line, stage: "extract", rule: "malformed_row", severity: "error",
				record: truncate(raw, 4096), message: fmt.Sprintf("%d fields where the header has %d", len(cells), len(x.header))})
			return nil
		}
		row = append(row[:0], strconv.FormatInt(line, 10))
		for _, f := range fields {
			v := ""
			if i := x.columns[f]; i >= 0 && i < len(cells) {
				v = cells[i]
			}
			if len(v) > maxFieldBytes {
				x.rejects = append(x.rejects, reject{line: line, stage: "extract", rule: "field_too_long", severity: "error",
					column: f, value: truncate(v, 256), record: truncate(raw, 4096),
					message: fmt.Sprintf("field of %d bytes exceeds the %d byte limit", len(v), maxFieldBytes)})
				return nil
			}
			row = append(row, v)
		}
		return sw.w.Write(row)
	}
	var err error
	switch d.Format {
	case "xlsx":
		err = readXLSX(ctx, src, m.Sheet, emit)
	default:
		err = readDelimited(ctx, src, d, func() int { return len(x.header) }, emit)
	}
	if err == nil && x.header == nil {
		err = errors.New("no header row: the file is empty or blank")
	}
	if err != nil {
		if sw != nil {
			sw.abort()
		}
		return nil, err
	}
	if err := sw.close(); err != nil {
		return nil, err
	}
	x.tmpPath = sw.f.Name()
	return x, nil
}

func isBlankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
