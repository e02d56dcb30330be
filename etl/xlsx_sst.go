package etl

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Shared strings and inline strings for the fast XLSX reader. Both are
// excelize's xlsxSI, read by encoding/xml's Unmarshal, and a cell's text is
// its String(): the text of the string item's <t>, then that of each rich
// text run <r>, with _xHHHH_ escapes decoded. What Unmarshal does and this
// code therefore does too:
//   - only direct children count: <t> and <r> of the item, <t> of a run;
//     any other element is skipped whole, so phonetic runs (<rPh>) and their
//     <t> stay out of the text;
//   - a repeated <t> replaces the text before it (it is one pointer field);
//   - a <t>'s text is its own character data, nested elements skipped;
//   - the typed attributes of the structures Unmarshal fills (rPh sb/eb,
//     phoneticPr fontId, the run properties' val, color's auto/indexed/
//     theme/tint) must parse, or Unmarshal fails. Where excelize would get
//     such an error the fast reader gives up and excelize reads the
//     workbook, since what excelize makes of a half-decoded item is its own.

// xlsxText collects one string item (an <si>, or a cell's <is>; a cell with
// two <is> fills one item, as Unmarshal reuses the pointer).
type xlsxText struct {
	present bool   // the cell has an <is>
	t       []byte // the item's last <t>
	runs    []byte // the text of the runs' last <t>s, one after the other
	run     []byte // the run being read
}

func (x *xlsxText) reset() {
	x.present, x.t, x.runs = false, x.t[:0], x.runs[:0]
}

// String is xlsxSI.String.
func (x *xlsxText) String() string {
	if len(x.t)+len(x.runs) == 0 {
		return ""
	}
	var s string
	if len(x.runs) == 0 {
		s = string(x.t)
	} else {
		s = string(x.t) + string(x.runs)
	}
	return bstrUnmarshal(s)
}

// eachChild reads the content of the element whose start tag the scanner
// has just read, up to its end tag, calling child at the start tag of each
// child element (which must read that element whole); character data
// between them is passed over. It is false when child is, or the XML ends
// first.
func eachChild(sc *xmlScanner, child func(local []byte) bool) bool {
	for {
		switch sc.next() {
		case xmlStart:
			if !child(sc.local) {
				return false
			}
		case xmlEnd:
			return true
		case xmlText:
		default:
			return false
		}
	}
}

// decodeItem reads the content of an <si> or <is> whose start tag the
// scanner has just read, up to its end tag.
func decodeItem(sc *xmlScanner, x *xlsxText) bool {
	return eachChild(sc, func(local []byte) bool {
		switch string(local) {
		case "t":
			var ok bool
			x.t, ok = elementText(sc, x.t[:0])
			return ok
		case "r":
			return decodeRun(sc, x)
		case "rPh":
			return attrsParse(sc.attrs, "sb", parseUint32) && attrsParse(sc.attrs, "eb", parseUint32) && skipElement(sc)
		case "phoneticPr":
			return attrsParse(sc.attrs, "fontId", parseInt64) && skipElement(sc)
		}
		return skipElement(sc)
	})
}

// decodeRun reads a rich text run <r>: its properties must decode, its last
// <t> is its text.
func decodeRun(sc *xmlScanner, x *xlsxText) bool {
	x.run = x.run[:0]
	if !eachChild(sc, func(local []byte) bool {
		switch string(local) {
		case "t":
			var ok bool
			x.run, ok = elementText(sc, x.run[:0])
			return ok
		case "rPr":
			return decodeRunProps(sc)
		}
		return skipElement(sc)
	}) {
		return false
	}
	x.runs = append(x.runs, x.run...)
	return true
}

