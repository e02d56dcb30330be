package clean

import (
	"regexp"
	"strconv"
	"testing"
)

func TestMobile(t *testing.T) {
	tests := []struct {
		in, want, rule string
	}{
		// The dirty forms of fixtures/FORMATS.md.
		{"13800138000", "+8613800138000", ""},
		{"+86 138-0013-8000", "+8613800138000", ""},
		{"0086 13800138000", "+8613800138000", ""},
		{"138 0013 8000", "+8613800138000", ""},
		{"１３８００１３８０００", "+8613800138000", ""},
		{"17951 13800138000", "+8613800138000", ""},
		{"8613800138000", "+8613800138000", ""},
		{"+8613800138000", "+8613800138000", ""},
		{"(+86) 138.0013.8000", "+8613800138000", ""},
		{"＋８６　１３８－００１３－８０００", "+8613800138000", ""},
		{"17911-139-1234-5678", "+8613912345678", ""},
		{"12593 15012345678", "+8615012345678", ""},
		{"17909 18912345678", "+8618912345678", ""},
		{"10193 19912345678", "+8619912345678", ""},
		{" 13800138000 ", "+8613800138000", ""},
		// Ranges at the edges of libphonenumber's pattern.
		{"14512345678", "+8614512345678", ""},
		{"14712345678", "+8614712345678", ""},
		{"14612345678", "", RuleMobileInvalid},
		{"15412345678", "", RuleMobileInvalid},
		{"16212345678", "+8616212345678", ""},
		{"16812345678", "", RuleMobileInvalid},
		{"17012345678", "+8617012345678", ""},
		{"17401234567", "+8617401234567", ""},
		{"17406234567", "", RuleMobileInvalid},
		{"17912345678", "", RuleMobileInvalid},
		{"19212345678", "+8619212345678", ""},
		{"19412345678", "", RuleMobileInvalid},
		{"12345678901", "", RuleMobileInvalid},
		// Not mobiles.
		{"010-12345678", "", RuleMobileInvalid},
		{"1380013800", "", RuleMobileInvalid},
		{"138001380001", "", RuleMobileInvalid},
		{"+1 415 555 2671", "", RuleMobileInvalid},
		{"+44 13800138000", "", RuleMobileInvalid},
		{"13800138000 ext 1", "", RuleMobileInvalid},
		{"138O0138000", "", RuleMobileInvalid},
		{"17951 1380013800", "", RuleMobileInvalid},
		{"99999 13800138000", "", RuleMobileInvalid},
		{"86 86 13800138000", "", RuleMobileInvalid},
		{"1380013800+0", "", RuleMobileInvalid},
		{"", "", RuleMobileMissing},
		{"　", "", RuleMobileMissing},
	}
	for _, tc := range tests {
		got, err := Mobile(tc.in)
		if RuleOf(err) != tc.rule || got != tc.want {
			t.Errorf("Mobile(%q) = %q, %v; want %q, rule %q", tc.in, got, err, tc.want, tc.rule)
		}
	}
}

// libphonenumberCNMobile is the CN mobile nationalNumberPattern of
// libphonenumber's PhoneNumberMetadata.xml, as a regexp.
var libphonenumberCNMobile = regexp.MustCompile(`^(?:1740[0-5]\d{6}|1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8})$`)

// TestIsCNMobileMatchesLibphonenumber compares IsCNMobile with the regexp
// over every 5-digit prefix (the pattern decides on at most 5 digits).
func TestIsCNMobileMatchesLibphonenumber(t *testing.T) {
	for p := 10000; p < 20000; p++ {
		for _, tail := range []string{"000000", "999999", "123456"} {
			n := strconv.Itoa(p) + tail
			if got, want := IsCNMobile(n), libphonenumberCNMobile.MatchString(n); got != want {
				t.Fatalf("IsCNMobile(%s) = %v, libphonenumber pattern says %v", n, got, want)
			}
		}
	}
}
