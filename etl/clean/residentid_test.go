package clean

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// fixClock pins "today" for the duration of a test.
func fixClock(t testing.TB, day string) {
	t.Helper()
	d, err := time.ParseInLocation("2006-01-02 15:04", day, chinaTime)
	if err != nil {
		t.Fatal(err)
	}
	old := now
	now = func() time.Time { return d }
	t.Cleanup(func() { now = old })
}

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

func TestResidentID(t *testing.T) {
	fixClock(t, "2024-12-31 12:00")
	tests := []struct {
		name, in string
		want     ID
		rule     string
	}{
		// GB 11643-1999's own examples.
		{"standard example", "11010519491231002X", ID{"11010519491231002X", "110105", date(1949, 12, 31), 'F'}, ""},
		{"born 1880", "440524188001010014", ID{"440524188001010014", "440524", date(1880, 1, 1), 'M'}, ""},
		{"lowercase x", "11010519491231002x", ID{"11010519491231002X", "110105", date(1949, 12, 31), 'F'}, ""},
		{"padded", "  11010519491231002X\t", ID{"11010519491231002X", "110105", date(1949, 12, 31), 'F'}, ""},
		{"full-width", "１１０１０５１９４９１２３１００２Ｘ", ID{"11010519491231002X", "110105", date(1949, 12, 31), 'F'}, ""},
		{"full-width lowercase x", "１１０１０５１９４９１２３１００２ｘ", ID{"11010519491231002X", "110105", date(1949, 12, 31), 'F'}, ""},
		{"15-digit upgraded", "110105491231002", ID{"11010519491231002X", "110105", date(1949, 12, 31), 'F'}, ""},
		// Sequence 996–999 are centenarians: century 18. Check char by hand:
		// 440524 18 800101 996 → see TestCheckCharIndependent.
		{"15-digit centenarian", "440524800101996", ID{"44052418800101996" + string(CheckChar("44052418800101996")), "440524", date(1880, 1, 1), 'F'}, ""},
		{"15-digit man", "440524800101001", ID{"44052419800101001" + string(CheckChar("44052419800101001")), "440524", date(1980, 1, 1), 'M'}, ""},
		{"wrong check digit", "110105194912310021", ID{}, RuleIDChecksum},
		{"wrong check X", "44052418800101001X", ID{}, RuleIDChecksum},
		{"impossible date", "110105202302300011", ID{}, RuleIDInvalid},
		{"month 13", "110105194913310020", ID{}, RuleIDInvalid},
		{"future birth", "110105202506010011", ID{}, RuleIDInvalid},
		{"before 1850", "110105184912310020", ID{}, RuleIDInvalid},
		{"15-digit impossible date", "110105490230002", ID{}, RuleIDInvalid},
		{"17 digits", "11010519491231002", ID{}, RuleIDInvalid},
		{"19 digits", "11010519491231002X1", ID{}, RuleIDInvalid},
		{"X in the middle", "1101051949123100X2", ID{}, RuleIDInvalid},
		{"X in 15 digits", "11010549123100X", ID{}, RuleIDInvalid},
		{"region 0", "010105194912310028", ID{}, RuleIDInvalid},
		{"scientific notation", "1.10105E+17", ID{}, RuleIDInvalid},
		{"blank", "  ", ID{}, RuleIDMissing},
		{"letters", "ABCDEFGHIJKLMNOPQR", ID{}, RuleIDInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResidentID(tc.in)
			if tc.rule != "" {
				if RuleOf(err) != tc.rule {
					t.Fatalf("ResidentID(%q) = %+v, %v; want rule %s", tc.in, got, err, tc.rule)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResidentID(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ResidentID(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestResidentIDToday(t *testing.T) {
	// Born today (China time) is allowed; tomorrow is not. At 2024-12-31
	// 20:00 UTC it is already 2025-01-01 in China.
	fixClock(t, "2025-01-01 04:00")
	today := "11010520250101" + "001"
	if _, err := ResidentID(today + string(CheckChar(today))); err != nil {
		t.Errorf("born today: %v", err)
	}
	tomorrow := "11010520250102" + "001"
	if _, err := ResidentID(tomorrow + string(CheckChar(tomorrow))); RuleOf(err) != RuleIDInvalid {
		t.Errorf("born tomorrow: %v, want id_invalid", err)
	}
}

// checkCharRecursive is ISO 7064 MOD 11-2 in its recursive form (the
// standard's pure-system algorithm), independent of the weight table.
func checkCharRecursive(first17 string) byte {
	p := 0
	for i := 0; i < len(first17); i++ {
		p = ((p + int(first17[i]-'0')) * 2) % 11
	}
	c := (12 - p) % 11
	if c == 10 {
		return 'X'
	}
	return byte('0' + c)
}

func TestCheckCharIndependent(t *testing.T) {
	if got := CheckChar("11010519491231002"); got != 'X' {
		t.Errorf("CheckChar(11010519491231002) = %c, want X", got)
	}
	if got := CheckChar("44052418800101001"); got != '4' {
		t.Errorf("CheckChar(44052418800101001) = %c, want 4", got)
	}
	for _, bad := range []string{"", "1101051949123100", "1101051949123100X", "110105194912310021"} {
		if got := CheckChar(bad); got != 0 {
			t.Errorf("CheckChar(%q) = %q, want 0", bad, got)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		s := strconv.FormatUint(r.Uint64N(9e16)+1e16, 10)
		if a, b := CheckChar(s), checkCharRecursive(s); a != b {
			t.Fatalf("CheckChar(%s) = %c, recursive form gives %c", s, a, b)
		}
	}
}