// decodeRunProps checks a run's <rPr> as Unmarshal into excelize's xlsxRPr
// would: the children it maps to numbers or booleans must parse.
func decodeRunProps(sc *xmlScanner) bool {
	return eachChild(sc, func(local []byte) bool {
		switch string(local) {
		case "b", "i", "strike", "outline", "shadow", "condense", "extend":
			return decodeAttrValBool(sc)
		case "charset", "family":
			return attrsParse(sc.attrs, "val", parseInt64) && skipElement(sc)
		case "sz":
			return attrsParse(sc.attrs, "val", parseFloat64) && skipElement(sc)
		case "color":
			return attrsParse(sc.attrs, "auto", parseBool) && attrsParse(sc.attrs, "indexed", parseInt64) &&
				attrsParse(sc.attrs, "theme", parseInt64) && attrsParse(sc.attrs, "tint", parseFloat64) && skipElement(sc)
		}
		return skipElement(sc) // rFont, u, vertAlign, scheme: string values; anything else is skipped
	})
}

// decodeAttrValBool is excelize's attrValBool.UnmarshalXML: no child
// elements, and the first val attribute empty (true) or a strconv bool.
func decodeAttrValBool(sc *xmlScanner) bool {
	for _, a := range sc.attrs {
		if string(a.local) == "val" {
			if len(a.value) > 0 {
				if _, err := strconv.ParseBool(string(a.value)); err != nil {
					return false
				}
			}
			break
		}
	}
	for {
		switch sc.next() {
		case xmlEnd:
			return true
		case xmlText:
		default: // a child element: excelize's ErrAttrValBool
			return false
		}
	}
}

// elementText appends to dst the character data directly inside the
// element whose start tag was just read, nested elements skipped: what
// Unmarshal puts in a string or chardata field.
func elementText(sc *xmlScanner, dst []byte) ([]byte, bool) {
	depth := 0
	for {
		switch sc.next() {
		case xmlText:
			if depth == 0 {
				dst = append(dst, sc.text...)
			}
		case xmlStart:
			depth++
		case xmlEnd:
			if depth == 0 {
				return dst, true
			}
			depth--
		default:
			return dst, false
		}
	}
}

// skipElement reads past the end of the element whose start tag was just
// read, as Decoder.Skip.
func skipElement(sc *xmlScanner) bool {
	depth := 0
	for {
		switch sc.next() {
		case xmlStart:
			depth++
		case xmlEnd:
			if depth == 0 {
				return true
			}
			depth--
		case xmlText:
		default:
			return false
		}
	}
}

// attrsParse checks every attribute of the local name (any prefix, as
// Unmarshal matches them) with parse.
func attrsParse(attrs []xmlAttr, local string, parse func(string) bool) bool {
	for _, a := range attrs {
		if string(a.local) == local && len(a.value) > 0 && !parse(strings.TrimSpace(string(a.value))) {
			return false
		}
	}
	return true
}

// The conversions of encoding/xml's copyValue (after its TrimSpace, and an
// empty value is the zero value).
func parseInt64(s string) bool   { _, err := strconv.ParseInt(s, 10, 64); return err == nil }
func parseUint32(s string) bool  { _, err := strconv.ParseUint(s, 10, 32); return err == nil }
func parseFloat64(s string) bool { _, err := strconv.ParseFloat(s, 64); return err == nil }
func parseBool(s string) bool    { _, err := strconv.ParseBool(s); return err == nil }

