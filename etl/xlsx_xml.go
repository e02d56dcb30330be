package etl

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// xmlScanner is the byte scanner under the fast XLSX reader: it splits the
// XML of a worksheet or a shared strings part into start tags, end tags and
// character data the way encoding/xml's Decoder.Token does, at several
// hundred MB/s instead of about 30. It accepts only what it is sure
// encoding/xml reads to the same tokens: where encoding/xml would stop on
// an error, and wherever this scanner would have to guess (a DOCTYPE, a
// non-ASCII element name, an encoding other than UTF-8), it gives up with
// xmlFail and the reader hands the workbook to excelize, which then reads
// from the same bytes with encoding/xml itself. Comments and processing
// instructions give no token: excelize ignores them, and character data on
// either side of one is joined by whoever collects it, as encoding/xml's
// Unmarshal does.
//
// A token's names, attributes and text point into the scanner's buffers and
// are valid until the next call of next.
type xmlScanner struct {
	buf  []byte // buf[pos:] is unread
	pos  int
	done bool                         // no more input after buf
	fill func([]byte) ([]byte, error) // appends the next piece of input; io.EOF (or any error) at the end
	err  error                        // the input's error other than its end, if any

	name, local []byte // the element of a start or end token
	attrs       []xmlAttr
	text        []byte // character data, entities decoded, CR LF as LF
	endNext     bool   // the last start tag was an empty-element tag: its end comes next

	open    []xmlOpen // the open elements, innermost last
	names   []byte    // the raw names of the open elements, back to back
	scratch []byte    // decoded text and attribute values; never shorter than the unread input

	why string // why the scanner gave up
}

type xmlTokKind uint8

const (
	xmlEOF   xmlTokKind = iota // the input ended between two tokens
	xmlStart                   // a start tag, or an empty-element tag (its end follows)
	xmlEnd
	xmlText
	xmlFail // bad or unsupported XML, or the input failed: see why and err
	xmlSkip // a comment or processing instruction (internal)
)

// xmlOpen is an open element: where its name and the name's local part
// start in names (the name ends where the next one starts).
type xmlOpen struct {
	start, local int
}

// xmlAttr is an attribute: its raw name, the local part of the name, and its
// value with entities decoded.
type xmlAttr struct {
	name, local, value []byte
}

// results of the token parsers besides an end offset
const (
	xmlMore   = -1 // the token runs past the buffered input
	xmlFailed = -2
)

// maxXMLDepth bounds the open elements: encoding/xml's Unmarshal refuses
// nesting past 10,000, and no spreadsheet part nests deeper than a dozen.
const maxXMLDepth = 256

// newXMLScannerBytes scans XML held whole in memory.
func newXMLScannerBytes(b []byte) *xmlScanner {
	return &xmlScanner{buf: b, done: true, scratch: make([]byte, 0, len(b))}
}

// newXMLScanner scans XML read piece by piece by fill.
func newXMLScanner(fill func([]byte) ([]byte, error)) *xmlScanner {
	return &xmlScanner{fill: fill}
}

func (s *xmlScanner) fail(why string) xmlTokKind {
	if s.why == "" {
		s.why = why
	}
	return xmlFail
}

// more reads more input behind the unread bytes, at least as much as is
// unread (a token is parsed again from its start once more input is in,
// so a long one must not come a chunk at a time); false when there is
// none.
func (s *xmlScanner) more() bool {
	if s.done {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:])
		s.buf, s.pos = s.buf[:n], 0
	}
	n := len(s.buf)
	for !s.done && len(s.buf)-n < max(n, 1) {
		buf, err := s.fill(s.buf)
		s.buf = buf
		if err != nil {
			s.done = true
			if !isEOF(err) {
				s.err = err
			}
		}
	}
	if cap(s.scratch) < len(s.buf) {
		s.scratch = make([]byte, 0, 2*len(s.buf))
	}
	return len(s.buf) > n
}

// next scans the next token.
func (s *xmlScanner) next() xmlTokKind {
	if s.endNext {
		s.endNext = false
		s.pop()
		return xmlEnd
	}
	for {
		if s.pos >= len(s.buf) {
			if !s.more() {
				if s.err != nil {
					return s.fail("reading the part: " + s.err.Error())
				}
				return xmlEOF
			}
			continue
		}
		s.scratch = s.scratch[:0]
		kind, end := s.token(s.buf, s.pos)
		switch end {
		case xmlMore:
			if s.done {
				if s.err != nil {
					return s.fail("reading the part: " + s.err.Error())
				}
				return s.fail("unexpected end of the XML")
			}
			s.more() // and parse the token again, knowing whether more follows
			continue
		case xmlFailed:
			return xmlFail
		}
		s.pos = end
		if kind != xmlSkip {
			return kind
		}
	}
}

