package tree

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// CaseSQL returns a DuckDB expression giving the class Predict gives (as
// VARCHAR) for a row whose attributes are in the named columns, one per
// tree attribute in order. Numeric columns are read as DOUBLE, nominal ones
// as VARCHAR compared verbatim; NULL, NaN, and a nominal value the tree
// never saw are missing.
//
// A row whose tested attributes are all known takes a nested CASE down the
// tree to its leaf's class. Any other row is scored as Probabilities does:
// each node's class probability is the sum over its children, in order, of
// the child's factor (1 on the row's branch, the branch's share where the
// value is missing) times the child's probability, and 0 for a branch the
// row does not reach — whose subtree DuckDB then does not evaluate for it;
// then the first class beating the best so far by more than 1e-6.
// Constants are written as shortest round-trip decimals read back as
// DOUBLE, and a threshold test as one comparison with the last double
// going left (leftMost), so the result equals Predict on every row.
func (t *Tree) CaseSQL(columns []string) (string, error) {
	s, err := t.newSQL(columns)
	if err != nil {
		return "", err
	}
	fast, slow := s.classParts()
	return s.guard(fast, slow), nil
}

// CaseQuery returns a query scoring every row of relation (a table name,
// or a query in parentheses) as CaseSQL does, giving the keep columns and
// the class as column as: the rows with every tested attribute known take
// the nested CASE, and the others — whose fractional sums DuckDB evaluates
// per vector, at a cost that grows with the vectors they are spread over —
// are first gathered into vectors of their own (a materialized CTE), then
// scored; UNION ALL joins the two. Each row gets exactly CaseSQL's class;
// rows come in no particular order.
func (t *Tree) CaseQuery(columns []string, relation string, keep []string, as string) (string, error) {
	s, err := t.newSQL(columns)
	if err != nil {
		return "", err
	}
	fast, slow := s.classParts()
	sel := make([]string, 0, len(keep)+1)
	for _, k := range keep {
		sel = append(sel, quoteIdent(k))
	}
	cols := strings.Join(append(sel, "%s AS "+quoteIdent(as)), ", ")
	guard := s.allKnown()
	if guard == "" {
		return "SELECT " + fmt.Sprintf(cols, fast) + " FROM " + relation + " AS ckm_rows", nil
	}
	return "WITH ckm_missing AS MATERIALIZED (SELECT * FROM " + relation + " AS ckm_rows WHERE NOT " + guard + ")\n" +
		"SELECT " + fmt.Sprintf(cols, fast) + " FROM " + relation + " AS ckm_rows WHERE " + guard + "\n" +
		"UNION ALL SELECT " + fmt.Sprintf(cols, slow) + " FROM ckm_missing", nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// classParts are CaseSQL's two paths: the nested CASE for rows with every
// tested value known, and the fractional choice for the others.
func (s *sqlTree) classParts() (fast, slow string) {
	t := s.t
	fast = s.fast(t.Root, func(n *Node) string { return quoteString(t.Classes[n.Class]) })
	probs := make([]string, len(t.Classes))
	names := make([]string, len(t.Classes))
	for c := range t.Classes {
		probs[c] = s.probability(t.Root, c)
		names[c] = quoteString(t.Classes[c])
	}
	if len(t.Classes) == 2 {
		// The same first-beats-by-more-than-small choice without a list and
		// lambda, which DuckDB evaluates for every row of a vector, not
		// only the rows the guard sends to this branch (measured: 3×
		// slower overall on a 921-node tree with 5 % missing values).
		slow = fmt.Sprintf("CASE WHEN %s - %s > %s THEN %s ELSE %s END", probs[1], probs[0], doubleLit(small), names[1], names[0])
	} else {
		slow = fmt.Sprintf("[%s][list_reduce(list_zip([%s], range(1, %d)), lambda a, b: CASE WHEN b[1] - a[1] > %s THEN b ELSE a END)[2]]",
			strings.Join(names, ", "), strings.Join(probs, ", "), len(t.Classes)+1, doubleLit(small))
	}
	return fast, slow
}

// ProbabilitySQL returns a DuckDB expression for the probability of one
// class, equal to Probabilities on every row (see CaseSQL).
func (t *Tree) ProbabilitySQL(columns []string, class string) (string, error) {
	c := -1
	for i, name := range t.Classes {
		if name == class {
			c = i
		}
	}
	if c < 0 {
		return "", fmt.Errorf("tree: no class %q in %v", class, t.Classes)
	}
	s, err := t.newSQL(columns)
	if err != nil {
		return "", err
	}
	fast := s.fast(t.Root, func(n *Node) string { return doubleLit(n.Probs[c]) })
	return s.guard(fast, s.probability(t.Root, c)), nil
}

type sqlTree struct {
	t     *Tree
	value []string // per attribute, the column read as DOUBLE or VARCHAR
	known []string // per attribute, TRUE when the value is usable, else FALSE or NULL
	used  []bool
}

func (t *Tree) newSQL(columns []string) (*sqlTree, error) {
	if len(columns) != len(t.Attrs) {
		return nil, fmt.Errorf("tree: %d columns for %d attributes", len(columns), len(t.Attrs))
	}
	s := &sqlTree{t: t, value: make([]string, len(columns)), known: make([]string, len(columns)), used: make([]bool, len(columns))}
	for a, col := range columns {
		if col == "" {
			return nil, fmt.Errorf("tree: attribute %q has an empty column name", t.Attrs[a].Name)
		}
		q := `"` + strings.ReplaceAll(col, `"`, `""`) + `"`
		if t.Attrs[a].Numeric {
			s.value[a] = "CAST(" + q + " AS DOUBLE)"
			s.known[a] = "NOT isnan(" + s.value[a] + ")"
			continue
		}
		s.value[a] = "CAST(" + q + " AS VARCHAR)"
		s.known[a] = s.value[a] + " IN (" + s.valueList(a) + ")"
	}
	if err := s.markUsed(t.Root); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *sqlTree) valueList(a int) string {
	vals := make([]string, len(s.t.Attrs[a].Values))
	for i, v := range s.t.Attrs[a].Values {
		vals[i] = quoteString(v)
	}
	return strings.Join(vals, ", ")
}

func (s *sqlTree) markUsed(n *Node) error {
	if n.Leaf() {
		if len(n.Probs) != len(s.t.Classes) {
			return fmt.Errorf("tree: a leaf has %d probabilities for %d classes", len(n.Probs), len(s.t.Classes))
		}
		return nil
	}
	if n.Attr >= len(s.t.Attrs) || len(n.Missing) != len(n.Children) {
		return fmt.Errorf("tree: damaged node on attribute %d", n.Attr)
	}
	if s.t.Attrs[n.Attr].Numeric && (math.IsNaN(n.Threshold) || math.IsInf(n.Threshold, 0)) {
		return fmt.Errorf("tree: threshold %v on attribute %q", n.Threshold, s.t.Attrs[n.Attr].Name)
	}
	s.used[n.Attr] = true
	for _, ch := range n.Children {
		if err := s.markUsed(ch); err != nil {
			return err
		}
	}
	return nil
}

// guard picks the fast path when every tested attribute is known.
func (s *sqlTree) guard(fast, slow string) string {
	g := s.allKnown()
	if g == "" {
		return fast
	}
	return "CASE WHEN " + g + " THEN " + fast + " ELSE " + slow + " END"
}

// known_ is TRUE when every tested attribute is known, else FALSE ("" when
// the tree tests none).
func (s *sqlTree) allKnown() string {
	var conds []string
	for a, u := range s.used {
		if u {
			conds = append(conds, s.known[a])
		}
	}
	if len(conds) == 0 {
		return ""
	}
	return "coalesce(" + strings.Join(conds, " AND ") + ", false)"
}

// leftMost is the largest double v with v − threshold <= small in float64
// arithmetic: as subtracting a constant rounds monotonically, a known v
// takes the left branch (Go's v-n.Threshold <= small) exactly when
// v <= leftMost, one comparison with a constant.
func leftMost(threshold float64) float64 {
	t := threshold + small
	for t-threshold > small {
		t = math.Nextafter(t, math.Inf(-1))
	}
	for u := math.Nextafter(t, math.Inf(1)); u-threshold <= small; u = math.Nextafter(t, math.Inf(1)) {
		t = u
	}
	return t
}

// fast is the nested CASE for rows with every tested value known.
func (s *sqlTree) fast(n *Node, leaf func(*Node) string) string {
	if n.Leaf() {
		return leaf(n)
	}
	if s.t.Attrs[n.Attr].Numeric {
		return fmt.Sprintf("CASE WHEN %s <= %s THEN %s ELSE %s END", s.value[n.Attr], doubleLit(leftMost(n.Threshold)),
			s.fast(n.Children[0], leaf), s.fast(n.Children[1], leaf))
	}
	var sb strings.Builder
	sb.WriteString("CASE " + s.value[n.Attr])
	for j, ch := range n.Children {
		sb.WriteString(" WHEN " + quoteString(s.t.Attrs[n.Attr].Values[j]) + " THEN " + s.fast(ch, leaf))
	}
	sb.WriteString(" END")
	return sb.String()
}

// reaches is TRUE for the rows whose weight reaches branch j of n: those
// with the value missing (NULL, NaN, or unseen) and those taking the
// branch; on them, factor is the branch's Missing share for the first
// and 1 for the others.
func (s *sqlTree) reaches(n *Node, j int) (reach, factor string) {
	v := s.value[n.Attr]
	if s.t.Attrs[n.Attr].Numeric {
		// Without nullif: DuckDB orders NaN above every double, so NaN
		// fails <= (hence "OR isnan") and passes >; NULL makes either NULL.
		x, edge := s.value[n.Attr], doubleLit(leftMost(n.Threshold))
		reach = "coalesce(" + x + " > " + edge + ", true)"
		if j == 0 {
			reach = "coalesce(" + x + " <= " + edge + " OR isnan(" + x + "), true)"
		}
		return reach, "if(" + x + " <= 'inf'::DOUBLE, 1e0, " + doubleLit(n.Missing[j]) + ")"
	}
	val := quoteString(s.t.Attrs[n.Attr].Values[j])
	return "coalesce(" + v + " = " + val + " OR " + v + " NOT IN (" + s.valueList(n.Attr) + "), true)",
		"if(" + v + " = " + val + ", 1e0, " + doubleLit(n.Missing[j]) + ")"
}

// probability is the class-c probability of the subtree at n, bottom up:
// a leaf's probability, or the sum over children, in order, of the child's
// factor (its Missing share when the value is missing, 1 on the row's
// branch) times the child's probability, for the rows the child reaches,
// and 0 for the others — each node written once, and a subtree evaluated
// (DuckDB runs a CASE branch on its rows alone) only for the rows whose
// weight reaches it. A row with the value known gets 0 + p + 0 = p exactly,
// as Probabilities descends to its branch.
func (s *sqlTree) probability(n *Node, c int) string {
	if n.Leaf() {
		return doubleLit(n.Probs[c])
	}
	terms := make([]string, len(n.Children))
	for j, ch := range n.Children {
		reach, factor := s.reaches(n, j)
		terms[j] = "CASE WHEN " + reach + " THEN " + factor + " * " + s.probability(ch, c) + " ELSE 0e0 END"
	}
	return "(" + strings.Join(terms, " + ") + ")"
}

// doubleLit writes v so DuckDB reads back the same float64: the shortest
// round-trip decimal in exponent form, which DuckDB reads as a DOUBLE
// (never a DECIMAL), parenthesised when negative.
func doubleLit(v float64) string {
	lit := strconv.FormatFloat(v, 'e', -1, 64)
	if v < 0 {
		return "(" + lit + ")"
	}
	return lit
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
