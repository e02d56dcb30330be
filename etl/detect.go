package etl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// Detected is what ckm learned about a file before reading it.
type Detected struct {
	Format    string // csv | ndjson | json | parquet | xlsx
	Encoding  string // utf-8 | utf-8-bom | utf-16le | utf-16be | gb18030 (text formats)
	Delimiter rune   // delimited text only
	// CROnly says the text breaks lines with a lone CR (classic Mac OS
	// exports): readers turn each CR into a line feed.
	CROnly bool
}

// sniffSize is how much of a file detection reads.
const sniffSize = 64 << 10

// Detect reads the head of a file and decides its format, text encoding and
// delimiter. A mapping's explicit format or encoding wins over detection.
// Only a regular file is read (see ErrNotRegular).
func Detect(path string, m *Mapping) (Detected, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return Detected{}, err
	}
	defer f.Close()
	head := make([]byte, sniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Detected{}, err
	}
	return detectHead(path, head[:n], m)
}

// detectHead is Detect on the first sniffSize bytes of the file at path
// (all of it when shorter).
func detectHead(path string, head []byte, m *Mapping) (Detected, error) {
	n := len(head)
	var d Detected
	if m != nil {
		d.Format = m.Format
	}
	if d.Format == "" {
		d.Format = detectFormat(path, head)
	}
	if d.Format == "ndjson" || d.Format == "json" {
		// Exports labelled one way are often the other: the content decides
		// between one array of objects and one object a line.
		if jsonArray(head) {
			d.Format = "json"
		} else {
			d.Format = "ndjson"
		}
	}
	if d.Format == "tsv" {
		d.Format, d.Delimiter = "csv", '\t'
	}
	switch d.Format {
	case "parquet":
		if !bytes.HasPrefix(head, []byte("PAR1")) {
			return d, fmt.Errorf("not a Parquet file (no PAR1 magic)")
		}
		return d, nil
	case "xlsx":
		if !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
			if kind := magicKind(head); kind != "" {
				return d, fmt.Errorf("%s, not an XLSX workbook", kind)
			}
			return d, fmt.Errorf("not an XLSX workbook (not a zip archive)")
		}
		return d, nil
	}
	if len(head) == 0 {
		return d, fmt.Errorf("empty file")
	}
	if kind := magicKind(head); kind != "" {
		return d, fmt.Errorf("%s, not %s text", kind, strings.ToUpper(d.Format))
	}
	if m != nil && m.Encoding != "" && m.Encoding != "auto" {
		d.Encoding = strings.ToLower(m.Encoding)
		if _, err := decoderFor(d.Encoding); err != nil {
			return d, err
		}
	} else {
		enc, err := detectEncoding(head, n == sniffSize)
		if err != nil {
			return d, err
		}
		d.Encoding = enc
	}
	if d.Format == "csv" && d.Delimiter == 0 {
		text, err := decodeHead(head, d.Encoding)
		if err != nil {
			return d, err
		}
		d.Delimiter = detectDelimiter(text)
	}
	d.CROnly = crOnly(head, d.Encoding)
	return d, nil
}

// magics are the signatures of binary files that get exported or renamed
// by mistake in place of a text export.
var magics = []struct{ prefix, kind string }{
	{"\x89PNG\r\n\x1a\n", "a PNG image"},
	{"\xff\xd8\xff", "a JPEG image"},
	{"GIF87a", "a GIF image"},
	{"GIF89a", "a GIF image"},
	{"%PDF-", "a PDF document"},
	{"\x1f\x8b", "a gzip archive (decompress it first)"},
	{"PK\x03\x04", "a zip archive (an XLSX workbook or compressed export)"},
	{"Rar!\x1a\x07", "a RAR archive"},
	{"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"},
	{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Excel .xls (OLE2) workbook (save it as .xlsx or CSV)"},
	{"\x7fELF", "an executable"},
	{"SQLite format 3\x00", "a SQLite database"},
}

// magicKind names the kind of binary file head starts like, or "".
func magicKind(head []byte) string {
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.kind
		}
	}
	return ""
}

