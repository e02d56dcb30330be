package shell

import (
	"reflect"
	"strings"
	"testing"
)

// splitAll feeds input line by line and returns every item, the one
// pending at the end included.
func splitAll(input string) []item {
	var sp splitter
	var items []item
	for _, line := range strings.Split(input, "\n") {
		items = append(items, sp.Feed(line)...)
	}
	if it, ok := sp.Flush(); ok {
		items = append(items, it)
	}
	return items
}

func TestSplitter(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  []item
	}{
		{"one", "SELECT 1;", []item{{Text: "SELECT 1", Line: 1}}},
		{"two on a line", "SELECT 1; SELECT 2;", []item{{Text: "SELECT 1", Line: 1}, {Text: "SELECT 2", Line: 1}}},
		{"across lines", "\nSELECT\n  1\n;", []item{{Text: "SELECT\n  1", Line: 2}}},
		{"no final semicolon", "SELECT 1", []item{{Text: "SELECT 1", Line: 1}}},
		{"empty statements", ";; ;\n;", nil},
		{"semicolon in string", "SELECT 'a;b', 'it''s;';", []item{{Text: "SELECT 'a;b', 'it''s;'", Line: 1}}},
		{"semicolon in identifier", `SELECT 1 AS "x;y";`, []item{{Text: `SELECT 1 AS "x;y"`, Line: 1}}},
		{"semicolon in line comment", "SELECT 1 -- a; b\n, 2;", []item{{Text: "SELECT 1 -- a; b\n, 2", Line: 1}}},
		{"semicolon in block comment", "SELECT /* a; /* nested; */ b; */ 1;", []item{{Text: "SELECT /* a; /* nested; */ b; */ 1", Line: 1}}},
		{"comment before statement", "-- intro;\n/* more\n; */\nSELECT 1;", []item{{Text: "-- intro;\n/* more\n; */\nSELECT 1", Line: 4}}},
		{"only comments", "-- nothing here;\n/* nor; here */", nil},
		{"dollar quote", "SELECT $$a;\nb$$, $fn$ x; $$ $fn$;", []item{{Text: "SELECT $$a;\nb$$, $fn$ x; $$ $fn$", Line: 1}}},
		{"parameter is not a dollar quote", "SELECT $1; SELECT 2;", []item{{Text: "SELECT $1", Line: 1}, {Text: "SELECT 2", Line: 1}}},
		{"escape string", `SELECT E'a\';b'; SELECT 'c\';`, []item{{Text: `SELECT E'a\';b'`, Line: 1}, {Text: `SELECT 'c\'`, Line: 1}}},
		{"identifier ending in e is not E''", `SELECT some'x\'; SELECT 2;`, []item{{Text: `SELECT some'x\'`, Line: 1}, {Text: "SELECT 2", Line: 1}}},
		{"meta command", ".mode csv\nSELECT 1;\n  .tables", []item{{Text: ".mode csv", Line: 1, Meta: true}, {Text: "SELECT 1", Line: 2}, {Text: ".tables", Line: 3, Meta: true}}},
		{"dot inside a statement", "SELECT\n.5 AS x;", []item{{Text: "SELECT\n.5 AS x", Line: 1}}},
		{"dot after a comment line", "-- note\n.tables", []item{{Text: ".tables", Line: 2, Meta: true}}},
		{"unterminated string", "SELECT 'abc;\n.mode csv", []item{{Text: "SELECT 'abc;\n.mode csv", Line: 1}}},
		{"chinese", "SELECT '张三；' AS 名字;", []item{{Text: "SELECT '张三；' AS 名字", Line: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := splitAll(c.input); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestSplitterPending(t *testing.T) {
	var sp splitter
	steps := []struct {
		line    string
		pending bool
	}{
		{"SELECT", true}, {"1;", false}, {"-- comment", false}, {"/* open", true}, {"close */", false},
		{"SELECT 'a", true}, {"b';", false}, {"SELECT 1; SELECT", true}, {"2;", false},
	}
	for i, s := range steps {
		sp.Feed(s.line)
		if sp.Pending() != s.pending {
			t.Errorf("after line %d %q: Pending() = %v, want %v", i+1, s.line, sp.Pending(), s.pending)
		}
	}
}

// FuzzSplitter checks that splitting never panics, that every statement
// is a piece of the input with the line it starts on, and that splitting
// loses no semicolon-free text outside of quotes and comments.
func FuzzSplitter(f *testing.F) {
	for _, s := range []string{"SELECT 1;", "SELECT 'a;b'; .mode csv\n", "/* x; */ $$ ; $$;", "E'\\';'", "-- ;\n.tables", "$a$;$a$;$b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		lines := strings.Split(input, "\n")
		for _, it := range splitAll(input) {
			if it.Text == "" || it.Text != strings.TrimSpace(it.Text) {
				t.Fatalf("item %q is empty or untrimmed", it.Text)
			}
			if it.Line < 1 || it.Line > len(lines) {
				t.Fatalf("item %q at line %d of %d", it.Text, it.Line, len(lines))
			}
			first := strings.SplitN(it.Text, "\n", 2)[0]
			if it.Meta && strings.TrimSpace(lines[it.Line-1]) != it.Text {
				t.Fatalf("meta item %q is not line %d %q", it.Text, it.Line, lines[it.Line-1])
			}
			if !strings.Contains(input, first) {
				t.Fatalf("item %q is not from the input", it.Text)
			}
		}
		// Plain words separated by semicolons come out as themselves.
		if !strings.ContainsAny(input, `'"$-/*.E\e`+"\n\r") {
			var want []string
			for _, p := range strings.Split(input, ";") {
				if p = strings.TrimSpace(p); p != "" {
					want = append(want, p)
				}
			}
			var got []string
			for _, it := range splitAll(input) {
				got = append(got, it.Text)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("split %q = %q, want %q", input, got, want)
			}
		}
	})
}
