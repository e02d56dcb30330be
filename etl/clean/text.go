package clean

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text normalises free text: NFKC, trimmed, every run of white space
// (including newlines, tabs and the ideographic space) collapsed to one
// ASCII space, invisible format characters (BOM, zero-width spaces)
// removed, and other control characters dropped.
func Text(s string) string {
	if isCleanText(s) {
		return s
	}
	v := fold(s)
	if isPlainASCII(v) && !needsCollapse(v) {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for _, r := range v {
		switch {
		case unicode.IsSpace(r):
			space = true
		case unicode.IsControl(r):
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return renormalize(b.String())
}

// renormalize applies NFKC again after characters were dropped: removing
// one can bring combining marks together that NFKC orders or composes.
func renormalize(s string) string {
	if isPlainASCII(s) {
		return s
	}
	return norm.NFKC.String(s)
}

// needsCollapse reports whether ASCII v has a control character or a white
// space other than a single space.
func needsCollapse(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < ' ' || c == 0x7f || (c == ' ' && i+1 < len(v) && v[i+1] == ' ') {
			return true
		}
	}
	return false
}

// HeaderKey reduces a column header to the key used to match it: the
// UTF-8 BOM and invisible characters removed, NFKC, lowercase, and every
// space, underscore, punctuation mark and symbol dropped, so that
// "手机号（必填）", " Mobile_No. " and "mobile no" give "手机号必填",
// "mobileno" and "mobileno".
func HeaderKey(s string) string {
	v := strings.ToLower(fold(s))
	var b strings.Builder
	b.Grow(len(v))
	for _, r := range v {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			b.WriteRune(r)
		}
	}
	return renormalize(b.String())
}

func quoteRune(r rune) string      { return strconv.QuoteRune(r) }
func strconvQuote(s string) string { return strconv.Quote(s) }

// isCleanText reports whether Text would return s unchanged: valid UTF-8
// that passes NFKC's quick check, with no control, invisible or non-ASCII
// space characters and no leading, trailing or doubled spaces. Most values
// (names, store names, codes) are, and skip the rewriting.
func isCleanText(s string) bool {
	if !utf8.ValidString(s) || norm.NFKC.QuickSpanString(s) != len(s) {
		return false
	}
	prevSpace := true // a leading space is not clean
	for _, r := range s {
		if r == ' ' {
			if prevSpace {
				return false
			}
			prevSpace = true
			continue
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) || dropInvisible(r) == -1 || r == utf8.RuneError {
			return false
		}
		prevSpace = false
	}
	return s == "" || !prevSpace
}