func (s *xmlScanner) token(b []byte, i int) (xmlTokKind, int) {
	if b[i] != '<' {
		end := s.charData(b, i)
		return xmlText, end
	}
	if i+1 >= len(b) {
		return 0, xmlMore
	}
	switch b[i+1] {
	case '/':
		return xmlEnd, s.endTag(b, i+2)
	case '?':
		return xmlSkip, s.procInst(b, i+2)
	case '!':
		return s.bang(b, i+2)
	}
	return xmlStart, s.startTag(b, i+1)
}

// nameClass sorts bytes for names: nameChar for encoding/xml's isNameByte
// but the colon, nameColon, and nameWide for the bytes of non-ASCII
// characters.
var nameClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-':
			t[c] = nameChar
		case c == ':':
			t[c] = nameColon
		case c >= utf8.RuneSelf:
			t[c] = nameWide
		}
	}
	return
}()

const (
	nameChar = 1 + iota
	nameColon
	nameWide
)

// scanName reads a name from b[i:] as encoding/xml's readName does and
// checks it as its name and nsname do. It returns the name's end (or
// xmlMore, or xmlFailed) and where its local part starts: after the colon
// of "a:b"; ":b" and "a:" have no prefix. Names with bytes past ASCII are
// valid XML but left to encoding/xml: checking them takes its Unicode
// tables.
func (s *xmlScanner) scanName(b []byte, i int, what string) (end, local int) {
	j, colon := i, -1
	for {
		for j < len(b) && nameClass[b[j]] == nameChar {
			j++
		}
		if j >= len(b) {
			return xmlMore, 0
		}
		switch nameClass[b[j]] {
		case nameColon:
			if colon >= 0 {
				s.fail("XML name with two colons")
				return xmlFailed, 0
			}
			colon = j
			j++
			continue
		case nameWide:
			s.fail("non-ASCII XML name")
			return xmlFailed, 0
		}
		break
	}
	if j == i {
		s.fail("expected " + what)
		return xmlFailed, 0
	}
	if c := b[i]; '0' <= c && c <= '9' || c == '.' || c == '-' {
		s.fail("invalid XML name")
		return xmlFailed, 0
	}
	if colon > i && colon < j-1 {
		return j, colon + 1
	}
	return j, i
}

// prefixName is the prefix of a name, if it has one (see scanName).
func prefixName(name []byte) []byte {
	if k := bytes.IndexByte(name, ':'); k > 0 && k < len(name)-1 {
		return name[:k]
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\r', '\n', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

func (s *xmlScanner) startTag(b []byte, i int) int {
	j, l := s.scanName(b, i, "element name after <")
	if j < 0 {
		return j
	}
	s.name, s.local = b[i:j], b[l:j]
	s.attrs = s.attrs[:0]
	empty := false
	for {
		j = skipSpace(b, j)
		if j >= len(b) {
			return xmlMore
		}
		if c := b[j]; c == '>' {
			j++
			break
		} else if c == '/' {
			if j+1 >= len(b) {
				return xmlMore
			}
			if b[j+1] != '>' {
				s.fail("expected /> in element")
				return xmlFailed
			}
			j += 2
			empty = true
			break
		}
		k, l := s.scanName(b, j, "attribute name in element")
		if k < 0 {
			return k
		}
		name, local := b[j:k], b[l:k]
		k = skipSpace(b, k)
		if k >= len(b) {
			return xmlMore
		}
		if b[k] != '=' {
			s.fail("attribute name without = in element")
			return xmlFailed
		}
		k = skipSpace(b, k+1)
		if k >= len(b) {
			return xmlMore
		}
		q := b[k]
		if q != '"' && q != '\'' {
			s.fail("unquoted or missing attribute value in element")
			return xmlFailed
		}
		value, end := s.attrValue(b, k+1, q)
		if end < 0 {
			return end
		}
		s.attrs = append(s.attrs, xmlAttr{name: name, local: local, value: value})
		j = end
	}
	if len(s.open) >= maxXMLDepth {
		s.fail("XML nested too deep")
		return xmlFailed
	}
	s.open = append(s.open, xmlOpen{start: len(s.names), local: len(s.names) + l - i})
	s.names = append(s.names, s.name...)
	s.endNext = empty
	return j
}

// pop closes the innermost open element.
func (s *xmlScanner) pop() {
	n := len(s.open) - 1
	s.names = s.names[:s.open[n].start]
	s.open = s.open[:n]
}

func (s *xmlScanner) endTag(b []byte, i int) int {
	n := len(s.open)
	if n > 0 {
		// The common case first: the name of the innermost open element,
		// compared whole. The end token's names then point into names,
		// whose bytes stay until the next start tag.
		top := s.open[n-1]
		name := s.names[top.start:]
		if k := i + len(name); k < len(b) && nameClass[b[k]] == 0 && bytes.Equal(b[i:k], name) {
			j := skipSpace(b, k)
			if j >= len(b) {
				return xmlMore
			}
			if b[j] != '>' {
				s.fail("invalid characters between </" + string(name) + " and >")
				return xmlFailed
			}
			s.name, s.local = name, s.names[top.local:]
			s.pop()
			return j + 1
		}
	}
	j, l := s.scanName(b, i, "element name after </")
	if j < 0 {
		return j
	}
	s.name, s.local = b[i:j], b[l:j]
	j = skipSpace(b, j)
	if j >= len(b) {
		return xmlMore
	}
	if b[j] != '>' {
		s.fail("invalid characters between </" + string(s.local) + " and >")
		return xmlFailed
	}
	if n == 0 {
		s.fail("unexpected end element </" + string(s.local) + ">")
		return xmlFailed
	}
	s.fail("element <" + string(s.names[s.open[n-1].start:]) + "> closed by </" + string(s.name) + ">")
	return xmlFailed
}

// procInst skips a processing instruction. The XML declaration is checked
// as encoding/xml checks it: version 1.0, and an encoding other than UTF-8
// (which encoding/xml would transcode) is left to it.
func (s *xmlScanner) procInst(b []byte, i int) int {
	j, _ := s.scanName(b, i, "target name after <?")
	if j < 0 {
		return j
	}
	target := b[i:j]
	j = skipSpace(b, j)
	if j >= len(b) {
		return xmlMore
	}
	k := bytes.Index(b[j:], []byte("?>"))
	if k < 0 {
		return xmlMore
	}
	if string(target) == "xml" {
		content := string(b[j : j+k])
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			s.fail("XML version " + strconv.Quote(ver))
			return xmlFailed
		}
		if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			s.fail("XML encoding " + strconv.Quote(enc))
			return xmlFailed
		}
	}
	return j + k + 2
}