// crOnly reports whether decoded text breaks its lines with CR alone: the
// head has carriage returns and no line feed.
func crOnly(head []byte, enc string) bool {
	var cr, lf []byte
	switch enc {
	case "utf-16le":
		cr, lf = []byte{'\r', 0}, []byte{'\n', 0}
	case "utf-16be":
		cr, lf = []byte{0, '\r'}, []byte{0, '\n'}
	default:
		cr, lf = []byte{'\r'}, []byte{'\n'}
	}
	return bytes.Contains(head, cr) && !bytes.Contains(head, lf)
}

func detectFormat(path string, head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return "parquet"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "xlsx"
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ndjson", ".jsonl", ".json":
		if jsonArray(head) {
			return "json"
		}
		return "ndjson"
	case ".tsv", ".tab":
		return "tsv"
	case ".parquet":
		return "parquet"
	case ".xlsx":
		return "xlsx"
	}
	return "csv"
}

// jsonArray reports whether a JSON file is one top-level array rather than
// NDJSON: it starts with '[' and its first line is not a whole JSON value
// followed by more lines (NDJSON whose first record is an array).
func jsonArray(head []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) == 0 || t[0] != '[' {
		return false
	}
	first, rest, _ := bytes.Cut(t, []byte("\n"))
	return !json.Valid(first) || len(bytes.TrimSpace(rest)) == 0
}

// detectEncoding decides between UTF-8 (with or without BOM), UTF-16 and
// GB18030 (a superset of GBK and GB2312). truncated says the head may end in
// the middle of a character.
func detectEncoding(head []byte, truncated bool) (string, error) {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return "utf-8-bom", nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return "utf-16le", nil
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return "utf-16be", nil
	}
	if enc := sniffUTF16(head); enc != "" {
		return enc, nil
	}
	probe := head
	if nuls := bytes.Count(head, []byte{0}); nuls > 0 {
		// A few stray NULs in text are bad records (rejected when read);
		// many, or NULs in bytes that are no text, are a binary file.
		at := bytes.IndexByte(head, 0)
		line := 1 + bytes.Count(head[:at], []byte("\n"))
		probe = bytes.ReplaceAll(head, []byte{0}, nil)
		if nuls > 8 && nuls*1000 > len(head) {
			return "", fmt.Errorf("binary data (%d NUL bytes, the first at line %d byte %d): not CSV/JSON text", nuls, line, at+1)
		}
		if enc, err := detectEncoding(probe, truncated); err == nil {
			return enc, nil
		}
		return "", fmt.Errorf("binary data (NUL bytes from line %d byte %d, and no text encoding fits): not CSV/JSON text", line, at+1)
	}
	if truncated {
		// Drop a possibly cut last character.
		for i := 0; i < 4 && len(probe) > 0 && !utf8.Valid(probe); i++ {
			probe = probe[:len(probe)-1]
		}
	}
	if utf8.Valid(probe) || mostlyUTF8(probe) {
		return "utf-8", nil
	}
	if validGB18030(probe, truncated) {
		return "gb18030", nil
	}
	line := 1 + bytes.Count(probe[:firstInvalidUTF8(probe)], []byte("\n"))
	return "", fmt.Errorf("unknown text encoding: neither UTF-8 (line %d is not), UTF-16 nor GBK/GB18030 (binary data, or lines in several encodings?)", line)
}

// firstInvalidUTF8 is the offset of the first byte that is not UTF-8.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// mostlyUTF8 recognises UTF-8 text with a few lines pasted in from another
// encoding (rejected when read): at least two in three of the lines with
// non-ASCII bytes are valid UTF-8. GBK text almost never is.
func mostlyUTF8(b []byte) bool {
	var nonASCII, valid int
	for len(b) > 0 {
		l := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		ascii := true
		for _, c := range l {
			if c >= 0x80 {
				ascii = false
				break
			}
		}
		if ascii {
			continue
		}
		nonASCII++
		if utf8.Valid(l) {
			valid++
		}
	}
	return nonASCII > 0 && valid*3 >= nonASCII*2
}

