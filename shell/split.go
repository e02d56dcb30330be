package shell

import (
	"strings"
)

// item is one unit of shell input: a SQL statement (without its final
// semicolon) or a meta-command line (starting with a dot).
type item struct {
	Text string
	Line int  // line of the input where the item starts (1-based)
	Meta bool // a meta-command such as .tables
	// trusted marks ckm's own statements (those meta-commands run), which
	// the analyst sandbox does not vet.
	trusted bool
}

// lexState is where the splitter is inside SQL text.
type lexState int

const (
	lexNormal lexState = iota
	lexSingle          // '...' ('' escapes a quote)
	lexEscape          // E'...' (backslash escapes too)
	lexDouble          // "..." identifier
	lexDollar          // $tag$ ... $tag$
	lexLine            // -- comment to end of line
	lexBlock           // /* comment */ (nests, as in DuckDB and PostgreSQL)
)

// splitter cuts input lines into statements terminated by a semicolon that
// is outside quotes, dollar quotes and comments. Statements may span lines
// and several may share a line. A line starting with a dot while no
// statement is pending is a meta-command.
type splitter struct {
	buf       strings.Builder
	state     lexState
	depth     int    // nesting of block comments
	tag       string // current dollar-quote tag, "$tag$"
	start     int    // line where the pending statement's first token is; 0 if none
	line      int    // lines fed so far
	prevIdent bool   // the previous normal character belongs to an identifier
}

// Pending reports whether a statement has begun but not ended, so a REPL
// shows its continuation prompt.
func (s *splitter) Pending() bool { return s.start != 0 || s.state != lexNormal && s.state != lexLine }

// Len returns the bytes of the pending statement.
func (s *splitter) Len() int { return s.buf.Len() }

// Feed adds one line of input (without its newline) and returns the items it
// completes.
func (s *splitter) Feed(line string) []item {
	s.line++
	if s.start == 0 && s.state == lexNormal {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, ".") {
			s.buf.Reset()
			return []item{{Text: t, Line: s.line, Meta: true}}
		}
	}
	var out []item
	// Bytes, not runes: every character that matters here is ASCII, and
	// the statement keeps the input's bytes exactly, even invalid UTF-8.
	rs := line
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		next := byte(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch s.state {
		case lexNormal:
			switch {
			case c == ';':
				if st := s.cut(); st.Text != "" {
					out = append(out, st)
				}
				s.prevIdent = false
				continue
			case c == '-' && next == '-':
				s.state = lexLine
				s.buf.WriteString("--")
				i++
				continue
			case c == '/' && next == '*':
				s.state, s.depth = lexBlock, 1
				s.buf.WriteString("/*")
				i++
				continue
			}
			if !isSpace(c) && s.start == 0 {
				s.start = s.line
			}
			switch {
			case c == '\'':
				s.state = lexSingle
				if s.prevIdent && i > 0 && (rs[i-1] == 'E' || rs[i-1] == 'e') && (i < 2 || !isIdent(rs[i-2])) {
					s.state = lexEscape
				}
			case c == '"':
				s.state = lexDouble
			case c == '$' && !s.prevIdent:
				if tag, ok := dollarTag(rs[i:]); ok {
					s.state, s.tag = lexDollar, tag
					s.buf.WriteString(tag)
					i += len(tag) - 1
					s.prevIdent = false
					continue
				}
			}
			s.prevIdent = isIdent(c)
		case lexSingle, lexDouble:
			if (c == '\'' && s.state == lexSingle) || (c == '"' && s.state == lexDouble) {
				s.state = lexNormal
				s.prevIdent = false
			}
		case lexEscape:
			if c == '\\' && next != 0 {
				s.buf.WriteByte(c)
				s.buf.WriteByte(next)
				i++
				continue
			}
			if c == '\'' {
				s.state = lexNormal
				s.prevIdent = false
			}
		case lexDollar:
			if c == '$' && strings.HasPrefix(rs[i:], s.tag) {
				s.buf.WriteString(s.tag)
				i += len(s.tag) - 1
				s.state, s.tag = lexNormal, ""
				continue
			}
		case lexBlock:
			switch {
			case c == '*' && next == '/':
				s.buf.WriteString("*/")
				i++
				if s.depth--; s.depth == 0 {
					s.state = lexNormal
				}
				continue
			case c == '/' && next == '*':
				s.buf.WriteString("/*")
				i++
				s.depth++
				continue
			}
		}
		s.buf.WriteByte(c)
	}
	if s.state == lexLine {
		s.state = lexNormal
	}
	s.prevIdent = false
	s.buf.WriteByte('\n')
	return out
}

// Flush returns the statement pending at the end of input (one not
// terminated by a semicolon), if there is one.
func (s *splitter) Flush() (item, bool) {
	st := s.cut()
	return st, st.Text != ""
}

// cut ends the pending statement.
func (s *splitter) cut() item {
	st := item{Text: strings.TrimSpace(s.buf.String()), Line: s.start}
	if s.start == 0 {
		st.Text = "" // only whitespace and comments
	}
	s.buf.Reset()
	s.start = 0
	s.state = lexNormal
	return st
}

// dollarTag recognises a dollar-quote opener ($$ or $tag$) at the start of rs.
func dollarTag(rs string) (string, bool) {
	for j := 1; j < len(rs); j++ {
		c := rs[j]
		if c == '$' {
			return rs[:j+1], true
		}
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9') {
			return "", false
		}
	}
	return "", false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' }

// isIdent reports whether c can be part of an identifier; bytes of
// multi-byte UTF-8 characters (Chinese names) can.
func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c > 127
}
