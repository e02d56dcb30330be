package clean

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// chinaTime is China Standard Time (UTC+8, no daylight saving), the wall
// clock every ckm timestamp is expressed in.
var chinaTime = time.FixedZone("CST", 8*3600)

// now is the clock; tests replace it.
var now = time.Now

// today returns the current date in China, as midnight UTC.
func today() time.Time {
	y, m, d := now().In(chinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Bounds of the accepted values.
const (
	minYear        = 1000
	maxExcelSerial = 80000 // 2119-01-10: larger numbers are not taken for Excel dates
)

// makeDate returns the date y-m-d at midnight UTC, and false when that is
// not a real calendar date.
func makeDate(y, m, d int) (time.Time, bool) {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // time.Date normalised an overflow such as Feb 30
		return time.Time{}, false
	}
	return t, true
}

// Date parses a calendar date written as 2006-01-02, 2006/1/2, 2006.1.2,
// 20060102, 2006年1月2日 (1- or 2-digit month and day in the separated
// forms), or as an Excel serial day number in the 1900 date system: a value
// of 1 to 5 digits and nothing else, between 1 and 80000 (1 is 1900-01-01,
// 45292 is 2024-01-01; 60, Lotus's fictitious 1900-02-29, is invalid). A
// value that Timestamp accepts with a time of day (but not an Excel serial
// with a fraction) gives that day, after conversion to China time when it
// carries an offset.
//
// The result is midnight UTC. Errors are *Error with rule date_missing
// (blank) or date_invalid (unreadable or impossible, such as 2023-02-30, or
// a year before 1000).
func Date(s string) (time.Time, error) {
	v := fold(s)
	if v == "" {
		return time.Time{}, fail(RuleDateMissing, s, "blank date")
	}
	if len(v) <= 5 && allDigits(v) {
		return excelDate(s, atoi(v))
	}
	y, m, d, rest, ok := splitDate(v)
	if !ok && !(len(v) == 14 && allDigits(v)) { // 20240305142231 is a timestamp
		return time.Time{}, fail(RuleDateInvalid, s, "not a date (expected a form such as 2006-01-02, 2006/1/2, 20060102 or 2006年1月2日)")
	}
	if !ok || rest != "" {
		t, err := Timestamp(s)
		if err != nil {
			return time.Time{}, err
		}
		return t.Truncate(24 * time.Hour), nil
	}
	return checkDate(s, y, m, d)
}

func checkDate(raw string, y, m, d int) (time.Time, error) {
	t, ok := makeDate(y, m, d)
	if !ok {
		return time.Time{}, fail(RuleDateInvalid, raw, "%04d-%02d-%02d is not a real date", y, m, d)
	}
	if y < minYear {
		return time.Time{}, fail(RuleDateInvalid, raw, "year %d is implausible", y)
	}
	return t, nil
}

// excelDate converts an Excel 1900-system serial day number.
func excelDate(raw string, n int) (time.Time, error) {
	switch {
	case n < 1 || n > maxExcelSerial:
		return time.Time{}, fail(RuleDateInvalid, raw, "a bare number is read as an Excel serial date, which must be between 1 and %d", maxExcelSerial)
	case n == 60:
		return time.Time{}, fail(RuleDateInvalid, raw, "Excel serial 60 is 1900-02-29, a date that does not exist")
	case n > 60:
		n-- // Excel counts the non-existent 1900-02-29
	}
	return time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n), nil
}

// splitDate reads the date at the start of v and returns its fields and
// what follows it. It does not check that the date is real.
func splitDate(v string) (y, m, d int, rest string, ok bool) {
	if len(v) >= 8 && allDigits(v[:8]) && (len(v) == 8 || !isDigit(v[8])) {
		return atoi(v[:4]), atoi(v[4:6]), atoi(v[6:8]), v[8:], true
	}
	if len(v) < 4 || !allDigits(v[:4]) {
		return 0, 0, 0, "", false
	}
	y, p := atoi(v[:4]), v[4:]
	var sep1, sep2, end string
	switch {
	case strings.HasPrefix(p, "年"):
		sep1, sep2, end = "年", "月", "日"
	case p != "" && strings.ContainsRune("-/.", rune(p[0])):
		sep1, sep2 = p[:1], p[:1]
	default:
		return 0, 0, 0, "", false
	}
	p = strings.TrimPrefix(p, sep1)
	m, p, ok = leadingNumber(p, 2)
	if !ok || !strings.HasPrefix(p, sep2) {
		return 0, 0, 0, "", false
	}
	d, p, ok = leadingNumber(p[len(sep2):], 2)
	if !ok {
		return 0, 0, 0, "", false
	}
	if end != "" {
		switch {
		case strings.HasPrefix(p, "日"):
			p = p[len("日"):]
		case strings.HasPrefix(p, "号"):
			p = p[len("号"):]
		default:
			return 0, 0, 0, "", false
		}
	}
	return y, m, d, p, true
}

// leadingNumber reads 1 to max digits at the start of s.
func leadingNumber(s string, max int) (int, string, bool) {
	n := 0
	for n < len(s) && n < max && isDigit(s[n]) {
		n++
	}
	if n == 0 || (n < len(s) && isDigit(s[n])) {
		return 0, s, false
	}
	return atoi(s[:n]), s[n:], true
}

