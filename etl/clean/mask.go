package clean

import "strings"

// MaskID hides the middle of an ID number, keeping the first 6 and last 4
// characters: 11010519491231002X gives 110105********002X. A valid ID is
// normalised first (a 15-digit one is shown as its 18-digit form); a value
// of 10 characters or fewer is masked completely; "" stays "".
func MaskID(s string) string {
	v := fold(s)
	if id, err := ResidentID(v); err == nil {
		v = id.Number
	}
	r := []rune(v)
	if len(r) <= 10 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:6]) + strings.Repeat("*", len(r)-10) + string(r[len(r)-4:])
}

// MaskMobile hides the middle four digits of a mobile number: any form
// Mobile accepts gives "+86 138****8000". Other values keep only their
// last 4 characters when they have at least 8, else are masked
// completely; "" stays "".
func MaskMobile(s string) string {
	if m, err := Mobile(s); err == nil {
		return "+86 " + m[3:6] + "****" + m[10:]
	}
	r := []rune(fold(s))
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}

// MaskEmail keeps the first character of the local part and the domain:
// abc@b.cn gives a***@b.cn (always three stars, hiding the length). A value
// without @ gives "***"; "" stays "".
func MaskEmail(s string) string {
	v := strings.ToLower(fold(s))
	if v == "" {
		return ""
	}
	at := strings.LastIndexByte(v, '@')
	if at <= 0 {
		return "***"
	}
	return firstRune(v) + "***" + v[at:]
}
