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
// the class as column as. It is ScoreQuery's form without the probability
// (see there); rows come in no particular order.
func (t *Tree) CaseQuery(columns []string, relation string, keep []string, as string) (string, error) {
	q, err := t.query(columns, relation, keep, as, "", -1)
	return q, err
}

// ScoreQuery returns the query deployed to score a relation named
// ckm_rows (define it with WITH ckm_rows AS (…) around the query, or as a
// view): every column of ckm_rows, then prediction (the class Predict
// gives) and probability (Probabilities' value for the class positive),
// equal to CaseSQL and ProbabilitySQL on every row — but compact and fast:
// the attributes are read once per row (numbers as DOUBLE with NaN as
// NULL, nominal values as their index, NULL when unseen); a row whose
// tested attributes are all known takes a nested CASE to its leaf's
// number, whose class and probability are looked up in two lists; the
// others (C4.5's fractional sums) are first gathered into vectors of their
// own (a materialized CTE: DuckDB evaluates a CASE per vector, at a cost
// that grows with the vectors those rows are spread over) and numbered,
// then their class probabilities are computed by one expression on one row
// per class (leaves as lists indexed by the class number), not one copy of
// the tree per class (DuckDB plans a copy in time growing faster than its
// size), listed in class order and joined back. Columns of ckm_rows named
// ckm_c<N>, ckm_w<N>, ckm_leaf, ckm_rn, ckm_k, ckm_pk or ckm_p are hidden by the
// query's own.
func (t *Tree) ScoreQuery(columns []string, positive string) (string, error) {
	pos := -1
	for i, c := range t.Classes {
		if c == positive {
			pos = i
		}
	}
	if pos < 0 {
		return "", fmt.Errorf("tree: no class %q in %v", positive, t.Classes)
	}
	return t.query(columns, "ckm_rows", nil, "prediction", "probability", pos)
}

// query builds CaseQuery (keep columns, the class as as) and ScoreQuery
// (every column of relation, the class as as and class pos's probability
// as prob).
func (t *Tree) query(columns []string, relation string, keep []string, as, prob string, pos int) (string, error) {
	s, err := t.newSQL(columns)
	if err != nil {
		return "", err
	}
	var norm, known, hidden []string
	for a, u := range s.used {
		if !u {
			continue
		}
		c := s.col(a)
		hidden = append(hidden, c)
		known = append(known, c+" IS NOT NULL")
		hidden = append(hidden, s.one(a))
		if t.Attrs[a].Numeric {
			norm = append(norm, "nullif("+s.value[a]+", 'nan'::DOUBLE) AS "+c, "if("+c+" IS NULL, NULL, 1e0) AS "+s.one(a))
			continue
		}
		whens := make([]string, len(t.Attrs[a].Values))
		for i, v := range t.Attrs[a].Values {
			whens[i] = fmt.Sprintf("WHEN %s THEN %d", quoteString(v), i)
		}
		norm = append(norm, "CASE "+s.value[a]+" "+strings.Join(whens, " ")+" END AS "+c, "if("+c+" IS NULL, NULL, 1e0) AS "+s.one(a))
	}
	names := make([]string, len(t.Classes))
	for c := range t.Classes {
		names[c] = quoteString(t.Classes[c])
	}
	classList := "[" + strings.Join(names, ", ") + "]"
	out := "*"
	if keep != nil {
		sel := make([]string, len(keep))
		for i, k := range keep {
			sel[i] = quoteIdent(k)
		}
		out = strings.Join(sel, ", ")
	}
	except := func(extra string) string {
		if keep != nil {
			return out
		}
		return "* EXCLUDE (" + strings.Join(append(append([]string(nil), hidden...), extra), ", ") + ")"
	}
	in := "SELECT *"
	if len(norm) > 0 {
		in += ", " + strings.Join(norm, ", ")
	}
	in += " FROM " + relation + " AS ckm_src"
	// The fast path: a leaf's number (1-based, in leaf order) or, without
	// a probability, its class's number.
	var leafClass, leafProb []string
	fast := s.fastCols(t.Root, func(n *Node) string {
		if prob == "" {
			return strconv.Itoa(n.Class + 1)
		}
		leafClass = append(leafClass, strconv.Itoa(n.Class+1))
		leafProb = append(leafProb, doubleLit(n.Probs[pos]))
		return strconv.Itoa(len(leafClass))
	})
	fastSel := classList + "[ckm_leaf] AS " + quoteIdent(as)
	if prob != "" {
		fastSel = classList + "[[" + strings.Join(leafClass, ",") + "][ckm_leaf]] AS " + quoteIdent(as) +
			", [" + strings.Join(leafProb, ",") + "][ckm_leaf] AS " + quoteIdent(prob)
	}
	fastQ := "SELECT " + except("ckm_leaf") + ", " + fastSel + " FROM (SELECT *, " + fast + " AS ckm_leaf FROM ckm_in"
	if len(known) == 0 {
		return "WITH ckm_in AS (" + in + ")\n" + fastQ + ")", nil
	}
	fastQ += " WHERE " + strings.Join(known, " AND ") + ")"
	// The fractional path: ckm_p lists the class probabilities.
	var choice string
	if len(t.Classes) == 2 {
		choice = fmt.Sprintf("CASE WHEN ckm_p[2] - ckm_p[1] > %s THEN %s ELSE %s END", doubleLit(small), names[1], names[0])
	} else {
		choice = fmt.Sprintf("%s[list_reduce(list_zip(ckm_p, range(1, %d)), lambda a, b: CASE WHEN b[1] - a[1] > %s THEN b ELSE a END)[2]]",
			classList, len(t.Classes)+1, doubleLit(small))
	}
	slowSel := choice + " AS " + quoteIdent(as)
	if prob != "" {
		slowSel += fmt.Sprintf(", ckm_p[%d] AS %s", pos+1, quoteIdent(prob))
	}
	perClass := make([]string, len(t.Classes))
	for c := range perClass {
		perClass[c] = fmt.Sprintf("max(ckm_pk) FILTER (WHERE ckm_k = %d)", c+1)
	}
	slowQ := "SELECT " + except("ckm_p, ckm_rn") + ", " + slowSel + " FROM ckm_missing JOIN ckm_frac USING (ckm_rn)"
	return "WITH ckm_in AS NOT MATERIALIZED (" + in + "),\nckm_missing AS MATERIALIZED (SELECT row_number() OVER () AS ckm_rn, * FROM ckm_in WHERE NOT (" + strings.Join(known, " AND ") + ")),\n" +
		"ckm_frac AS (SELECT ckm_rn, [" + strings.Join(perClass, ", ") + "] AS ckm_p FROM (SELECT ckm_rn, ckm_k, " + s.fraction(t.Root) +
		" AS ckm_pk FROM ckm_missing, range(1, " + strconv.Itoa(len(t.Classes)+1) + ") AS ckm_t(ckm_k)) GROUP BY ckm_rn)\n" +
		fastQ + "\nUNION ALL " + slowQ, nil
}

