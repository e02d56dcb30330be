package etl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/transform"
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

// crReader turns every CR into a line feed, for text whose lines end in CR
// alone.
type crReader struct{ r io.Reader }

func (c crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// textReader opens a text file as UTF-8 whatever its encoding, with LF
// line breaks when the file breaks lines with CR alone.
func textReader(f io.Reader, d Detected) (io.Reader, error) {
	e, err := decoderFor(d.Encoding)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	switch d.Encoding {
	case "utf-8", "utf8", "utf-8-bom":
		// As is, less a BOM: records with bytes that are not UTF-8 (a
		// line from another encoding) are rejected as encoding_invalid
		// rather than decoded into U+FFFD.
		br := bufio.NewReader(f)
		if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
			br.Discard(3)
		}
		r = br
	default:
		r = transform.NewReader(f, e.NewDecoder())
	}
	if d.CROnly {
		r = crReader{r}
	}
	return r, nil
}

// physLines reads physical lines (without the line break) and numbers them.
type physLines struct {
	r       *bufio.Reader
	line    int64
	pending [][]byte // pushed-back lines
	pendNo  []int64
	err     error
}

func (p *physLines) next() ([]byte, int64, bool) {
	if n := len(p.pending); n > 0 {
		l, no := p.pending[n-1], p.pendNo[n-1]
		p.pending, p.pendNo = p.pending[:n-1], p.pendNo[:n-1]
		return l, no, true
	}
	if p.err != nil {
		return nil, 0, false
	}
	var buf []byte
	for {
		chunk, err := p.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			if len(buf) > maxRecordBytes {
				// Keep reading to the end of the line, but keep only the head.
				for err == bufio.ErrBufferFull {
					_, err = p.r.ReadSlice('\n')
				}
				if err != nil && err != io.EOF {
					p.err = err
				}
				break
			}
			continue
		}
		if err != nil {
			p.err = err
			if len(buf) == 0 {
				return nil, 0, false
			}
		}
		break
	}
	p.line++
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	return buf, p.line, true
}

func (p *physLines) pushBack(lines [][]byte, nos []int64) {
	for i := len(lines) - 1; i >= 0; i-- {
		p.pending = append(p.pending, lines[i])
		p.pendNo = append(p.pendNo, nos[i])
	}
}

// splitRecord splits one logical record into fields. It returns open=true
// when a quoted field is still open at the end of text.
func splitRecord(text []byte, delim byte, fields []string) ([]string, bool) {
	fields = fields[:0]
	var field []byte
	i, n := 0, len(text)
	for {
		field = field[:0]
		if i < n && text[i] == '"' {
			i++
			closed := false
			for i < n {
				c := text[i]
				if c == '"' {
					if i+1 < n && text[i+1] == '"' {
						field = append(field, '"')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				field = append(field, c)
				i++
			}
			if !closed {
				return fields, true
			}
			// Lenient: text after the closing quote up to the delimiter joins the field.
			for i < n && text[i] != delim {
				field = append(field, text[i])
				i++
			}
		} else {
			j := bytes.IndexByte(text[i:], delim)
			if j < 0 {
				field = append(field, text[i:]...)
				i = n
			} else {
				field = append(field, text[i:i+j]...)
				i += j
			}
		}
		fields = append(fields, string(field))
		if i >= n {
			return fields, false
		}
		i++ // the delimiter
		if i == n {
			fields = append(fields, "")
			return fields, false
		}
	}
}

// readDelimited reads a delimited text file record by record. width gives
// the number of fields a record should have (0 before the header): a quoted
// field spanning lines that does not give a record of that width was an
// unbalanced quote, not a line break in a field.
func readDelimited(ctx context.Context, src io.Reader, d Detected, width func() int, emit func(line int64, fields []string, raw string) error) error {
	r, err := textReader(src, d)
	if err != nil {
		return err
	}
	p := &physLines{r: bufio.NewReaderSize(r, 1<<20)}
	delim := byte(d.Delimiter)
	var fields []string
	var rec []byte
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		first, no, ok := p.next()
		if !ok || (p.err != nil && p.err != io.EOF) {
			break // a failed read (or a cancel) fails the file: no use reading its last line
		}
		rec = append(rec[:0], first...)
		var open bool
		fields, open = splitRecord(rec, delim, fields)
		var consumed [][]byte
		var consumedNo []int64
		for open && len(consumed) < maxRecordLines && len(rec) <= maxRecordBytes {
			l, lno, ok := p.next()
			if !ok {
				break
			}
			consumed = append(consumed, l)
			consumedNo = append(consumedNo, lno)
			rec = append(append(rec, '\n'), l...)
			fields, open = splitRecord(rec, delim, fields)
		}
		if open || (len(consumed) > 0 && !fitsWidth(fields, width())) {
			// Unbalanced quote: reject the first line alone and read on from
			// the line after it.
			p.pushBack(consumed, consumedNo)
			if err := emit(no, nil, string(first)); err != nil {
				return err
			}
			continue
		}
		if err := emit(no, fields, string(rec)); err != nil {
			return err
		}
	}
	if p.err != nil && p.err != io.EOF {
		return fmt.Errorf("line %d: %w", p.line+1, p.err)
	}
	return nil
}

// fitsWidth reports whether a record has the header's number of fields, or
// more when the extra ones are blank (trailing delimiters). Any width fits
// while the header is unknown.
func fitsWidth(fields []string, width int) bool {
	switch {
	case width == 0 || len(fields) == width:
		return true
	case len(fields) > width:
		return isBlankRow(fields[width:])
	}
	return false
}

// stagingWriter writes records of the mapped fields to a temporary CSV that
// DuckDB reads: _line first, then the fields in order.
type stagingWriter struct {
	f *os.File
	b *bufio.Writer
	w *csv.Writer
}

func newStagingWriter(dir, pattern string, header []string) (*stagingWriter, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	b := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(b)
	s := &stagingWriter{f: f, b: b, w: w}
	if header != nil {
		if err := w.Write(append([]string{"_line"}, header...)); err != nil {
			s.abort()
			return nil, err
		}
	}
	return s, nil
}

func (s *stagingWriter) close() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		s.abort()
		return err
	}
	if err := s.b.Flush(); err != nil {
		s.abort()
		return err
	}
	return s.f.Close()
}

