package clean

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fold replaces invalid UTF-8 with U+FFFD, applies NFKC (full-width
// digits, letters and punctuation become ASCII; the ideographic space
// becomes a space) and trims white space, including the byte-order mark and
// zero-width characters that spreadsheet exports leave behind.
func fold(s string) string {
	if !isPlainASCII(s) {
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		s = norm.NFKC.String(s)
		s = strings.Map(dropInvisible, s)
	}
	return strings.TrimFunc(s, isSpace)
}

// isPlainASCII reports whether s is printable ASCII only, for which NFKC
// is the identity: the fast path for the common case.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// dropInvisible removes format characters that NFKC keeps: the BOM and
// zero-width spaces and joiners.
func dropInvisible(r rune) rune {
	switch r {
	case '\uFEFF', '\u200B', '\u200C', '\u200D', '\u2060':
		return -1
	}
	return r
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// atoi parses a short run of ASCII digits (already checked) into an int.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
