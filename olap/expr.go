package olap

import (
	"fmt"
	"strings"
)

// The model's expressions (measure Expr, Derived) are a tiny arithmetic
// language: names, numbers, + - * / and parentheses. Nothing else can appear,
// so a model can never smuggle arbitrary SQL into a compiled query, and every
// name is checked against the model or the catalog.

type exprToken struct {
	kind byte // 'n' name, '0' number, 'o' operator
	text string
}

func tokenizeExpr(s string) ([]exprToken, error) {
	var toks []exprToken
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte("+-*/()", c) >= 0:
			toks = append(toks, exprToken{'o', string(c)})
			i++
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			if strings.Count(s[i:j], ".") > 1 {
				return nil, fmt.Errorf("bad number %q", s[i:j])
			}
			toks = append(toks, exprToken{'0', s[i:j]})
			i = j
		case isNameStart(c):
			j := i
			for j < len(s) && (isNameStart(s[j]) || s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			name := s[i:j]
			if strings.HasSuffix(name, ".") || strings.Count(name, ".") > 1 {
				return nil, fmt.Errorf("bad name %q (want column or join.column)", name)
			}
			toks = append(toks, exprToken{'n', name})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d: only names, numbers, + - * / and parentheses are allowed", string(c), i)
		}
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty expression")
	}
	// Check the shape: operands and operators alternate, parentheses balance.
	depth, wantOperand := 0, true
	for _, t := range toks {
		switch {
		case t.text == "(":
			if !wantOperand {
				return nil, fmt.Errorf("unexpected '(' after an operand")
			}
			depth++
		case t.text == ")":
			if wantOperand || depth == 0 {
				return nil, fmt.Errorf("unexpected ')'")
			}
			depth--
		case t.kind == 'o':
			if wantOperand && t.text != "-" {
				return nil, fmt.Errorf("operator %q needs an operand before it", t.text)
			}
			wantOperand = true
		default:
			if !wantOperand {
				return nil, fmt.Errorf("missing operator before %q", t.text)
			}
			wantOperand = false
		}
	}
	if depth != 0 || wantOperand {
		return nil, fmt.Errorf("incomplete expression")
	}
	return toks, nil
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// renderExpr rewrites an expression with each name replaced by name(n).
// The right operand of every division is wrapped in NULLIF(…, 0): DuckDB
// divides by zero to infinity, and a cube shows no value instead.
func renderExpr(toks []exprToken, name func(string) (string, error)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if i > 0 && t.text != ")" && toks[i-1].text != "(" {
			b.WriteByte(' ')
		}
		switch {
		case t.kind == 'n':
			s, err := name(t.text)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		case t.text == "/":
			end := operandEnd(toks, i+1)
			inner, err := renderExpr(toks[i+1:end], name)
			if err != nil {
				return "", err
			}
			b.WriteString("/ NULLIF(" + inner + ", 0)")
			i = end - 1
		default:
			b.WriteString(t.text)
		}
	}
	return b.String(), nil
}

// operandEnd returns the index after the operand starting at i (a name, a
// number, a parenthesized group, each possibly negated).
func operandEnd(toks []exprToken, i int) int {
	for i < len(toks) && toks[i].text == "-" {
		i++
	}
	if i < len(toks) && toks[i].text == "(" {
		depth := 0
		for ; i < len(toks); i++ {
			switch toks[i].text {
			case "(":
				depth++
			case ")":
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(toks)
	}
	return i + 1
}

// quoteIdent quotes an identifier for DuckDB (the same rule as
// engine.QuoteIdent; olap does not import engine outside its executor).
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