// sniffUTF16 recognises BOM-less UTF-16 by its zero bytes on one side.
func sniffUTF16(head []byte) string {
	if len(head) < 4 {
		return ""
	}
	var evenZero, oddZero int
	n := len(head) &^ 1
	for i := 0; i < n; i += 2 {
		if head[i] == 0 {
			evenZero++
		}
		if head[i+1] == 0 {
			oddZero++
		}
	}
	// ASCII puts its zero bytes on one side; the few CJK code units with
	// a zero byte (一 is U+4E00) put some on the other.
	half := n / 2
	switch {
	case oddZero > half*3/10 && evenZero*8 < oddZero:
		return "utf-16le"
	case evenZero > half*3/10 && oddZero*8 < evenZero:
		return "utf-16be"
	}
	return ""
}

// validGB18030 checks the byte structure of GB18030: ASCII, two-byte
// [81-FE][40-7E,80-FE] and four-byte [81-FE][30-39][81-FE][30-39].
func validGB18030(b []byte, truncated bool) bool {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			i++
		case c >= 0x81 && c <= 0xFE:
			if i+1 >= len(b) {
				return truncated
			}
			c2 := b[i+1]
			if (c2 >= 0x40 && c2 <= 0x7E) || (c2 >= 0x80 && c2 <= 0xFE) {
				i += 2
				continue
			}
			if c2 >= 0x30 && c2 <= 0x39 {
				if i+3 >= len(b) {
					return truncated
				}
				if b[i+2] >= 0x81 && b[i+2] <= 0xFE && b[i+3] >= 0x30 && b[i+3] <= 0x39 {
					i += 4
					continue
				}
			}
			return false
		default:
			return false
		}
	}
	return true
}

func decoderFor(enc string) (encoding.Encoding, error) {
	switch enc {
	case "utf-8", "utf8", "utf-8-bom":
		return unicode.UTF8BOM, nil
	case "utf-16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), nil
	case "utf-16be":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM), nil
	case "utf-16":
		return unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), nil
	case "gbk", "gb2312", "gb18030", "cp936":
		return simplifiedchinese.GB18030, nil
	}
	return nil, fmt.Errorf("encoding %q: want utf-8, utf-16le, utf-16be, gbk or gb18030", enc)
}

func decodeHead(head []byte, enc string) (string, error) {
	e, err := decoderFor(enc)
	if err != nil {
		return "", err
	}
	out, err := e.NewDecoder().Bytes(head)
	if err != nil {
		// A cut last character; decode what is whole.
		out, _ = e.NewDecoder().Bytes(head[:len(head)*3/4])
	}
	return string(out), nil
}

// detectDelimiter picks the candidate that splits the first lines into the
// same number (>1) of fields most consistently, counting outside quotes.
func detectDelimiter(text string) rune {
	lines := strings.Split(text, "\n")
	if len(lines) > 20 {
		lines = lines[:20]
	}
	best, bestScore := ',', -1
	for _, d := range []rune{',', '\t', ';', '|'} {
		counts := map[int]int{}
		for _, l := range lines {
			if strings.TrimSpace(l) == "" {
				continue
			}
			counts[countOutsideQuotes(l, d)]++
		}
		mode, modeN := 0, 0
		for c, n := range counts {
			if c > 0 && (n > modeN || (n == modeN && c > mode)) {
				mode, modeN = c, n
			}
		}
		score := modeN*1000 + mode
		if mode > 0 && score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

func countOutsideQuotes(line string, d rune) int {
	n, quoted := 0, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == d && !quoted:
			n++
		}
	}
	return n
}
