package shell

import (
	"strconv"
	"strings"
	"testing"
)

// TestSplitterStreams: fed a line at a time, the exported Splitter
// returns what each line ends, with its starting line, and says when a
// statement stays open (by hand).
func TestSplitterStreams(t *testing.T) {
	type fed struct {
		line    string
		done    string // statements the line ends, | apart (meta ones with a leading *)
		pending bool
	}
	for _, c := range [][]fed{
		{{"SELECT 1;", "SELECT 1@1", false}},
		{{"SELECT 1", "", true}, {"+ 1;", "SELECT 1\n+ 1@1", false}},
		{{"SELECT 1; SELECT 2", "SELECT 1@1", true}, {";", "SELECT 2@1", false}},
		{{"SELECT 1; SELECT 2;", "SELECT 1@1|SELECT 2@1", false}},
		{{"SELECT 'a;", "", true}, {"b';", "SELECT 'a;\nb'@1", false}},
		{{"SELECT 1 -- x;", "", true}, {";", "SELECT 1 -- x;@1", false}},
		{{"SELECT 1; -- done", "SELECT 1@1", false}},
		{{"/* open; ", "", true}, {"*/ SELECT 3;", "/* open; \n*/ SELECT 3@2", false}},
		{{"SELECT $$;$$;", "SELECT $$;$$@1", false}},
		{{".quit", "*.quit@1", false}},
		{{"-- only a comment", "", false}, {".tables", "*.tables@2", false}},
		{{"SELECT 1", "", true}, {".mode csv;", "SELECT 1\n.mode csv@1", false}},
	} {
		var sp Splitter
		for _, f := range c {
			var got []string
			for _, st := range sp.Feed(f.line) {
				m := ""
				if st.Meta {
					m = "*"
				}
				got = append(got, m+st.Text+"@"+strconv.Itoa(st.Line))
			}
			if strings.Join(got, "|") != f.done || sp.Pending() != f.pending {
				t.Errorf("%v then %q: %q pending %v; want %q pending %v", c, f.line, strings.Join(got, "|"), sp.Pending(), f.done, f.pending)
			}
		}
	}
	var sp Splitter
	sp.Feed("SELECT 1")
	if st, ok := sp.Flush(); !ok || st.Text != "SELECT 1" || st.Line != 1 {
		t.Errorf("Flush: %+v %v", st, ok)
	}
	sp.Feed("SELECT 2")
	sp.Reset()
	if sp.Pending() || sp.Line() != 2 {
		t.Errorf("after Reset: pending %v, line %d", sp.Pending(), sp.Line())
	}
	if got := sp.Feed("SELECT 3;"); len(got) != 1 || got[0].Line != 3 {
		t.Errorf("after Reset: %+v", got)
	}
}

// TestCodeOnly: literals and comments are blanked byte for byte, code and
// quoted identifiers kept.
func TestCodeOnly(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 'x(y)' , f(1)", "SELECT '    ' , f(1)"},
		{"SELECT E'a\\'b', g()", "SELECT E'    ', g()"},
		{"SELECT $t$ q( $t$, h()", "SELECT $t$    $t$, h()"},
		{"SELECT 1 -- c(\n, k()", "SELECT 1 " + strings.Repeat(" ", 5) + "\n, k()"},
		{"SELECT /* a /* b */ c */ m()", "SELECT " + strings.Repeat(" ", len("/* a /* b */ c */")) + " m()"},
		{`SELECT "n(x)" FROM t`, `SELECT "n(x)" FROM t`},
	} {
		got := CodeOnly(c.in)
		if got != c.want || len(got) != len(c.in) {
			t.Errorf("CodeOnly(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
