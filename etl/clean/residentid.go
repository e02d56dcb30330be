package clean

import (
	"strings"
	"time"
	"unicode/utf8"
)

// ID is a normalised resident identity card number (GB 11643-1999) with
// what it encodes.
type ID struct {
	Number     string    // 18 characters: 17 digits and a check digit or X
	RegionCode string    // administrative division at issue (GB/T 2260), first 6 digits
	Birth      time.Time // date of birth, midnight UTC
	Sex        byte      // 'M' (odd sequence digit) or 'F' (even)
}

// Weights and check characters of ISO 7064 MOD 11-2 as used by GB 11643.
var (
	idWeights   = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idCheckChar = [11]byte{'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'}
)

// minBirthYear is the earliest birth year an ID may carry.
const minBirthYear = 1850

// CheckChar returns the GB 11643 check character (ISO 7064 MOD 11-2) of
// the first 17 digits of an ID number, or 0 when first17 is not exactly
// 17 ASCII digits.
func CheckChar(first17 string) byte {
	if len(first17) != 17 || !allDigits(first17) {
		return 0
	}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheckChar[sum%11]
}

// ResidentID normalises and validates a resident ID number. It trims the
// value, applies NFKC (full-width digits and Ｘ), accepts a lowercase x,
// and upgrades a 15-digit first-generation number to 18 digits (century
// 19, or 18 for the centenarian sequence codes 996–999, plus the computed
// check character). It checks the layout, that the region code is six
// digits not starting with 0, that the birth date is a real date between
// 1850-01-01 and today (China time), and the check character.
//
// Errors are *Error with rule id_missing (blank), id_invalid (layout or
// birth date) or id_checksum (wrong check character).
func ResidentID(s string) (ID, error) {
	v := strings.ToUpper(fold(s))
	switch {
	case v == "":
		return ID{}, fail(RuleIDMissing, s, "blank ID number")
	case len(v) == 15:
		return residentID15(s, v)
	case len(v) == 18:
		return residentID18(s, v)
	}
	return ID{}, fail(RuleIDInvalid, s, "an ID number has 18 characters (or 15 digits for old IDs), this has %d", utf8.RuneCountInString(v))
}

func residentID18(raw, v string) (ID, error) {
	if !allDigits(v[:17]) || !(isDigit(v[17]) || v[17] == 'X') {
		return ID{}, fail(RuleIDInvalid, raw, "an 18-character ID number is 17 digits and a digit or X")
	}
	id, err := decodeID(raw, v[:6], v[6:14], v[16])
	if err != nil {
		return ID{}, err
	}
	if want := CheckChar(v[:17]); v[17] != want {
		return ID{}, fail(RuleIDChecksum, raw, "check character is %c, the first 17 digits give %c", v[17], want)
	}
	id.Number = v
	return id, nil
}

func residentID15(raw, v string) (ID, error) {
	if !allDigits(v) {
		return ID{}, fail(RuleIDInvalid, raw, "a 15-character ID number is all digits")
	}
	century := "19"
	if seq := atoi(v[12:15]); seq >= 996 {
		century = "18" // sequence codes 996–999 were given to centenarians
	}
	first17 := v[:6] + century + v[6:]
	id, err := decodeID(raw, v[:6], century+v[6:12], v[14])
	if err != nil {
		return ID{}, err
	}
	id.Number = first17 + string(CheckChar(first17))
	return id, nil
}

// decodeID checks the region code and birth date and derives sex from the
// sequence digit.
func decodeID(raw, region, birth string, sexDigit byte) (ID, error) {
	if region[0] == '0' {
		return ID{}, fail(RuleIDInvalid, raw, "region code %s does not exist (codes start at 11)", region)
	}
	y, m, d := atoi(birth[:4]), atoi(birth[4:6]), atoi(birth[6:8])
	b, ok := makeDate(y, m, d)
	if !ok {
		return ID{}, fail(RuleIDInvalid, raw, "birth date %s is not a real date", birth)
	}
	if y < minBirthYear {
		return ID{}, fail(RuleIDInvalid, raw, "birth date %s is before %d", birth, minBirthYear)
	}
	if y >= 2000 && b.After(today()) { // no need to read the clock for earlier dates
		return ID{}, fail(RuleIDInvalid, raw, "birth date %s is in the future", birth)
	}
	sex := byte('F')
	if (sexDigit-'0')%2 == 1 {
		sex = 'M'
	}
	return ID{RegionCode: region, Birth: b, Sex: sex}, nil
}