// Timestamp parses a date and time of day: 2024/3/5 14:22, 2024-03-05
// 14:22:31, ISO 8601 such as 2024-03-05T14:22:31.5+08:00 or …Z, the compact
// 20240305142231, any date form that Date accepts (midnight), and Excel
// serial numbers with a fraction of a day (45292.5 is 2024-01-01 12:00).
// A value with a UTC offset (Z, +08:00, +0800, +08, UTC) is converted to
// China time (UTC+8); the result is always a naive wall-clock time in the
// UTC location.
//
// Errors are *Error with rule date_missing (blank) or date_invalid.
func Timestamp(s string) (time.Time, error) {
	v := fold(s)
	if v == "" {
		return time.Time{}, fail(RuleDateMissing, s, "blank time")
	}
	if t, ok, err := excelTimestamp(s, v); ok {
		return t, err
	}
	if len(v) == 14 && allDigits(v) {
		v = v[:8] + " " + v[8:10] + ":" + v[10:12] + ":" + v[12:]
	}
	y, m, d, rest, ok := splitDate(v)
	if !ok {
		return time.Time{}, fail(RuleDateInvalid, s, "not a date and time (expected a form such as 2024-03-05 14:22:31, 2024/3/5 14:22 or 2024-03-05T14:22:31+08:00)")
	}
	day, err := checkDate(s, y, m, d)
	if err != nil {
		return time.Time{}, err
	}
	if rest == "" {
		return day, nil
	}
	switch {
	case rest[0] == 'T' || rest[0] == 't':
		rest = rest[1:]
	case rest[0] == ' ':
		rest = strings.TrimLeft(rest, " ")
	default:
		return time.Time{}, fail(RuleDateInvalid, s, "unexpected %q after the date", rest)
	}
	clock, rest, ok := parseClock(rest)
	if !ok {
		return time.Time{}, fail(RuleDateInvalid, s, "not a time of day (expected 14:22 or 14:22:31)")
	}
	t := day.Add(clock)
	offset, ok := parseOffset(strings.TrimLeft(rest, " "))
	if !ok {
		return time.Time{}, fail(RuleDateInvalid, s, "unexpected %q after the time (expected a UTC offset such as +08:00 or Z)", rest)
	}
	if offset != noOffset {
		t = wallClockInChina(t, offset)
	}
	return t, nil
}

// noOffset marks a timestamp written without a UTC offset.
const noOffset = math.MinInt

// wallClockInChina converts a wall-clock time at offset seconds east of
// UTC to the naive wall-clock time in China.
func wallClockInChina(t time.Time, offset int) time.Time {
	utc := t.Add(-time.Duration(offset) * time.Second)
	return utc.Add(8 * time.Hour)
}

// parseClock reads H:MM[:SS[.fraction]] and returns it as a duration since
// midnight.
func parseClock(s string) (time.Duration, string, bool) {
	h, s, ok := leadingNumber(s, 2)
	if !ok || h > 23 || !strings.HasPrefix(s, ":") {
		return 0, s, false
	}
	mi, s, ok := twoDigits(s[1:])
	if !ok || mi > 59 {
		return 0, s, false
	}
	d := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute
	if !strings.HasPrefix(s, ":") {
		return d, s, true
	}
	sec, s, ok := twoDigits(s[1:])
	if !ok || sec > 59 {
		return 0, s, false
	}
	d += time.Duration(sec) * time.Second
	if len(s) > 1 && (s[0] == '.' || s[0] == ',') && isDigit(s[1]) {
		n := 1
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		frac := s[1:n]
		if len(frac) > 9 {
			frac = frac[:9] // beyond nanoseconds: truncated
		}
		ns := atoi(frac)
		for i := len(frac); i < 9; i++ {
			ns *= 10
		}
		d += time.Duration(ns)
		s = s[n:]
	}
	return d, s, true
}

func twoDigits(s string) (int, string, bool) {
	if len(s) < 2 || !isDigit(s[0]) || !isDigit(s[1]) || (len(s) > 2 && isDigit(s[2])) {
		return 0, s, false
	}
	return atoi(s[:2]), s[2:], true
}

// parseOffset reads a UTC offset (Z, UTC, GMT, ±HH, ±HHMM, ±HH:MM) that
// must make up all of s, in seconds east of UTC; "" gives noOffset.
func parseOffset(s string) (int, bool) {
	switch strings.ToUpper(s) {
	case "":
		return noOffset, true
	case "Z", "UTC", "GMT":
		return 0, true
	}
	sign := 1
	switch s[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	s = s[1:]
	var h, m int
	switch {
	case len(s) == 2 && allDigits(s):
		h = atoi(s)
	case len(s) == 4 && allDigits(s):
		h, m = atoi(s[:2]), atoi(s[2:])
	case len(s) == 5 && s[2] == ':' && allDigits(s[:2]) && allDigits(s[3:]):
		h, m = atoi(s[:2]), atoi(s[3:])
	default:
		return 0, false
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// excelTimestamp reads an Excel serial date-time (day number with an
// optional fraction of a day). ok is false when v does not look like one.
func excelTimestamp(raw, v string) (t time.Time, ok bool, err error) {
	whole, frac, dotted := strings.Cut(v, ".")
	if len(whole) > 5 || !allDigits(whole) || (dotted && !allDigits(frac)) {
		return time.Time{}, false, nil
	}
	day, err := excelDate(raw, atoi(whole))
	if err != nil || !dotted {
		return day, true, err
	}
	f, _ := strconv.ParseFloat("0."+frac, 64)
	ms := math.Round(f * 86400e3) // Excel stores times as binary fractions: round to the millisecond
	return day.Add(time.Duration(ms) * time.Millisecond), true, nil
}