// col is the query's column for attribute a as read once per row.
func (s *sqlTree) col(a int) string { return "ckm_c" + strconv.Itoa(a) }

// one is the query's column holding 1 where attribute a is known, NULL
// where it is missing.
func (s *sqlTree) one(a int) string { return "ckm_w" + strconv.Itoa(a) }

// fastCols is the nested CASE over the query's columns for rows with every
// tested value known.
func (s *sqlTree) fastCols(n *Node, leaf func(*Node) string) string {
	if n.Leaf() {
		return leaf(n)
	}
	c := s.col(n.Attr)
	if s.t.Attrs[n.Attr].Numeric {
		l := s.fastCols(n.Children[0], leaf)
		return "CASE WHEN " + c + " <= " + doubleLit(leftMost(n.Threshold)) + " THEN " + l + " ELSE " + s.fastCols(n.Children[1], leaf) + " END"
	}
	var sb strings.Builder
	sb.WriteString("CASE " + c)
	for j, ch := range n.Children {
		if j < len(n.Children)-1 {
			sb.WriteString(" WHEN " + strconv.Itoa(j) + " THEN " + s.fastCols(ch, leaf))
		} else {
			sb.WriteString(" ELSE " + s.fastCols(ch, leaf))
		}
	}
	sb.WriteString(" END")
	return sb.String()
}

// fraction is probability over the query's columns, for the class numbered
// ckm_k (a column; leaves list their probabilities): per child,
// 0 when the row's known value takes another branch, else the factor (the
// branch's Missing share when the value is NULL, 1 otherwise) times the
// child's probability, summed in child order as Probabilities does.
func (s *sqlTree) fraction(n *Node) string {
	if n.Leaf() {
		ps := make([]string, len(n.Probs))
		for c, p := range n.Probs {
			ps[c] = doubleLit(p)
		}
		return "[" + strings.Join(ps, ",") + "][ckm_k]"
	}
	c := s.col(n.Attr)
	terms := make([]string, len(n.Children))
	for j, ch := range n.Children {
		var other string
		switch {
		case !s.t.Attrs[n.Attr].Numeric:
			other = c + " <> " + strconv.Itoa(j)
		case j == 0:
			other = c + " > " + doubleLit(leftMost(n.Threshold))
		default:
			other = c + " <= " + doubleLit(leftMost(n.Threshold))
		}
		terms[j] = "CASE WHEN " + other + " THEN 0e0 ELSE coalesce(" + s.one(n.Attr) + ", " + doubleLit(n.Missing[j]) + ") * " + s.fraction(ch) + " END"
	}
	return "(" + strings.Join(terms, " + ") + ")"
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
