package etl

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
)

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
