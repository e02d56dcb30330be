package privacy

import (
	"errors"
	"fmt"
	"time"
)

// IDPublished is what a published row tells about an 18-digit resident ID
// number: its mask (or the old mask, or nothing) and the attributes
// published beside it that are derived from it — the birth date or a
// range of it (a year, an age band), the sex and the region code.
type IDPublished struct {
	// Shown is the published ID number, 18 characters with '*' where a
	// character is hidden; "" when no ID number is published.
	Shown string
	// BirthFrom and BirthTo bound the birth date the row publishes (equal
	// for a published date; a year for a birth year); zero when unknown.
	BirthFrom, BirthTo time.Time
	// Sex is "M" or "F" when published.
	Sex string
	// RegionCode is the published 6-digit region code, "" when unknown;
	// it counts as the ID's region only where it fits the shown digits.
	RegionCode string
}

// MinIDCandidates is the fewest ID numbers a published row may leave
// possible (k-anonymity of the ID number within its row).
const MinIDCandidates = 1000

// idWeights are the weights of the 17 digits in the check digit (GB 11643).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// Earliest and latest birth dates an 18-digit ID can hold (its century
// digits are 18, 19 or 20).
var (
	idFirstBirth = time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
	idLastBirth  = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
)

// IDCandidates counts the 18-digit ID numbers consistent with everything
// the row publishes: the shown characters, the birth-date range, the sex
// (the parity of the 17th digit) and the check digit when shown. Hidden
// region digits count 10 each (an upper bound; ckm's masks show them).
// Adding a published attribute can only shrink the count, so the count
// with all of a row's attributes is the least over every combination of
// them.
func IDCandidates(p IDPublished) (float64, error) {
	shown := p.Shown
	if shown == "" {
		shown = "******************"
	}
	if len(shown) != 18 {
		return 0, fmt.Errorf("published ID %q: want 18 characters ('*' hidden)", p.Shown)
	}
	region := []byte(shown[:6])
	if len(p.RegionCode) == 6 && regionAgrees(shown[:6], p.RegionCode) {
		// The published region code fills hidden region digits; one that
		// contradicts the shown digits is not the ID's (an address's
		// region) and tells nothing about it.
		for i := range region {
			region[i] = p.RegionCode[i]
		}
	}
	regionSum := 0
	var regionDist [11]float64
	regionDist[0] = 1
	for i, c := range region {
		if c == '*' {
			regionDist = spread(regionDist, idWeights[i])
			continue
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("published ID %q: region digit %q", p.Shown, c)
		}
		regionSum += int(c-'0') * idWeights[i]
	}

	from, to := p.BirthFrom, p.BirthTo
	if from.IsZero() || from.Before(idFirstBirth) {
		from = idFirstBirth
	}
	if to.IsZero() || to.After(idLastBirth) {
		to = idLastBirth
	}
	var dateDist [11]float64
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		digits := d.Format("20060102")
		sum, ok := 0, true
		for i := 0; i < 8; i++ {
			c := shown[6+i]
			if c != '*' && c != digits[i] {
				ok = false
				break
			}
			sum += int(digits[i]-'0') * idWeights[6+i]
		}
		if ok {
			dateDist[sum%11]++
		}
	}

	var seqDist [11]float64
	for n := 0; n < 1000; n++ {
		digits := fmt.Sprintf("%03d", n)
		if p.Sex == "M" && (digits[2]-'0')%2 == 0 || p.Sex == "F" && (digits[2]-'0')%2 == 1 {
			continue
		}
		sum, ok := 0, true
		for i := 0; i < 3; i++ {
			c := shown[14+i]
			if c != '*' && c != digits[i] {
				ok = false
				break
			}
			sum += int(digits[i]-'0') * idWeights[14+i]
		}
		if ok {
			seqDist[sum%11]++
		}
	}

	check := shown[17]
	if check == 'x' {
		check = 'X'
	}
	total := 0.0
	for r := 0; r < 11; r++ {
		if regionDist[r] == 0 {
			continue
		}
		for a := 0; a < 11; a++ {
			for b := 0; b < 11; b++ {
				n := regionDist[r] * dateDist[a] * seqDist[b]
				if n == 0 {
					continue
				}
				if check != '*' && idCheckChars[(regionSum+r+a+b)%11] != check {
					continue
				}
				total += n
			}
		}
	}
	return total, nil
}

// regionAgrees reports whether a region code fits the shown region digits.
func regionAgrees(shown, code string) bool {
	for i := 0; i < 6; i++ {
		if shown[i] != '*' && shown[i] != code[i] {
			return false
		}
	}
	return true
}

// spread adds one hidden digit of the given weight to a distribution of
// weighted sums mod 11.
func spread(dist [11]float64, weight int) [11]float64 {
	var out [11]float64
	for r, n := range dist {
		if n == 0 {
			continue
		}
		for d := 0; d < 10; d++ {
			out[(r+d*weight)%11] += n
		}
	}
	return out
}

// ErrReidentifies is returned (wrapped) by CheckPublished when a row leaves
// fewer than MinIDCandidates ID numbers.
var ErrReidentifies = errors.New("published attributes narrow an ID number")

// CheckPublished returns an error naming the row if p leaves fewer than
// MinIDCandidates ID numbers possible.
func CheckPublished(row string, p IDPublished) error {
	n, err := IDCandidates(p)
	if err != nil {
		return fmt.Errorf("%s: %w", row, err)
	}
	if n < MinIDCandidates {
		return fmt.Errorf("%s: %w to %.0f candidates (at least %d wanted): %+v", row, ErrReidentifies, n, MinIDCandidates, p)
	}
	return nil
}
