package etl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

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
		if len(t) == 0 || t[0] != '{' || !validJSON(t) {
			x.rejects = append(x.rejects, reject{line: line, stage: "extract", rule: "malformed_json", severity: "error",
				record: truncate(string(obj), 4096), message: "not a JSON object"})
			return nil
		}
		n, _ := fmt.Fprintf(w, `{"_line":%d,"r":`, line)
		w.Write(t)
		x.longest = max(x.longest, n+len(t)+2)
		_, err := w.WriteString("}\n")
		return err
	}
	if d.Format == "json" {
		err = readJSONArray(r, write)
	} else {
		err = readNDJSON(ctx, r, write)
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

// readNDJSON passes each non-blank line of r to write, numbered by line.
func readNDJSON(ctx context.Context, r io.Reader, write func(line int64, obj []byte) error) error {
	p := &physLines{r: bufio.NewReaderSize(r, 1<<20)}
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		l, no, ok := p.next()
		if !ok || (p.err != nil && p.err != io.EOF) {
			break
		}
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if err := write(no, l); err != nil {
			return err
		}
	}
	if p.err != nil && p.err != io.EOF {
		return p.err
	}
	return nil
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
