package privacy

import (
	"fmt"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// checkDigit computes an ID's check digit the plain way (GB 11643).
func checkDigit(first17 string) byte {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * w[i]
	}
	return "10X98765432"[sum%11]
}

// bruteCandidates enumerates every ID the row allows, one by one.
func bruteCandidates(p IDPublished) int {
	n := 0
	var regions []string
	if p.Shown[:6] == "******" {
		panic("brute force wants a shown region")
	}
	regions = append(regions, p.Shown[:6])
	for _, r := range regions {
		for d := p.BirthFrom; !d.After(p.BirthTo); d = d.AddDate(0, 0, 1) {
			for s := 0; s < 1000; s++ {
				if p.Sex == "M" && s%2 == 0 || p.Sex == "F" && s%2 == 1 {
					continue
				}
				id17 := r + d.Format("20060102") + fmt.Sprintf("%03d", s)
				id := id17 + string(checkDigit(id17))
				ok := true
				for i := 0; i < 18; i++ {
					if p.Shown[i] != '*' && p.Shown[i] != id[i] {
						ok = false
					}
				}
				if ok {
					n++
				}
			}
		}
	}
	return n
}

func TestIDCandidates(t *testing.T) {
	const id = "11010519491231002X"
	cases := []struct {
		name string
		p    IDPublished
		want float64 // by hand; -1: only against brute force
	}{
		// Yesterday's lake: the old mask (first 6, last 4) hides only the
		// 8 birth-date digits, which the lake published beside it.
		{"old mask + birth date", IDPublished{Shown: "110105********002X", BirthFrom: day("1949-12-31"), BirthTo: day("1949-12-31"), Sex: "F"}, 1},
		// The new mask with the birth date and sex: 500 sequence numbers.
		{"new mask + birth date + sex", IDPublished{Shown: MaskID(id), BirthFrom: day("1949-12-31"), BirthTo: day("1949-12-31"), Sex: "M"}, 500},
		// The new mask with the birth year and sex: 365 days × 500.
		{"new mask + birth year + sex", IDPublished{Shown: MaskID(id), BirthFrom: day("1949-01-01"), BirthTo: day("1949-12-31"), Sex: "M"}, 182500},
		{"old mask + birth year", IDPublished{Shown: "110105********002X", BirthFrom: day("1949-01-01"), BirthTo: day("1949-12-31")}, -1},
		{"shown check digit + one month", IDPublished{Shown: "110105***********X", BirthFrom: day("1949-12-01"), BirthTo: day("1949-12-31"), Sex: "F"}, -1},
	}
	for _, c := range cases {
		got, err := IDCandidates(c.p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		brute := float64(bruteCandidates(c.p))
		if got != brute {
			t.Errorf("%s: IDCandidates = %.0f, brute force %.0f", c.name, got, brute)
		}
		if c.want >= 0 && got != c.want {
			t.Errorf("%s: IDCandidates = %.0f, want %.0f", c.name, got, c.want)
		}
	}
	// The old mask with the birth year leaves about 365 / 11 numbers:
	// fewer than k, so the check must refuse it.
	if err := CheckPublished("old", cases[3].p); err == nil {
		t.Error("CheckPublished accepts the old mask with the birth year")
	}
	if err := CheckPublished("new", cases[2].p); err != nil {
		t.Error(err)
	}
	// A hidden region digit counts 10 ways.
	one, _ := IDCandidates(IDPublished{Shown: "110105************", BirthFrom: day("1949-12-31"), BirthTo: day("1949-12-31"), Sex: "M"})
	ten, _ := IDCandidates(IDPublished{Shown: "11010*************", BirthFrom: day("1949-12-31"), BirthTo: day("1949-12-31"), Sex: "M"})
	if one != 500 || ten != 5000 {
		t.Errorf("region shown: %.0f, one region digit hidden: %.0f; want 500 and 5000", one, ten)
	}
	// A published region code fills the hidden digit; one that contradicts
	// the shown digits is an address's region and changes nothing.
	filled, _ := IDCandidates(IDPublished{Shown: "11010*************", RegionCode: "110105", BirthFrom: day("1949-12-31"), BirthTo: day("1949-12-31"), Sex: "M"})
	other, _ := IDCandidates(IDPublished{Shown: "110105************", RegionCode: "440304", BirthFrom: day("1949-12-31"), BirthTo: day("1949-12-31"), Sex: "M"})
	if filled != 500 || other != 500 {
		t.Errorf("region code filling a digit: %.0f, contradicting: %.0f; want 500 and 500", filled, other)
	}
}
