package rough

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dtEx1 reads RoughSets' dt.ex1.
func dtEx1(t *testing.T) *Table {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "dt_ex1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	attrs := rows[0][1:5]
	cols := make([][]string, 4)
	var dec []string
	for _, r := range rows[1:] {
		for j := range cols {
			cols[j] = append(cols[j], r[j+1])
		}
		dec = append(dec, r[5])
	}
	tab, err := NewTable(attrs, cols, dec)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// objects writes 0-based object numbers as the published 1-based ones.
func objects(os []int) string {
	parts := make([]string, len(os))
	for i, o := range os {
		parts[i] = fmt.Sprint(o + 1)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestDtEx1Published: the classes, approximations, positive region and γ
// published for dt.ex1 with {bb, cc}.
func TestDtEx1Published(t *testing.T) {
	tab := dtEx1(t)
	bc := []string{"bb", "cc"}
	classes, err := tab.Classes(bc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range classes {
		got = append(got, objects(c))
	}
	if strings.Join(got, " ") != "{1,5} {2,7,8} {3} {4} {6}" {
		t.Errorf("classes %v", got)
	}
	a, err := tab.Approximate(bc, "1")
	if err != nil {
		t.Fatal(err)
	}
	if objects(a.Lower) != "{3,6}" || objects(a.Upper) != "{1,2,3,5,6,7,8}" || objects(a.Boundary) != "{1,2,5,7,8}" {
		t.Errorf("ee = 1: lower %s upper %s boundary %s", objects(a.Lower), objects(a.Upper), objects(a.Boundary))
	}
	if a.Accuracy != 2.0/7 {
		t.Errorf("accuracy of approximation %v, want 2/7", a.Accuracy)
	}
	pos, err := tab.Positive(bc)
	if err != nil {
		t.Fatal(err)
	}
	if objects(pos) != "{3,4,6}" {
		t.Errorf("positive region %s", objects(pos))
	}
	if g, _ := tab.Dependency(bc); g != 0.375 {
		t.Errorf("γ = %v, published 0.375", g)
	}
}

// TestDtEx1CoreAndReducts, by hand: all four attributes tell every object
// apart (γ = 1). Without dd, objects 1 and 5 (1,0,2 → 0 and 1) and 2 and 8
// (0,1,1 → 2 and 1) clash, γ = 0.5, so dd is the core; without aa, bb or cc
// γ stays 1. {dd} alone decides only {5,8} (γ = 0.25); {aa,dd} confuses 1
// with 4 and 7 with 3 and 6, deciding {2,5,8} (γ = 0.375); {bb,dd} and
// {cc,dd} decide all eight — the two reducts.
func TestDtEx1CoreAndReducts(t *testing.T) {
	tab := dtEx1(t)
	if g, _ := tab.Dependency(tab.Attributes()); g != 1 {
		t.Errorf("γ(all) = %v, want 1", g)
	}
	for _, c := range []struct {
		attrs []string
		gamma float64
	}{{[]string{"aa", "bb", "cc"}, 0.5}, {[]string{"dd"}, 0.25}, {[]string{"aa", "dd"}, 0.375}, {[]string{"bb", "dd"}, 1}, {[]string{"cc", "dd"}, 1}} {
		if g, _ := tab.Dependency(c.attrs); g != c.gamma {
			t.Errorf("γ(%v) = %v, hand %v", c.attrs, g, c.gamma)
		}
	}
	if core := tab.Core(); fmt.Sprint(core) != "[dd]" {
		t.Errorf("core %v, want [dd]", core)
	}
	all, err := tab.AllReducts()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(all) != "[[bb dd] [cc dd]]" {
		t.Errorf("reducts %v, want [[bb dd] [cc dd]]", all)
	}
	if r := tab.Reduct(); fmt.Sprint(r) != "[bb dd]" && fmt.Sprint(r) != "[cc dd]" {
		t.Errorf("reduct %v, want one of the two", r)
	}
}

// TestDtEx1Rules: on {bb, cc}, the three singleton classes give certain
// rules; {1,5} and {2,7,8} give possible ones.
func TestDtEx1Rules(t *testing.T) {
	tab := dtEx1(t)
	rules, err := tab.Rules([]string{"bb", "cc"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.String())
	}
	want := []string{
		`IF bb = "0" AND cc = "2" THEN possibly "0" (support 1, confidence 1/2)`,
		`IF bb = "0" AND cc = "2" THEN possibly "1" (support 1, confidence 1/2)`,
		`IF bb = "1" AND cc = "1" THEN possibly "2" (support 2, confidence 2/3)`,
		`IF bb = "1" AND cc = "1" THEN possibly "1" (support 1, confidence 1/3)`,
		`IF bb = "0" AND cc = "0" THEN certainly "1" (support 1, confidence 1/1)`,
		`IF bb = "1" AND cc = "0" THEN certainly "2" (support 1, confidence 1/1)`,
		`IF bb = "2" AND cc = "0" THEN certainly "1" (support 1, confidence 1/1)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// On a reduct every rule is certain and the supports add up to all objects.
	rules, _ = tab.Rules([]string{"bb", "dd"})
	n := 0
	for _, r := range rules {
		if !r.Certain || r.Confidence != 1 {
			t.Errorf("rule on a reduct not certain: %s", r)
		}
		n += r.Support
	}
	if n != 8 {
		t.Errorf("supports add to %d, want 8", n)
	}
}

// TestReductDefinitions checks, on random small tables (some inconsistent),
// the definitions independently of how the package finds them: every
// reduct keeps the full positive region and loses it without any one of its
// attributes, no other subset is a reduct (brute force over all subsets),
// the core is the intersection of all reducts, and Reduct returns one of them.
func TestReductDefinitions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		k, n := 1+rng.IntN(5), 1+rng.IntN(12)
		attrs := make([]string, k)
		cols := make([][]string, k)
		for j := range attrs {
			attrs[j] = fmt.Sprintf("a%d", j)
			for o := 0; o < n; o++ {
				cols[j] = append(cols[j], fmt.Sprint(rng.IntN(3)))
			}
		}
		dec := make([]string, n)
		for o := range dec {
			dec[o] = fmt.Sprint(rng.IntN(2))
		}
		tab, err := NewTable(attrs, cols, dec)
		if err != nil {
			t.Fatal(err)
		}
		fullPos, _ := tab.Positive(attrs)
		isReduct := func(sub []string) bool {
			p, _ := tab.Positive(sub)
			if len(p) != len(fullPos) {
				return false
			}
			for i := range sub {
				q, _ := tab.Positive(slices.Delete(slices.Clone(sub), i, i+1))
				if len(q) == len(fullPos) {
					return false
				}
			}
			return true
		}
		var brute [][]string
		for mask := 0; mask < 1<<k; mask++ {
			var sub []string
			for j := 0; j < k; j++ {
				if mask&(1<<j) != 0 {
					sub = append(sub, attrs[j])
				}
			}
			if isReduct(sub) {
				brute = append(brute, sub)
			}
		}
		all, err := tab.AllReducts()
		if err != nil {
			t.Fatal(err)
		}
		key := func(rs [][]string) []string {
			var out []string
			for _, r := range rs {
				out = append(out, strings.Join(r, "+"))
			}
			slices.Sort(out)
			return out
		}
		if !slices.Equal(key(all), key(brute)) {
			t.Fatalf("table %v / %v: reducts %v, brute force %v", cols, dec, all, brute)
		}
		inAll := map[string]int{}
		for _, r := range brute {
			for _, a := range r {
				inAll[a]++
			}
		}
		var inter []string
		for _, a := range attrs {
			if inAll[a] == len(brute) {
				inter = append(inter, a)
			}
		}
		if fmt.Sprint(tab.Core()) != fmt.Sprint(inter) {
			t.Fatalf("table %v / %v: core %v, intersection of reducts %v", cols, dec, tab.Core(), inter)
		}
		if r := tab.Reduct(); !slices.Contains(key(brute), strings.Join(r, "+")) {
			t.Fatalf("table %v / %v: Reduct %v not among %v", cols, dec, r, brute)
		}
	}
}

// TestDegenerate: bad tables and requests are errors; one decision class and
// the empty attribute set have documented answers.
func TestDegenerate(t *testing.T) {
	tab := dtEx1(t)
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"no objects", second(NewTable(nil, nil, nil)), "no objects"},
		{"names vs columns", second(NewTable([]string{"a"}, nil, []string{"x"})), "1 attribute names for 0 columns"},
		{"short column", second(NewTable([]string{"a"}, [][]string{{"1"}}, []string{"x", "y"})), `"a" has 1 values for 2`},
		{"duplicate attribute", second(NewTable([]string{"a", "a"}, [][]string{{"1"}, {"1"}}, []string{"x"})), "twice"},
		{"unnamed attribute", second(NewTable([]string{""}, [][]string{{"1"}}, []string{"x"})), "no name"},
		{"unknown attribute", second(tab.Classes([]string{"zz"})), `no condition attribute "zz"`},
		{"unknown decision", second(tab.Approximate([]string{"bb"}, "9")), `no object has decision "9"`},
	} {
		if !errors.Is(c.err, ErrInput) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrInput naming %q", c.name, c.err, c.want)
		}
	}
	// No attributes: one class of all objects, inconsistent here, γ = 0.
	if cl, _ := tab.Classes(nil); len(cl) != 1 || len(cl[0]) != 8 {
		t.Errorf("classes of no attributes %v", cl)
	}
	if g, _ := tab.Dependency(nil); g != 0 {
		t.Errorf("γ(∅) = %v", g)
	}
	// One decision class: everything is decided by nothing.
	one, err := NewTable([]string{"a", "b"}, [][]string{{"1", "2"}, {"x", "x"}}, []string{"y", "y"})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := one.Dependency(nil); g != 1 || len(one.Core()) != 0 || len(one.Reduct()) != 0 {
		t.Errorf("one class: γ(∅) %v core %v reduct %v", g, one.Core(), one.Reduct())
	}
	if all, _ := one.AllReducts(); len(all) != 1 || len(all[0]) != 0 {
		t.Errorf("one class: reducts %v, want the empty one", all)
	}
	// Too many attributes for enumeration.
	wide := make([]string, MaxAllReductsAttributes+1)
	cols := make([][]string, len(wide))
	for j := range wide {
		wide[j], cols[j] = fmt.Sprint("a", j), []string{"1"}
	}
	w, _ := NewTable(wide, cols, []string{"x"})
	if _, err := w.AllReducts(); !errors.Is(err, ErrInput) {
		t.Errorf("wide table: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