// procInstParam is encoding/xml's procInst: the value of param="..." in a
// processing instruction, as loosely as it reads it.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads what follows "<!": a comment or a CDATA section. A DOCTYPE or
// other directive is left to encoding/xml.
func (s *xmlScanner) bang(b []byte, i int) (xmlTokKind, int) {
	if i >= len(b) {
		return 0, xmlMore
	}
	switch b[i] {
	case '-':
		if i+1 >= len(b) {
			return 0, xmlMore
		}
		if b[i+1] != '-' {
			s.fail("invalid sequence <!- not part of <!--")
			return 0, xmlFailed
		}
		// encoding/xml ends the comment at the first "--", which must be
		// followed by '>'.
		k := bytes.Index(b[i+2:], []byte("--"))
		if k < 0 || i+2+k+2 >= len(b) {
			return 0, xmlMore
		}
		if b[i+2+k+2] != '>' {
			s.fail(`invalid sequence "--" not allowed in comments`)
			return 0, xmlFailed
		}
		return xmlSkip, i + 2 + k + 3
	case '[':
		const cdata = "CDATA["
		for k := 0; k < len(cdata); k++ {
			if i+1+k >= len(b) {
				return 0, xmlMore
			}
			if b[i+1+k] != cdata[k] {
				s.fail("invalid <![ sequence")
				return 0, xmlFailed
			}
		}
		text, end := s.decodeText(b, i+1+len(cdata), -1, true)
		if end < 0 {
			return 0, end
		}
		s.text = text
		return xmlText, end
	}
	s.fail("XML directive")
	return 0, xmlFailed
}

// charData reads character data up to the next '<' (or the end of the
// input). Plain text is returned in place; text with an entity, a CR or
// anything to check closely goes through decodeText.
func (s *xmlScanner) charData(b []byte, i int) int {
	wide := false
	j := i
	for {
		for j < len(b) && textClass[b[j]] == 0 {
			j++
		}
		if j >= len(b) {
			if !s.done {
				return xmlMore
			}
			break
		}
		c := b[j]
		if c == '<' {
			break
		}
		if textClass[c] == classWide {
			wide = true
			j++
			continue
		}
		if c == ']' && j+2 < len(b) && !(b[j+1] == ']' && b[j+2] == '>') {
			j++
			continue
		}
		text, end := s.decodeText(b, i, -1, false)
		if end < 0 {
			return end
		}
		s.text = text
		return end
	}
	if wide && !xmlChars(b[i:j]) {
		s.fail("invalid UTF-8 or character in XML text")
		return xmlFailed
	}
	s.text = b[i:j]
	return j
}

// textClass and attrClass sort the bytes of character data and of attribute
// values: 0 for ASCII taken as it is, classWide for the bytes of non-ASCII
// characters (checked as UTF-8 afterwards), classStop for the rest: '<',
// '&', CR and control characters, ']' in text ("]]>" is an error there),
// quotes in values.
var textClass, attrClass = func() (text, attr [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= utf8.RuneSelf:
			text[c], attr[c] = classWide, classWide
		case c < 0x20 && c != '\t' && c != '\n', c == '<', c == '&':
			text[c], attr[c] = classStop, classStop
		case c == ']':
			text[c] = classStop
		case c == '"', c == '\'':
			attr[c] = classStop
		}
	}
	return
}()

