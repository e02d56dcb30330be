package clean

import "strings"

// ipDialPrefixes are carrier IP-dialling prefixes written in front of a
// mobile number (17951 China Mobile, 17911 China Unicom, 12593, 17909
// China Telecom, 10193).
var ipDialPrefixes = []string{"17951", "17911", "12593", "17909", "10193"}

// IsCNMobile reports whether national is an 11-digit Chinese mobile number
// under libphonenumber's CN mobile pattern (resources/PhoneNumberMetadata.xml):
//
//	1740[0-5]\d{6} | 1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8}
//
// that is 13x, 145, 147, 15[0-35-9], 16[2567], 17[0-35-8], 1740[0-5], 18x
// and 19[0-35-9]. The IoT ranges 146, 148 and 149 and the satellite range
// 174 (other than 1740x) are not mobiles for libphonenumber, nor here.
func IsCNMobile(national string) bool {
	if len(national) != 11 || !allDigits(national) || national[0] != '1' {
		return false
	}
	switch b, c := national[1], national[2]; b {
	case '3', '8':
		return true
	case '4':
		return c == '5' || c == '7'
	case '5', '9':
		return c != '4'
	case '6':
		return c == '2' || c == '5' || c == '6' || c == '7'
	case '7':
		if c == '4' {
			return national[3] == '0' && national[4] <= '5'
		}
		return c != '9'
	}
	return false
}

// Mobile normalises a Chinese mobile number to E.164 (+86 and 11 digits).
// It applies NFKC (full-width digits), drops spaces, dashes, dots and
// parentheses, then removes a country code written as +86, 0086 or 86 (the
// last only on 13 digits) and an IP-dialling prefix (17951, 17911, 12593,
// 17909, 10193). What remains must satisfy IsCNMobile.
//
// Errors are *Error with rule mobile_missing (blank) or mobile_invalid.
func Mobile(s string) (string, error) {
	v := fold(s)
	if v == "" {
		return "", fail(RuleMobileMissing, s, "blank mobile")
	}
	var b [24]byte
	digits := b[:0]
	plus := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case isDigit(c):
			if len(digits) == len(b) {
				return "", fail(RuleMobileInvalid, s, "too many digits for a mobile number")
			}
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '\t':
		case c == '+' && len(digits) == 0 && !plus:
			plus = true
		default:
			return "", fail(RuleMobileInvalid, s, "unexpected %q in a mobile number", firstRune(v[i:]))
		}
	}
	n := string(digits)
	if plus {
		if !strings.HasPrefix(n, "86") {
			return "", fail(RuleMobileInvalid, s, "international number outside China (country code is not +86)")
		}
		n = n[2:]
	}
	if len(n) == 16 {
		for _, p := range ipDialPrefixes {
			if strings.HasPrefix(n, p) {
				n = n[len(p):]
				break
			}
		}
	}
	switch {
	case !plus && len(n) == 15 && strings.HasPrefix(n, "0086"):
		n = n[4:]
	case !plus && len(n) == 13 && strings.HasPrefix(n, "86"):
		n = n[2:]
	}
	if !IsCNMobile(n) {
		return "", fail(RuleMobileInvalid, s, "not a Chinese mobile number (11 digits: 13x, 145, 147, 15x, 16[2567], 17x, 18x, 19x)")
	}
	return "+86" + n, nil
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}
