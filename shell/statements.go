package shell

import "strings"

// SplitStatements cuts SQL text into its statements, without their final
// semicolons, as the shell does: semicolons inside quotes, dollar quotes
// and comments do not end a statement. (ckm serve runs a simple query of
// several statements one by one.)
func SplitStatements(text string) []string {
	var sp splitter
	var out []string
	line := 0
	for i := 0; i <= len(text); i++ {
		if i == len(text) || text[i] == '\n' {
			for _, it := range sp.Feed(text[line:i]) {
				out = append(out, it.Text)
			}
			line = i + 1
		}
	}
	if it, ok := sp.Flush(); ok {
		out = append(out, it.Text)
	}
	return out
}

// Statement is one unit of input a Splitter completed: a SQL statement
// without its final semicolon, or a meta-command line (Meta, starting
// with a dot), and the input line where it starts (1-based).
type Statement struct {
	Text string
	Line int
	Meta bool
}

// Splitter cuts input, fed one line at a time, into statements as the
// shell does while a user types: a statement runs when a line ends it
// with a semicolon outside quotes, dollar quotes and comments; several may
// share a line, one may span lines; a line starting with a dot while no
// statement is pending is a meta-command. (A REPL on another connection,
// such as ckm sql through ckm serve, uses it to run what the embedded
// shell would run, when it would run it.)
type Splitter struct{ sp splitter }

// Feed adds one line of input (without its newline) and returns the
// statements it completes.
func (s *Splitter) Feed(line string) []Statement {
	items := s.sp.Feed(line)
	out := make([]Statement, len(items))
	for i, it := range items {
		out[i] = Statement{Text: it.Text, Line: it.Line, Meta: it.Meta}
	}
	return out
}

// Flush returns the statement left open at the end of the input, if any.
func (s *Splitter) Flush() (Statement, bool) {
	it, ok := s.sp.Flush()
	return Statement{Text: it.Text, Line: it.Line}, ok
}

// Pending reports whether a statement has begun and not ended (a REPL
// shows its continuation prompt).
func (s *Splitter) Pending() bool { return s.sp.Pending() }

// Len is the size in bytes of the statement pending.
func (s *Splitter) Len() int { return s.sp.Len() }

// Line is how many lines were fed.
func (s *Splitter) Line() int { return s.sp.line }

// Reset drops the statement pending (Ctrl-C at the prompt); the line
// count goes on.
func (s *Splitter) Reset() { s.sp = splitter{line: s.sp.line} }

// CodeOnly returns text with the contents of string literals (plain,
// E'...' and dollar-quoted) and comments blanked out by spaces, byte for
// byte, so a search for a name in it finds only SQL code (quoted
// identifiers are code and are kept).
func CodeOnly(text string) string {
	b := []byte(text)
	state, depth, tag := lexNormal, 0, ""
	prevIdent := false
	blank := func(i int) {
		if b[i] != '\n' {
			b[i] = ' '
		}
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		next := byte(0)
		if i+1 < len(b) {
			next = text[i+1]
		}
		switch state {
		case lexNormal:
			switch {
			case c == '-' && next == '-':
				state = lexLine
				blank(i)
			case c == '/' && next == '*':
				state, depth = lexBlock, 1
				blank(i)
				blank(i + 1)
				i++
			case c == '\'':
				state = lexSingle
				if prevIdent && i > 0 && (text[i-1] == 'E' || text[i-1] == 'e') && (i < 2 || !isIdent(text[i-2])) {
					state = lexEscape
				}
			case c == '"':
				state = lexDouble
			case c == '$' && !prevIdent:
				if t, ok := dollarTag(text[i:]); ok {
					state, tag = lexDollar, t
					i += len(t) - 1
				}
			}
			prevIdent = isIdent(c)
		case lexSingle:
			if c == '\'' {
				state, prevIdent = lexNormal, false
				continue
			}
			blank(i)
		case lexEscape:
			if c == '\\' && next != 0 {
				blank(i)
				blank(i + 1)
				i++
				continue
			}
			if c == '\'' {
				state, prevIdent = lexNormal, false
				continue
			}
			blank(i)
		case lexDouble:
			if c == '"' {
				state, prevIdent = lexNormal, false
			}
		case lexDollar:
			if c == '$' && strings.HasPrefix(text[i:], tag) {
				i += len(tag) - 1
				state, tag, prevIdent = lexNormal, "", false
				continue
			}
			blank(i)
		case lexLine:
			if c == '\n' {
				state = lexNormal
				continue
			}
			blank(i)
		case lexBlock:
			switch {
			case c == '*' && next == '/':
				blank(i)
				blank(i + 1)
				i++
				if depth--; depth == 0 {
					state = lexNormal
				}
			case c == '/' && next == '*':
				blank(i)
				blank(i + 1)
				i++
				depth++
			default:
				blank(i)
			}
		}
	}
	return string(b)
}