const (
	classWide = 1 + iota
	classStop
)

// attrValue reads an attribute value after its opening quote q; it returns
// the value and the offset after the closing quote.
func (s *xmlScanner) attrValue(b []byte, i int, q byte) ([]byte, int) {
	wide := false
	for j := i; ; j++ {
		for j < len(b) && attrClass[b[j]] == 0 {
			j++
		}
		if j >= len(b) {
			return nil, xmlMore
		}
		switch c := b[j]; {
		case c == q:
			if wide && !xmlChars(b[i:j]) {
				s.fail("invalid UTF-8 or character in XML attribute")
				return nil, xmlFailed
			}
			return b[i:j], j + 1
		case attrClass[c] == classWide:
			wide = true
		case c == '"' || c == '\'':
		default:
			return s.decodeText(b, i, int(q), false)
		}
	}
}

// xmlEntities are the entities encoding/xml knows without a DTD.
var xmlEntities = map[string]string{"lt": "<", "gt": ">", "amp": "&", "apos": "'", "quot": `"`}

// decodeText is encoding/xml's text(quote, cdata), byte for byte: it reads
// character data (quote < 0), an attribute value after its opening quote,
// or a CDATA section's content, decodes entities and character references
// (not in CDATA), turns CR LF and lone CR into LF, and checks the result is
// UTF-8 of XML characters. It returns the decoded text (in scratch) and the
// offset after it: at the '<' that ends character data, after the closing
// quote or after "]]>".
func (s *xmlScanner) decodeText(b []byte, i int, quote int, cdata bool) ([]byte, int) {
	var b0, b1 byte
	trunc := 0
	start := len(s.scratch)
	out := s.scratch
	for {
		if i >= len(b) {
			if quote >= 0 || cdata || !s.done {
				return nil, xmlMore
			}
			break
		}
		c := b[i]
		i++
		if quote < 0 && b0 == ']' && b1 == ']' && c == '>' {
			if cdata {
				trunc = 2
				break
			}
			s.fail("unescaped ]]> not in CDATA section")
			return nil, xmlFailed
		}
		if c == '<' && !cdata {
			if quote >= 0 {
				s.fail("unescaped < inside quoted string")
				return nil, xmlFailed
			}
			i--
			break
		}
		if quote >= 0 && c == byte(quote) {
			break
		}
		if c == '&' && !cdata {
			text, end := s.entity(b, i)
			if end < 0 {
				return nil, end
			}
			out = append(out, text...)
			i = end
			b0, b1 = 0, 0
			continue
		}
		if c == '\r' {
			out = append(out, '\n')
		} else if b1 == '\r' && c == '\n' {
			// the LF of CR LF: the CR was written as LF
		} else {
			out = append(out, c)
		}
		b0, b1 = b1, c
	}
	data := out[start : len(out)-trunc]
	s.scratch = out
	if !xmlChars(data) {
		s.fail("invalid UTF-8 or character in XML text")
		return nil, xmlFailed
	}
	return data, i
}

// entity decodes the entity or character reference after a '&' at b[i-1]
// and returns its text and the offset after its ';'. Anything encoding/xml
// in strict mode refuses (an unknown entity, a missing ';', a reference
// past U+10FFFF) fails here too.
func (s *xmlScanner) entity(b []byte, i int) (string, int) {
	if i >= len(b) {
		return "", xmlMore
	}
	if b[i] == '#' {
		i++
		if i >= len(b) {
			return "", xmlMore
		}
		base := 10
		if b[i] == 'x' {
			base = 16
			i++
		}
		from := i
		for ; i < len(b); i++ {
			c := b[i]
			if !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
				break
			}
		}
		if i >= len(b) {
			return "", xmlMore
		}
		if b[i] == ';' {
			if n, err := strconv.ParseUint(string(b[from:i]), base, 64); err == nil && n <= utf8.MaxRune {
				return string(rune(n)), i + 1
			}
		}
		s.fail("invalid character reference")
		return "", xmlFailed
	}
	from := i
	for i < len(b) && nameClass[b[i]] != 0 {
		i++
	}
	if i >= len(b) {
		return "", xmlMore
	}
	if b[i] == ';' {
		if text, ok := xmlEntities[string(b[from:i])]; ok {
			return text, i + 1
		}
	}
	s.fail("invalid character entity")
	return "", xmlFailed
}

// xmlChars reports whether b is UTF-8 of characters XML allows, the check
// encoding/xml makes on text and attribute values.
func xmlChars(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}
