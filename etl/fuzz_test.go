package etl

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets of the readers of outside input. Run each with
//
//	go test -run XXX -fuzz FuzzSplitRecord -fuzztime 60s ./etl/
//
// and keep what it adds under testdata/fuzz/.

// badFiles returns the committed hostile files whose names end in one of
// exts (every one when exts is empty), by name.
func badFiles(f *testing.F, exts ...string) map[string][]byte {
	f.Helper()
	entries, err := os.ReadDir(badDir)
	if err != nil {
		f.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if len(exts) > 0 && !slices.Contains(exts, filepath.Ext(e.Name())) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(badDir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// csvDelimiters are the delimiters detection chooses among.
var csvDelimiters = []byte{',', '\t', ';', '|'}

// quoteRecord writes fields as one record, every field quoted, so that no
// delimiter, quote or line break inside a field is taken for structure.
func quoteRecord(fields []string, delim byte) []byte {
	var b []byte
	for i, f := range fields {
		if i > 0 {
			b = append(b, delim)
		}
		b = append(b, '"')
		b = append(b, strings.ReplaceAll(f, `"`, `""`)...)
		b = append(b, '"')
	}
	return b
}

// FuzzSplitRecord checks the hand-written CSV splitter: the fields of a
// record, quoted and re-joined, split back into the same fields; a record
// without quotes splits exactly at its delimiters.
func FuzzSplitRecord(f *testing.F) {
	for _, b := range badFiles(f, ".csv") {
		first, _, _ := bytes.Cut(b, []byte("\n"))
		f.Add(first, byte(0))
		f.Add(b, byte(0))
	}
	for _, s := range []string{`a,b,c`, `"a,b",c`, `"a""b",`, `"open,`, `"x"y,z`, ",,", `""`, "\"multi\nline\",x", `a;"b;c";d`} {
		f.Add([]byte(s), byte(0))
	}
	f.Fuzz(func(t *testing.T, text []byte, pick byte) {
		delim := csvDelimiters[int(pick)%len(csvDelimiters)]
		fields, open := splitRecord(string(text), delim, nil)
		if !open && len(fields) == 0 {
			t.Fatalf("split %q into no fields", text)
		}
		if bytes.IndexByte(text, '"') < 0 {
			want := strings.Split(string(text), string(delim))
			if open || !slices.Equal(fields, want) {
				t.Fatalf("split %q = %q (open %v), want %q", text, fields, open, want)
			}
		}
		if open {
			return
		}
		again, open := splitRecord(string(quoteRecord(fields, delim)), delim, nil)
		if open || !slices.Equal(again, fields) {
			t.Fatalf("%q split into %q; re-joined and re-split: %q (open %v)", text, fields, again, open)
		}
	})
}

// FuzzReadJSONArray checks the JSON-array reader: every record it yields is
// valid JSON, numbered 1, 2, 3…; a valid JSON array is read whole, element
// by element, without error.
func FuzzReadJSONArray(f *testing.F) {
	for _, b := range badFiles(f, ".ndjson") {
		f.Add(b)
	}
	for _, s := range []string{`[]`, `[{"a":1}]`, `[{"a":1},{"b":[2,3]}]`, "[\n {\"a\":\"x\"},\n 1, \"s\", null]\n", `[1] [2]`, `[{"a":}]`, `{"a":1}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []json.RawMessage
		err := readJSONArray(bytes.NewReader(data), func(line int64, obj []byte) error {
			if line != int64(len(got))+1 {
				t.Fatalf("record %d numbered %d", len(got)+1, line)
			}
			if !json.Valid(obj) {
				t.Fatalf("record %d is not valid JSON: %q", line, obj)
			}
			got = append(got, append(json.RawMessage(nil), obj...))
			return nil
		})
		var want []json.RawMessage
		if json.Unmarshal(data, &want) != nil || want == nil {
			return // not a JSON array: an error or not, nothing more to say
		}
		if err != nil {
			t.Fatalf("valid JSON array %q: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("read %q as %q, want %q", data, got, want)
		}
	})
}

// knownCSV is a header of each built-in delimited-text mapping (the first
// alias of each column) and a file name the mapping matches.
type knownCSV struct {
	name, header string
	m            *Mapping
}

func knownCSVHeaders(f *testing.F) []knownCSV {
	ms, err := DefaultMappings()
	if err != nil {
		f.Fatal(err)
	}
	var out []knownCSV
	for i := range ms {
		m := &ms[i]
		if !strings.HasSuffix(m.Pattern, ".csv") {
			continue
		}
		var cols []string
		for _, a := range m.Columns {
			cols = append(cols, a.Aliases[0])
		}
		sort.Strings(cols)
		out = append(out, knownCSV{strings.ReplaceAll(m.Pattern, "*", "_fuzz"), strings.Join(cols, ","), m})
	}
	if len(out) == 0 {
		f.Fatal("no built-in CSV mapping")
	}
	return out
}

var detectedFormats = []string{"csv", "ndjson", "json", "parquet", "xlsx"}

// FuzzDetect checks Detect: any file is detected or refused without a
// panic, and what is detected is a format it knows in an encoding it can
// decode; a valid UTF-8 CSV that starts with a header a built-in mapping
// knows is always detected as UTF-8 CSV.
func FuzzDetect(f *testing.F) {
	ms, err := DefaultMappings()
	if err != nil {
		f.Fatal(err)
	}
	known := knownCSVHeaders(f)
	bad := badFiles(f)
	names := make([]string, 0, len(bad))
	for name := range bad {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		f.Add(uint8(i), bad[name])
	}
	f.Add(uint8(0), []byte("P001,1,399.00\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, pick uint8, data []byte) {
		name := names[int(pick)%len(names)]
		m, _ := match(ms, name)
		checkDetected(t, dir, name, m, data)

		k := known[int(pick)%len(known)]
		file := append([]byte(k.header+"\n"), data...)
		d := checkDetected(t, dir, k.name, k.m, file)
		if utf8.Valid(file) && bytes.IndexByte(file, 0) < 0 {
			if d == nil {
				t.Fatalf("a valid UTF-8 %s file was refused", k.name)
			}
			if d.Format != "csv" || !strings.HasPrefix(d.Encoding, "utf-8") {
				t.Fatalf("a valid UTF-8 %s file detected as %+v", k.name, *d)
			}
		}
	})
}

// checkDetected writes data to dir/name, detects it, and checks what was
// detected. It returns nil when Detect refused the file.
func checkDetected(t *testing.T, dir, name string, m *Mapping, data []byte) *Detected {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Detect(path, m)
	if err != nil {
		if err.Error() == "" {
			t.Fatal("empty error")
		}
		return nil
	}
	if !slices.Contains(detectedFormats, d.Format) {
		t.Fatalf("%q: format %q", data, d.Format)
	}
	switch d.Format {
	case "parquet", "xlsx":
		return &d
	}
	if _, err := decoderFor(d.Encoding); err != nil {
		t.Fatalf("%q: encoding %q: %v", data, d.Encoding, err)
	}
	if d.Format == "csv" && !slices.Contains(csvDelimiters, byte(d.Delimiter)) {
		t.Fatalf("%q: delimiter %q", data, d.Delimiter)
	}
	return &d
}
