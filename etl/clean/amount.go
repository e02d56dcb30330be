package clean

import (
	"strconv"
	"strings"
)

// Decimal is an exact amount of money in hundredths (fen): Decimal(129900)
// is 1299.00. It fits DuckDB's DECIMAL(18,2).
type Decimal int64

// MaxAmount is the largest magnitude Amount accepts: the range of
// DECIMAL(18,2).
const MaxAmount Decimal = 999_999_999_999_999_999

// Cents returns the amount in hundredths.
func (d Decimal) Cents() int64 { return int64(d) }

// String formats the amount with exactly two decimals, such as "1299.00"
// or "-12.50".
func (d Decimal) String() string {
	n := int64(d)
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign = "-"
		u = uint64(-n) // -MinInt64 wraps to itself, whose uint64 value is right
	}
	whole := strconv.FormatUint(u/100, 10)
	frac := u % 100
	return sign + whole + "." + string(rune('0'+frac/10)) + string(rune('0'+frac%10))
}

// currencyMarks are stripped from the start or end of an amount (after
// NFKC, which turns the full-width ￥ into ¥).
var currencyMarks = []string{"¥", "RMB", "CNY", "元", "人民币"}

// Amount parses an amount of money exactly. It accepts, around the number,
// ¥ ￥ RMB CNY 元 and spaces; thousands separators (1,299.00, full-width
// ，) in correct groups of three; a leading + or − sign (also before the
// currency mark) and accounting parentheses, (12.50) meaning −12.50. At
// most two decimals are kept: further decimals must be zeros (12.500 is
// fine, 12.345 is not — money is not rounded silently).
//
// Errors are *Error with rule amount_missing (blank) or amount_invalid.
func Amount(s string) (Decimal, error) {
	v := foldAmount(s)
	if v == "" {
		return 0, fail(RuleAmountMissing, s, "blank amount")
	}
	v = strings.ReplaceAll(v, "\u2212", "-") // the minus sign NFKC leaves alone
	neg := false
	if strings.HasPrefix(v, "(") && strings.HasSuffix(v, ")") {
		neg = true
		v = v[1 : len(v)-1]
	}
	v = stripCurrency(v)
	if v != "" && (v[0] == '-' || v[0] == '+') {
		if neg {
			return 0, fail(RuleAmountInvalid, s, "a sign inside accounting parentheses")
		}
		neg = v[0] == '-'
		v = stripCurrency(v[1:])
		if v == "" {
			return 0, fail(RuleAmountInvalid, s, "a sign without a number")
		}
	}
	v = strings.ReplaceAll(v, " ", "")
	if v == "" {
		return 0, fail(RuleAmountInvalid, s, "no number")
	}
	cents, reason := parseCents(v)
	if reason != "" {
		return 0, fail(RuleAmountInvalid, s, "%s", reason)
	}
	if neg {
		cents = -cents
	}
	return Decimal(cents), nil
}

// stripCurrency removes currency marks and spaces from both ends of v.
func stripCurrency(v string) string {
	for {
		before := v
		v = strings.TrimSpace(v)
		for _, c := range currencyMarks {
			v = strings.TrimPrefix(v, c)
			v = strings.TrimSuffix(v, c)
		}
		if v == before {
			return v
		}
	}
}

// parseCents reads digits with optional thousands commas and decimals.
func parseCents(v string) (int64, string) {
	whole, frac, dotted := strings.Cut(v, ".")
	if strings.Contains(whole, ",") {
		if !groupedThousands(whole) {
			return 0, "thousands separators must split the number in groups of three (1,299.00)"
		}
		whole = strings.ReplaceAll(whole, ",", "")
	}
	if whole == "" && frac == "" {
		return 0, "not a number"
	}
	if (whole != "" && !allDigits(whole)) || (frac != "" && !allDigits(frac)) {
		return 0, "not a number"
	}
	if !dotted && whole == "" {
		return 0, "not a number"
	}
	if len(frac) > 2 {
		if strings.Trim(frac[2:], "0") != "" {
			return 0, "more than two decimals: an amount of money is kept to the fen, not rounded"
		}
		frac = frac[:2]
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 16 {
		return 0, "too large for DECIMAL(18,2)"
	}
	for len(frac) < 2 {
		frac += "0"
	}
	cents := int64(0)
	for i := 0; i < len(whole); i++ {
		cents = cents*10 + int64(whole[i]-'0')
	}
	return cents*100 + int64(atoi(frac)), ""
}

// groupedThousands reports whether s is digits in comma-separated groups
// of three after a first group of one to three.
func groupedThousands(s string) bool {
	groups := strings.Split(s, ",")
	if len(groups[0]) < 1 || len(groups[0]) > 3 || !allDigits(groups[0]) {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !allDigits(g) {
			return false
		}
	}
	return true
}

// foldAmount is fold with a fast path for the common till format: an
// optional sign and a yuan sign (￥ or ¥) before plain ASCII, which NFKC
// would only turn into "¥" for stripCurrency to remove.
func foldAmount(s string) string {
	rest, sign := s, ""
	if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
		rest, sign = rest[1:], rest[:1]
	}
	for _, mark := range []string{"\uFFE5", "\u00A5"} {
		if strings.HasPrefix(rest, mark) {
			if r := strings.TrimFunc(rest[len(mark):], isSpace); r != "" && isPlainASCII(r) {
				return sign + r
			}
			break
		}
	}
	return fold(s)
}