// bstrUnmarshal is excelize's: each _xHHHH_ (4 hex digits) is the
// character U+HHHH, _x005F_ an underscore, and a surrogate code nothing;
// matches do not overlap and are found left to right, as its regular
// expression finds them.
func bstrUnmarshal(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var out strings.Builder
	cursor := 0
	for i := 0; i < len(s); {
		k := strings.Index(s[i:], "_x")
		if k < 0 {
			break
		}
		k += i
		if k+7 <= len(s) && isHex4(s[k+2:k+6]) && s[k+6] == '_' {
			out.WriteString(s[cursor:k])
			if s[k:k+7] == "_x005F_" {
				out.WriteByte('_')
			} else {
				v, _ := strconv.Unquote(`"\u` + s[k+2:k+6] + `"`)
				out.WriteString(v)
			}
			cursor, i = k+7, k+7
			continue
		}
		i = k + 1
	}
	out.WriteString(s[cursor:])
	return out.String()
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// sstTempSize is the size past which excelize keeps xl/sharedStrings.xml in
// a temporary file (its UnzipXMLSizeLimit, StreamChunkSize by default) and
// reads it differently; see parseSST.
const sstTempSize = excelize.StreamChunkSize

// parseSST reads the shared strings part as excelize does; false where
// excelize would fail, or read it in a way this code does not follow.
//
// Up to sstTempSize excelize Unmarshals the part into its xlsxSST (after
// rewriting Strict namespaces to Transitional ones in the bytes): the root
// must be <sst> in the spreadsheetml main namespace, its count and
// uniqueCount integers, and the table is the root's <si> children. Past
// that size it writes the String() of every <si> element anywhere in the
// part to a temporary file, root unchecked; a syntax error there would end
// its table early, which is left to excelize.
func parseSST(data []byte, temp bool) ([]string, bool) {
	if !temp && bytes.Contains(data, []byte("purl.oclc.org")) {
		// excelize rewrites every Strict namespace name in the bytes, text
		// included. Only the spreadsheetml one is rewritten here, where no
		// other occurs: some of the rewrites overlap, and excelize applies
		// them in map order.
		strict := []byte(excelize.StrictNameSpaceSpreadSheet)
		if bytes.Count(data, []byte("purl.oclc.org")) != bytes.Count(data, strict) {
			return nil, false
		}
		data = bytes.ReplaceAll(data, strict, []byte(excelize.NameSpaceSpreadSheet.Value))
	}
	sc := newXMLScannerBytes(data)
	var table []string
	var x xlsxText
	// item decodes the <si> the scanner is at and appends its text.
	item := func() bool {
		x.reset()
		if !decodeItem(sc, &x) {
			return false
		}
		table = append(table, x.String())
		return true
	}
	if temp {
		for {
			switch sc.next() {
			case xmlEOF:
				return table, true
			case xmlFail:
				return nil, false
			case xmlStart:
				if string(sc.local) == "si" && !item() {
					return nil, false
				}
			}
		}
	}
	for {
		k := sc.next()
		if k == xmlEOF {
			return nil, true // no root: Unmarshal's io.EOF, which excelize takes for an empty table
		}
		if k == xmlFail {
			return nil, false
		}
		if k == xmlStart {
			break
		}
	}
	if string(sc.local) != "sst" || rootSpace(sc) != excelize.NameSpaceSpreadSheet.Value ||
		!attrsParse(sc.attrs, "count", parseInt64) || !attrsParse(sc.attrs, "uniqueCount", parseInt64) {
		return nil, false
	}
	for {
		switch sc.next() {
		case xmlStart:
			if string(sc.local) == "si" {
				if !item() {
					return nil, false
				}
			} else if !skipElement(sc) {
				return nil, false
			}
		case xmlEnd:
			return table, true // Unmarshal reads no further than the root's end
		case xmlText:
		default:
			return nil, false
		}
	}
}

// rootSpace is the namespace encoding/xml gives the root element just read,
// from its own xmlns attributes (the last one counts).
func rootSpace(sc *xmlScanner) string {
	prefix := prefixName(sc.name)
	switch string(prefix) {
	case "xmlns":
		return "xmlns"
	case "xml":
		return "http://www.w3.org/XML/1998/namespace"
	}
	want := "xmlns"
	if prefix != nil {
		want = "xmlns:" + string(prefix)
	}
	space, found := "", false
	for _, a := range sc.attrs {
		if string(a.name) == want {
			space, found = string(a.value), true
		}
	}
	if !found && prefix != nil {
		return string(prefix)
	}
	return space
}