func (s *stagingWriter) abort() {
	s.f.Close()
	os.Remove(s.f.Name())
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

// readXLSX streams the rows of a sheet (the first one when sheet is empty),
// raw cell values so that date cells arrive as Excel serial numbers.
func readXLSX(ctx context.Context, src io.Reader, sheet string, emit func(line int64, cells []string, raw string) error) (err error) {
	defer func() {
		// excelize can panic on corrupt archives; that is bad input, not a bug to crash on.
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt XLSX workbook: %v", r)
		}
	}()
	f, err := excelize.OpenReader(src)
	if err != nil {
		return fmt.Errorf("open XLSX: %w", err)
	}
	defer f.Close()
	idx, _ := f.GetSheetIndex(sheet)
	if sheet == "" || idx < 0 {
		list := f.GetSheetList()
		if len(list) == 0 {
			return errors.New("XLSX workbook has no sheets")
		}
		if sheet != "" && len(list) > 1 {
			return fmt.Errorf("XLSX sheet %q not found (sheets: %s)", sheet, strings.Join(list, ", "))
		}
		sheet = list[0]
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		return fmt.Errorf("XLSX sheet %s: %w", sheet, err)
	}
	defer rows.Close()
	var line int64
	for rows.Next() {
		line++
		if line%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return fmt.Errorf("XLSX row %d: %w", line, err)
		}
		if err := emit(line, cells, strings.Join(cells, ",")); err != nil {
			return err
		}
	}
	return rows.Error()
}

// extractJSON reads NDJSON (one object a line) or a JSON array of objects
// and writes each well-formed object, wrapped with its line number, to a
// staging NDJSON file: {"_line":N,"r":{...}}.
func extractJSON(ctx context.Context, src io.Reader, d Detected, tmpDir string) (*extraction, error) {
	r, err := textReader(src, d)
	if err != nil {
		return nil, err
	}
	out, err := os.CreateTemp(tmpDir, "ckm-stage-*.ndjson")
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	x := &extraction{tmpPath: out.Name()}
	write := func(line int64, obj []byte) error {
		x.records++
		t := bytes.TrimSpace(obj)
		if !utf8.Valid(t) {
			x.rejects = append(x.rejects, reject{line: line, stage: "extract", rule: "encoding_invalid", severity: "error",
				record: truncate(string(obj), 4096), message: fmt.Sprintf("bytes that are not %s text (a line in another encoding?)", d.Encoding)})
			return nil
		}
		if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
			x.rejects = append(x.rejects, reject{line: line, stage: "extract", rule: "malformed_json", severity: "error",
				record: truncate(string(obj), 4096), message: "not a JSON object"})
			return nil
		}
		fmt.Fprintf(w, `{"_line":%d,"r":`, line)
		w.Write(t)
		_, err := w.WriteString("}\n")
		return err
	}
	if d.Format == "json" {
		err = readJSONArray(r, write)
	} else {
		p := &physLines{r: bufio.NewReaderSize(r, 1<<20)}
		for n := 0; ; n++ {
			if n%4096 == 0 && ctx.Err() != nil {
				err = ctx.Err()
				break
			}
			l, no, ok := p.next()
			if !ok || (p.err != nil && p.err != io.EOF) {
				break
			}
			if len(bytes.TrimSpace(l)) == 0 {
				continue
			}
			if err = write(no, l); err != nil {
				break
			}
		}
		if err == nil && p.err != nil && p.err != io.EOF {
			err = p.err
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return nil, err
	}
	return x, nil
}

// readJSONArray streams the elements of a top-level JSON array. Records of
// an array are numbered by their position in it (1 = the first element),
// not by line: a whole array may stand on one line.
func readJSONArray(r io.Reader, write func(line int64, obj []byte) error) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("JSON: %w", err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '[' {
		return errors.New("JSON: want an array of objects at the top level")
	}
	for n := int64(1); dec.More(); n++ {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// The offset before Decode may sit on the comma; skip to the value.
			s := int(start)
			for s < len(data) && (data[s] == ',' || data[s] == ' ' || data[s] == '\n' || data[s] == '\r' || data[s] == '\t') {
				s++
			}
			line := 1 + int64(bytes.Count(data[:s], []byte("\n")))
			return fmt.Errorf("JSON array element %d (line %d): %w", n, line, err)
		}
		if err := write(n, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("JSON: the top-level array does not close: %w", err)
	}
	if end := dec.InputOffset(); len(bytes.TrimSpace(data[end:])) > 0 {
		line := 1 + int64(bytes.Count(data[:end], []byte("\n")))
		return fmt.Errorf("JSON: more data after the top-level array ends on line %d (one array, or one object a line, not both)", line)
	}
	return nil
}
