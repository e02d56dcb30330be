package olap

import (
	"strings"
	"testing"
)

// FuzzParseCube checks that no cube file, however broken, panics the parser
// and that every error it reports names the file.
func FuzzParseCube(f *testing.F) {
	f.Add(goodCube)
	f.Add("name: x\nfact: f\nmeasures: [{name: m, derived: a / (b - )}]\n")
	f.Add("- 1\n- 2\n")
	f.Fuzz(func(t *testing.T, text string) {
		_, err := Parse("fuzz.yaml", []byte(text))
		if err != nil && !strings.Contains(err.Error(), "fuzz.yaml:") {
			t.Fatalf("error without position: %v", err)
		}
	})
}

// FuzzParseFilter checks that CLI filters parse or fail cleanly and that
// whatever parses compiles with the value only among the bound args.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"region.province=Guangdong", "date.year between 2023,2024", "region.city in a,b", "x is null", "date.year>=2024"} {
		f.Add(s)
	}
	m, err := Builtin()
	if err != nil {
		f.Fatal(err)
	}
	sales, _ := m.Cube("sales")
	safe, _, _ := Compile(sales, Query{Measures: []string{"revenue"}, Where: []Filter{{Level: "region.province", Op: "eq", Values: []any{"x"}}}})
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		text, _, err := Compile(sales, Query{Measures: []string{"revenue"}, Where: []Filter{flt}})
		if err != nil {
			return
		}
		if flt.Level == "region.province" && flt.Op == "eq" && text != safe {
			t.Fatalf("value %v changed the SQL", flt.Values)
		}
	})
}

// FuzzExpr checks the expression tokenizer never panics and renders only
// what it accepted.
func FuzzExpr(f *testing.F) {
	f.Add("a / (b - c) * 2")
	f.Add("a);DROP")
	f.Fuzz(func(t *testing.T, s string) {
		toks, err := tokenizeExpr(s)
		if err != nil {
			return
		}
		out, err := renderExpr(toks, func(n string) (string, error) { return quoteIdent(n), nil })
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(out, ";'") {
			t.Fatalf("rendered %q from %q", out, s)
		}
	})
}
