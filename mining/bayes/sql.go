package bayes

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// PosteriorSQL returns a DuckDB expression for P(class | row) over a relation
// whose columns are named as the model's attributes. It equals Score's
// posterior: the expression is 1 / (1 + Σ_{k≠class} exp(D_k)), D_k the
// difference of joint log-likelihoods, with a NULL or unseen categorical
// value and a NULL numeric value contributing nothing (numeric NaN is not
// NULL in SQL: turn it into NULL first). Categorical columns are compared as
// VARCHAR, numeric ones cast to DOUBLE. A model with a zero likelihood (α = 0
// and a category never seen with a class) cannot be written as one finite
// expression and is an error.
func (m *Model) PosteriorSQL(class string) (string, error) {
	c := -1
	for k, name := range m.Classes {
		if name == class {
			c = k
		}
	}
	if c < 0 {
		return "", fmt.Errorf("bayes: model has no class %q (classes %q)", class, m.Classes)
	}
	if err := m.checkFinite(); err != nil {
		return "", err
	}
	var terms []string
	for k := range m.Classes {
		if k == c {
			continue
		}
		parts := []string{num(m.LogPrior[k] - m.LogPrior[c])}
		for _, a := range m.Attributes {
			parts = append(parts, attributeDiffSQL(a, k, c))
		}
		terms = append(terms, "exp("+strings.Join(parts, " + ")+")")
	}
	return "(1.0 / (1.0 + " + strings.Join(terms, " + ") + "))", nil
}

func (m *Model) checkFinite() error {
	for _, a := range m.Attributes {
		for k := range a.LogLik {
			for i, v := range a.LogLik[k] {
				if math.IsInf(v, 0) {
					return fmt.Errorf("bayes: SQL scoring: attribute %q value %q has likelihood 0 in class %q (α = 0); train with α > 0",
						a.Name, a.Categories[i], m.Classes[k])
				}
			}
		}
	}
	return nil
}

// PredictSQL returns a DuckDB expression for the predicted class (a VARCHAR):
// the class with the largest joint log-likelihood, ties going to the first
// class in the model's (sorted) order as in Score. Columns, NULLs and the
// α = 0 restriction are as for PosteriorSQL.
func (m *Model) PredictSQL() (string, error) {
	if err := m.checkFinite(); err != nil {
		return "", err
	}
	joint := make([]string, len(m.Classes))
	for k := range m.Classes {
		parts := []string{num(m.LogPrior[k])}
		for _, a := range m.Attributes {
			parts = append(parts, attributeSQL(a, k))
		}
		joint[k] = "(" + strings.Join(parts, " + ") + ")"
	}
	var b strings.Builder
	b.WriteString("CASE")
	for k := 0; k < len(m.Classes)-1; k++ {
		var conds []string
		for j := k + 1; j < len(m.Classes); j++ {
			conds = append(conds, joint[k]+" >= "+joint[j])
		}
		fmt.Fprintf(&b, " WHEN %s THEN %s", strings.Join(conds, " AND "), quoteString(m.Classes[k]))
	}
	fmt.Fprintf(&b, " ELSE %s END", quoteString(m.Classes[len(m.Classes)-1]))
	return b.String(), nil
}

// attributeSQL is log P(x | class k) for one attribute, 0 when x is NULL or
// an unseen category.
func attributeSQL(a Attribute, k int) string {
	col := quoteIdent(a.Name)
	if a.Numeric {
		x := "CAST(" + col + " AS DOUBLE)"
		return fmt.Sprintf("COALESCE(%s - (%s - %s) * (%s - %s) * %s, 0)",
			num(-0.5*math.Log(2*math.Pi*a.Var[k])), x, num(a.Mean[k]), x, num(a.Mean[k]), num(1/(2*a.Var[k])))
	}
	var b strings.Builder
	b.WriteString("CASE CAST(" + col + " AS VARCHAR)")
	for i, v := range a.Categories {
		fmt.Fprintf(&b, " WHEN %s THEN %s", quoteString(v), num(a.LogLik[k][i]))
	}
	b.WriteString(" ELSE 0 END")
	return b.String()
}

// attributeDiffSQL is log P(x|k) − log P(x|c) for one attribute.
func attributeDiffSQL(a Attribute, k, c int) string {
	col := quoteIdent(a.Name)
	if a.Numeric {
		// log N(x; μk, σk²) − log N(x; μc, σc²)
		//  = ½·ln(σc²/σk²) − (x−μk)²/(2σk²) + (x−μc)²/(2σc²)
		x := "CAST(" + col + " AS DOUBLE)"
		return fmt.Sprintf("COALESCE(%s - (%s - %s) * (%s - %s) * %s + (%s - %s) * (%s - %s) * %s, 0)",
			num(0.5*math.Log(a.Var[c]/a.Var[k])),
			x, num(a.Mean[k]), x, num(a.Mean[k]), num(1/(2*a.Var[k])),
			x, num(a.Mean[c]), x, num(a.Mean[c]), num(1/(2*a.Var[c])))
	}
	var b strings.Builder
	b.WriteString("CASE CAST(" + col + " AS VARCHAR)")
	for i, v := range a.Categories {
		fmt.Fprintf(&b, " WHEN %s THEN %s", quoteString(v), num(a.LogLik[k][i]-a.LogLik[c][i]))
	}
	b.WriteString(" ELSE 0 END")
	return b.String()
}

// num writes a float as a DuckDB DOUBLE literal (exponent form is parsed as
// DOUBLE, not DECIMAL), parenthesised so a minus sign never joins an operator.
func num(v float64) string {
	return "(" + strconv.FormatFloat(v, 'e', -1, 64) + ")"
}

func quoteIdent(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }
