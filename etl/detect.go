package etl

import (
	"bytes"
	"fmt"
	"io"
	"os"
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
}

// sniffSize is how much of a file detection reads.
const sniffSize = 64 << 10

// Detect reads the head of a file and decides its format, text encoding and
// delimiter. A mapping's explicit format or encoding wins over detection.
func Detect(path string, m *Mapping) (Detected, error) {
	f, err := os.Open(path)
	if err != nil {
		return Detected{}, err
	}
	defer f.Close()
	head := make([]byte, sniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Detected{}, err
	}
	head = head[:n]
	var d Detected
	if m != nil {
		d.Format = m.Format
	}
	if d.Format == "" {
		d.Format = detectFormat(path, head)
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
			return d, fmt.Errorf("not an XLSX workbook (not a zip archive)")
		}
		return d, nil
	}
	if len(head) == 0 {
		return d, fmt.Errorf("empty file")
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
	return d, nil
}

func detectFormat(path string, head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return "parquet"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "xlsx"
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ndjson", ".jsonl":
		return "ndjson"
	case ".json":
		if t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n"); len(t) > 0 && t[0] == '[' {
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
	if bytes.IndexByte(head, 0) >= 0 {
		return "", fmt.Errorf("binary data (NUL bytes) in a text file: not CSV/JSON text")
	}
	probe := head
	if truncated {
		// Drop a possibly cut last character.
		for i := 0; i < 4 && len(probe) > 0 && !utf8.Valid(probe); i++ {
			probe = probe[:len(probe)-1]
		}
	}
	if utf8.Valid(probe) {
		return "utf-8", nil
	}
	if validGB18030(head, truncated) {
		return "gb18030", nil
	}
	return "", fmt.Errorf("unknown text encoding: neither UTF-8, UTF-16 nor GBK/GB18030 (binary data?)")
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
	half := n / 2
	switch {
	case oddZero > half*3/10 && evenZero == 0:
		return "utf-16le"
	case evenZero > half*3/10 && oddZero == 0:
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
