package privacy

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Mask masks one value of the kind with the kind's one format; None leaves
// it as it is. Masks are idempotent (masking a mask gives it back) and
// NULL-free: "" stays "".
//
//	IDNumber  110105************   region of issue only: the birth date,
//	                               sequence (sex) and check digit are hidden
//	Mobile    +86 138****8000      a mainland mobile in any spelling;
//	Phone     ********8000         other numbers keep their last 4 digits
//	Email     a***@b.cn            first character and domain
//	Name      张**, J**             first character
//	Address   ***                  nothing
func Mask(k Kind, s string) string {
	switch k {
	case IDNumber:
		return MaskID(s)
	case Mobile, Phone:
		return MaskMobile(s)
	case Email:
		return MaskEmail(s)
	case Name:
		return MaskName(s)
	case Address:
		return MaskAddress(s)
	}
	return s
}

// idMaskStars hides everything of an ID number after its 6-digit region
// code, whatever its length (15 or 18), so both spellings of one number
// mask alike.
const idMaskStars = "************"

// idForm is an ID number (18 or 15 characters) or its mask, after Fold.
var idForm = regexp.MustCompile(`^[0-9]{6}(?:[0-9*]{9}|[0-9*]{11}[0-9Xx*])$`)

// MaskID keeps the 6-digit region code of an ID number and hides the rest
// — the birth date, the sequence number (which gives the sex) and the check
// digit — as 12 stars: 11010519491231002X and its 15-digit form
// 110105491231002 both give 110105************. Other values are masked
// completely, one star per character.
func MaskID(s string) string {
	v := Fold(s)
	if idForm.MatchString(v) {
		return v[:6] + idMaskStars
	}
	return strings.Repeat("*", utf8.RuneCountInString(v))
}

// mainlandMobile is a mainland mobile after Fold, with an optional country
// code (+86, 0086, 86) and IP-dial prefix (17951, 17911, 12593, 17909,
// 10193), or its mask.
var mainlandMobile = regexp.MustCompile(`^(?:\+86|0086|86)?(?:17951|17911|12593|17909|10193)?(1[3-9][0-9])[0-9*]{4}([0-9]{4})$`)

// MaskMobile masks a phone number: a mainland mobile in any spelling
// (+86 138-0013-8000, 0086 13800138000, １３８００１３８０００, 17951
// 13800138000) gives +86 138****8000; any other number keeps its last 4
// characters when it has at least 8, else is masked completely.
func MaskMobile(s string) string {
	v := Fold(s)
	if m := mainlandMobile.FindStringSubmatch(v); m != nil {
		return "+86 " + m[1] + "****" + m[2]
	}
	n := utf8.RuneCountInString(v)
	if n < 8 {
		return strings.Repeat("*", n)
	}
	r := []rune(v)
	return strings.Repeat("*", n-4) + string(r[n-4:])
}

// MaskEmail keeps the first character of the local part and the domain,
// in lower case: Abc@B.cn gives a***@b.cn (always three stars, hiding the
// length). A value without a local part and @ gives "***".
func MaskEmail(s string) string {
	v := strings.ToLower(foldText(s))
	if v == "" {
		return ""
	}
	at := strings.LastIndexByte(v, '@')
	if at <= 0 {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(v)
	return string(r) + "***" + v[at:]
}

// MaskName keeps the first character of a name: 张三 gives 张**, John
// Smith gives J**.
func MaskName(s string) string {
	v := strings.Trim(s, spaces)
	if v == "" {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(v)
	return string(r) + "**"
}

// MaskAddress hides an address whole.
func MaskAddress(s string) string {
	if strings.Trim(s, spaces) == "" {
		return ""
	}
	return "***"
}

// Fold makes the spellings of one number alike: full-width characters
// become their ASCII forms (１３８ → 138, ＋ → +) and spaces, dashes,
// dots, parentheses and invisible format characters go. Letters keep
// their case. (The cleaners also apply NFKC; a number spelled in other
// compatibility characters, such as circled digits, is not recognised
// here and is masked whole.)
func Fold(s string) string {
	return strings.Map(func(c rune) rune {
		c = foldWidth(c)
		if isSpace(c) || isInvisible(c) || c == '-' || c == '.' || c == '(' || c == ')' {
			return -1
		}
		return c
	}, s)
}

// isInvisible reports the format characters spreadsheet exports leave
// behind: the byte-order mark and zero-width spaces and joiners.
func isInvisible(c rune) bool {
	return c == '\ufeff' || c == '\u200b' || c == '\u200c' || c == '\u200d' || c == '\u2060'
}

// foldText folds full-width characters and drops spaces, keeping dashes
// and parentheses (e-mail addresses have them).
func foldText(s string) string {
	return strings.Map(func(c rune) rune {
		c = foldWidth(c)
		if isSpace(c) {
			return -1
		}
		return c
	}, s)
}

// foldWidth maps a full-width ASCII variant (U+FF01–U+FF5E) to ASCII and
// the ideographic space to a space.
func foldWidth(c rune) rune {
	switch {
	case c >= 0xFF01 && c <= 0xFF5E:
		return c - 0xFEE0
	case c == '\u3000':
		return ' '
	}
	return c
}

// spaces are the characters Fold drops and names are trimmed of: the same
// set as the SQL macros ([\t\n\f\r ] of RE2, no-break and ideographic
// spaces), so Go and SQL masks agree.
const spaces = " \t\n\f\r\u00a0\u3000"

func isSpace(c rune) bool { return strings.ContainsRune(spaces, c) }
