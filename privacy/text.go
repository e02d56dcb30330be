package privacy

import (
	"encoding/json"
	"regexp"
	"strings"
)

// MaskText masks every personal value found in free text — raw source
// records, notes, identity keys — and leaves the rest as it is: values of
// JSON keys named for personal data whatever their shape, e-mail
// addresses, and ID numbers and mobiles in any spelling the exports use
// (full-width digits, spaced or dashed groups, 15-digit IDs, +86, 0086 and
// IP-dial prefixes). Full-width characters come out folded to ASCII.
func MaskText(s string) string {
	if strings.Contains(s, `":`) || strings.Contains(s, `" :`) {
		s = maskJSONPairs(s)
	}
	s = foldWidthText(s)
	if strings.IndexByte(s, '@') >= 0 {
		s = emailShape.ReplaceAllStringFunc(s, MaskEmail)
	}
	if countDigits(s) >= 11 {
		s = maskNumbers(s)
	}
	return s
}

var (
	// "key": "value" pairs of JSON text, such as the raw records of the
	// reject ledger.
	jsonPair   = regexp.MustCompile(`"([^"\\]{1,64})"\s*:\s*"((?:[^"\\]|\\.)*)"`)
	emailShape = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// idShape and mobileShape are whole numbers after Fold.
	idShape     = regexp.MustCompile(`^[1-9][0-9]{5}(?:(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]|[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3})$`)
	mobileShape = regexp.MustCompile(`^(?:\+86|0086|86)?(?:17951|17911|12593|17909|10193)?1[3-9][0-9]{9}$`)
)

// maskJSONPairs masks the values of JSON keys named for personal data.
func maskJSONPairs(s string) string {
	return jsonPair.ReplaceAllStringFunc(s, func(pair string) string {
		m := jsonPair.FindStringSubmatchIndex(pair)
		key, value := pair[m[2]:m[3]], pair[m[4]:m[5]]
		k := ColumnKind(key)
		if k == None && strings.EqualFold(strings.TrimSpace(key), "name") {
			k = Name
		}
		if k == None || value == "" {
			return pair
		}
		var raw string
		if err := json.Unmarshal([]byte(`"`+value+`"`), &raw); err != nil {
			raw = value
		}
		masked, _ := json.Marshal(Mask(k, raw))
		return pair[:m[4]-1] + string(masked) + pair[m[5]+1:]
	})
}

// foldWidthText turns full-width characters into ASCII.
func foldWidthText(s string) string {
	for _, c := range s {
		if c >= 0xFF01 && c <= 0xFF5E || c == '\u3000' {
			return strings.Map(foldWidth, s)
		}
	}
	return s
}

// digitGroup is a run of digits (an ID may end in X), with a leading +.
type digitGroup struct{ start, end int }

// maskNumbers masks ID numbers and mobiles written as one run of digits or
// as groups joined by single spaces or dashes ("138 0013 8000", "+86
// 138-0013-8000", "110105 19491231 002X"): from each group, the longest
// run of joined groups that is an ID number or a mobile is masked whole.
func maskNumbers(s string) string {
	groups := digitGroups(s)
	var b strings.Builder
	last := 0
	for i := 0; i < len(groups); {
		matched := false
		for j := len(groups) - 1; j >= i; j-- {
			if !joined(s, groups[i:j+1]) {
				continue
			}
			span := s[groups[i].start:groups[j].end]
			v := Fold(span)
			var k Kind
			switch {
			case idShape.MatchString(v):
				k = IDNumber
			case mobileShape.MatchString(v):
				k = Mobile
			default:
				continue
			}
			b.WriteString(s[last:groups[i].start])
			b.WriteString(Mask(k, span))
			last = groups[j].end
			i = j + 1
			matched = true
			break
		}
		if !matched {
			i++
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

// digitGroups finds the runs of digits in s; a run may start with + and
// end with X or x.
func digitGroups(s string) []digitGroup {
	var gs []digitGroup
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		start := i
		if start > 0 && s[start-1] == '+' {
			start--
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i < len(s) && (s[i] == 'X' || s[i] == 'x') && (i+1 == len(s) || !isLetter(s[i+1])) {
			i++
		}
		gs = append(gs, digitGroup{start, i})
	}
	return gs
}

// joined reports whether consecutive groups are separated by exactly one
// space or dash each, so they spell one number.
func joined(s string, gs []digitGroup) bool {
	for k := 1; k < len(gs); k++ {
		gap := s[gs[k-1].end:gs[k].start]
		if gap != " " && gap != "-" {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}
