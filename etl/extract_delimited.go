package etl

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// splitRecord splits one logical record into fields. It returns open=true
// when a quoted field is still open at the end of text. The fields are
// substrings of text where they can be (every unquoted field and every
// quoted one without a doubled quote): one string per record, not one
// per field.
func splitRecord(text string, delim byte, fields []string) ([]string, bool) {
	fields = fields[:0]
	var field []byte
	i, n := 0, len(text)
	for {
		if i < n && text[i] == '"' {
			i++
			seg := i // the start of the field's text not yet copied into field
			built := false
			field = field[:0]
			closed := false
			for {
				j := strings.IndexByte(text[i:], '"')
				if j < 0 {
					break
				}
				i += j
				if i+1 < n && text[i+1] == '"' {
					// A doubled quote is one quote.
					field = append(field, text[seg:i+1]...)
					built = true
					i += 2
					seg = i
					continue
				}
				closed = true
				break
			}
			if !closed {
				return fields, true
			}
			end := i
			i++ // the closing quote
			// Lenient: text after the closing quote up to the delimiter joins the field.
			k := strings.IndexByte(text[i:], delim)
			if k < 0 {
				k = n - i
			}
			tail := text[i : i+k]
			i += k
			if !built && tail == "" {
				fields = append(fields, text[seg:end])
			} else {
				field = append(append(field, text[seg:end]...), tail...)
				fields = append(fields, string(field))
			}
		} else {
			j := strings.IndexByte(text[i:], delim)
			if j < 0 {
				fields = append(fields, text[i:])
				i = n
			} else {
				fields = append(fields, text[i:i+j])
				i += j
			}
		}
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
	return scanRecords(ctx, &physLines{r: bufio.NewReaderSize(r, 1<<20)}, byte(d.Delimiter), width, emit)
}

// scanRecords reads the records of the physical lines p gives, from where
// p stands, and emits each one (readDelimited).
func scanRecords(ctx context.Context, p *physLines, delim byte, width func() int, emit func(line int64, fields []string, raw string) error) error {
	var fields []string
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, no, ok := p.next()
		if !ok || (p.err != nil && p.err != io.EOF) {
			break // a failed read (or a cancel) fails the file: no use reading its last line
		}
		first := string(line)
		rec := first
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
			rec = rec + "\n" + string(l)
			fields, open = splitRecord(rec, delim, fields)
		}
		if open || (len(consumed) > 0 && !fitsWidth(fields, width())) {
			// Unbalanced quote: reject the first line alone and read on from
			// the line after it.
			p.pushBack(consumed, consumedNo)
			if err := emit(no, nil, first); err != nil {
				return err
			}
			continue
		}
		if err := emit(no, fields, rec); err != nil {
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
