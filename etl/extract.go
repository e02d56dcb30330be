package etl

import (
	"context"
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
	// parts are more files of staged records: a large file's blocks
	// parsed apart (readParallel).
	parts []string
	// longest is the length of the longest staged line (JSON): DuckDB's
	// read_json buffers twice the largest object it is told to expect,
	// so it is told this, not a fixed size that would not fit a memory
	// limit.
	longest int
	// rawFields are the staged columns of a raw source's file: its
	// headers, made unique.
	rawFields []string
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
// It returns a string of its own, never s: s may be a substring of a
// large block of text (scanBlock), which a reject must not keep.
func truncate(s string, n int) string {
	if len(s) <= n {
		return strings.Clone(strings.ToValidUTF8(s, "\uFFFD"))
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.ToValidUTF8(s[:n], "\uFFFD") + "…"
}

// extractTabular reads a delimited or XLSX file, maps its header and writes
// well-formed records of the mapped fields to a staging CSV.
// A delimited file of size parallelMinBytes or more is parsed on several
// goroutines (readParallel).
func extractTabular(ctx context.Context, src io.Reader, size int64, d Detected, m *Mapping, tmpDir string) (*extraction, error) {
	t := &tabularExtractor{x: &extraction{}, d: d, m: m, tmpDir: tmpDir, fields: m.fields(), raw: m.raw() || m.joinOf != nil}
	var err error
	switch d.Format {
	case "xlsx":
		err = readXLSX(ctx, src, m.Sheet, t.emit)
	default:
		if size >= parallelMinBytes {
			err = t.readParallel(ctx, src)
			break
		}
		err = readDelimited(ctx, src, d, func() int { return len(t.x.header) }, t.emit)
	}
	if err != nil {
		if t.sw != nil {
			t.sw.abort()
		}
		return nil, err
	}
	if t.x.header == nil {
		// Blank text or a sheet without rows: an export of nothing, no
		// lines read (a header alone reads the same).
		return t.x, nil
	}
	if err := t.sw.close(); err != nil {
		return nil, err
	}
	t.x.tmpPath = t.sw.f.Name()
	return t.x, nil
}

// files are the staged files of an extraction.
func (x *extraction) files() []string {
	if x.tmpPath == "" {
		return nil
	}
	return append([]string{x.tmpPath}, x.parts...)
}

// csvFiles is SQL naming the staged files of x for read_csv, as a list.
func (x *extraction) csvFiles() string { return sqlStrings(x.files()) }

// tabularExtractor is extractTabular at work: the extraction so far, and
// the staging file it writes once the header is known.
type tabularExtractor struct {
	x      *extraction
	d      Detected
	m      *Mapping
	tmpDir string
	fields []string // the mapped canonical fields, in staging order
	sw     *stagingWriter
	row    []string
	// at is the source column of each of fields (columns, looked up once).
	at []int
	// raw stages every column of the file under its header (made unique):
	// a source that joins files or derives fields maps them in SQL.
	raw bool
}

// emit takes one record from a reader: the header first (after blank
// lines), then data records, rejected or staged. cells is nil for a record
// the reader could not split.
func (t *tabularExtractor) emit(line int64, cells []string, raw string) error {
	if t.x.header == nil {
		return t.readHeader(line, cells)
	}
	if cells != nil && isBlankRow(cells) {
		return nil
	}
	t.x.records++
	if r, bad := t.malformed(line, cells, raw); bad {
		t.x.rejects = append(t.x.rejects, r)
		return nil
	}
	return t.stage(line, cells, raw)
}

// readHeader maps the first non-blank record as the header and opens the
// staging file.
func (t *tabularExtractor) readHeader(line int64, cells []string) error {
	if cells == nil || isBlankRow(cells) {
		return nil // blank lines before the header
	}
	t.x.header = append([]string(nil), cells...)
	if t.raw {
		t.fields = uniqueHeaders(t.x.header)
		t.x.rawFields = t.fields
		t.x.columns = map[string]int{}
		for i, f := range t.fields {
			t.x.columns[f] = i
		}
	} else {
		cols, err := mapColumns(t.x.header, t.m)
		if err != nil {
			return fmt.Errorf("header (line %d): %w", line, err)
		}
		t.x.columns = cols
	}
	t.at = make([]int, len(t.fields))
	for i, f := range t.fields {
		t.at[i] = t.x.columns[f]
	}
	var err error
	t.sw, err = newStagingWriter(t.tmpDir, "ckm-stage-*.csv", t.fields)
	return err
}

// malformed returns the reject of a record that is no well-formed row: an
// unbalanced quote, bytes not in the file's encoding, a NUL byte, or a
// number of fields that does not fit the header.
func (t *tabularExtractor) malformed(line int64, cells []string, raw string) (reject, bool) {
	rule, record := "malformed_row", raw
	var message string
	switch {
	case cells == nil:
		message = "unbalanced quotes: a quoted field never closes"
	case !utf8.ValidString(raw):
		rule = "encoding_invalid"
		message = fmt.Sprintf("bytes that are not %s text (a line in another encoding?)", t.d.Encoding)
	case strings.IndexByte(raw, 0) >= 0:
		record = strings.ReplaceAll(raw, "\x00", `\0`)
		message = "NUL byte in the record: binary data, not text"
	case t.d.Format != "xlsx" && !fitsWidth(cells, len(t.x.header)):
		message = fmt.Sprintf("%d fields where the header has %d", len(cells), len(t.x.header))
	default:
		return reject{}, false
	}
	return reject{line: line, stage: "extract", rule: rule, severity: "error", record: truncate(record, 4096), message: message}, true
}

// stage writes the mapped fields of a well-formed record to the staging
// file, or rejects it when a field is too long.
func (t *tabularExtractor) stage(line int64, cells []string, raw string) error {
	t.row = append(t.row[:0], strconv.FormatInt(line, 10))
	for k, f := range t.fields {
		v := ""
		if i := t.at[k]; i >= 0 && i < len(cells) {
			v = cells[i]
		}
		if len(v) > maxFieldBytes {
			t.x.rejects = append(t.x.rejects, reject{line: line, stage: "extract", rule: "field_too_long", severity: "error",
				column: f, value: truncate(v, 256), record: truncate(raw, 4096),
				message: fmt.Sprintf("field of %d bytes exceeds the %d byte limit", len(v), maxFieldBytes)})
			return nil
		}
		t.row = append(t.row, v)
	}
	return t.sw.write(t.row, t.plain(raw))
}

// plain tells whether the cells of a delimited record with source text raw
// hold no quote, comma, CR or LF: each cell is text of raw, so when raw
// holds none (a comma as the delimiter splits them off), neither do they.
func (t *tabularExtractor) plain(raw string) bool {
	if t.d.Format == "xlsx" || strings.IndexByte(raw, '"') >= 0 || strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0 {
		return false
	}
	return t.d.Delimiter == ',' || strings.IndexByte(raw, ',') < 0
}

func isBlankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// uniqueHeaders names every column of a header row uniquely, for a staging
// table: a blank header becomes column_N, a repeated one NAME_N (N its
// 1-based position).
func uniqueHeaders(header []string) []string {
	out := make([]string, len(header))
	seen := map[string]bool{"_line": true, "file_id": true}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		switch {
		case h == "":
			h = fmt.Sprintf("column_%d", i+1)
		case seen[strings.ToLower(h)]:
			h = fmt.Sprintf("%s_%d", h, i+1)
		}
		seen[strings.ToLower(h)] = true
		out[i] = h
	}
	return out
}
