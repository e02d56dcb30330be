package tree

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// String prints the tree as J48 does: one line per branch, "|   " per
// level, and at a leaf "class (weight/errors)" with the errors left out
// when there are none.
func (t *Tree) String() string {
	var sb strings.Builder
	if t.Root.Leaf() {
		fmt.Fprintf(&sb, ": %s\n", t.leafLabel(t.Root))
		return sb.String()
	}
	t.print(&sb, t.Root, 0)
	return sb.String()
}

func (t *Tree) print(sb *strings.Builder, n *Node, depth int) {
	for j, ch := range n.Children {
		sb.WriteString(strings.Repeat("|   ", depth))
		sb.WriteString(t.condition(n, j))
		if ch.Leaf() {
			sb.WriteString(": " + t.leafLabel(ch))
			sb.WriteByte('\n')
			continue
		}
		sb.WriteByte('\n')
		t.print(sb, ch, depth+1)
	}
}

// condition is the test of branch j of n, e.g. "tenure <= 5" or
// "Contract = Two year".
func (t *Tree) condition(n *Node, j int) string {
	at := t.Attrs[n.Attr]
	if !at.Numeric {
		return at.Name + " = " + at.Values[j]
	}
	op := " <= "
	if j == 1 {
		op = " > "
	}
	return at.Name + op + wekaDecimal(n.Threshold, 6)
}

func (t *Tree) leafLabel(n *Node) string {
	s := t.Classes[n.Class] + " (" + javaDouble(round2(n.Weight))
	if gr(n.Errors, 0) {
		s += "/" + javaDouble(round2(n.Errors))
	}
	return s + ")"
}

// wekaDecimal is Utils.doubleToString(v, digits): at most digits decimals,
// trailing zeros dropped.
func wekaDecimal(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// javaDouble prints like Java's Double.toString for the small rounded
// values of a leaf label: "20.0", "3.2", "13.48".
func javaDouble(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// Rule is one leaf as an IF-THEN rule.
type Rule struct {
	Conditions []string  `json:"if"`
	Class      string    `json:"then"`
	Probs      []float64 `json:"probs"`
	Weight     float64   `json:"weight"` // training weight at the leaf
	Errors     float64   `json:"errors"`
}

// String is "IF a AND b THEN class = c (weight/errors)".
func (r Rule) String(className string) string {
	cond := "TRUE"
	if len(r.Conditions) > 0 {
		cond = strings.Join(r.Conditions, " AND ")
	}
	return fmt.Sprintf("IF %s THEN %s = %s (%s/%s)", cond, className, r.Class, javaDouble(round2(r.Weight)), javaDouble(round2(r.Errors)))
}

// Rules lists one rule per leaf in depth-first order. Leaves no training
// row reached are left out (they only repeat their parent's majority).
func (t *Tree) Rules() []Rule {
	var out []Rule
	var walk func(n *Node, conds []string)
	walk = func(n *Node, conds []string) {
		if n.Leaf() {
			if n.Weight > 0 {
				out = append(out, Rule{Conditions: append([]string(nil), conds...), Class: t.Classes[n.Class], Probs: n.Probs, Weight: n.Weight, Errors: n.Errors})
			}
			return
		}
		for j, ch := range n.Children {
			walk(ch, append(conds, t.condition(n, j)))
		}
	}
	walk(t.Root, nil)
	return out
}
