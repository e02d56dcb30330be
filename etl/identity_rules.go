package etl

import (
	"fmt"
	"strings"
)

// IdentityRules are the thresholds of identity resolution (ckm.yaml
// identity.*). The rules are explicit rather than Fellegi–Sunter weights:
// the generator's truth and real CRM data differ in how often each field
// agrees by chance, so weights fitted on one would be tuned to the other;
// explicit rules say in a sentence why two records are one customer, which
// is what a steward must check (ckm identity explain), and each threshold
// below has one meaning.
type IdentityRules struct {
	// IDTypoDigits is how many of the 17 body digits two valid ID numbers
	// may differ in and still be one person's (a clerk's typo), when they
	// meet on a shared mobile or e-mail and MinEvidence fields agree.
	// 0 means the default, 1; negative turns typo matching off.
	IDTypoDigits int
	// MinEvidence is how many of name, birth date and region must agree
	// for an ID typo to link (default 2: a name written in characters in
	// one row and in pinyin in the other does not match, the birth date and
	// region still do).
	MinEvidence int
	// MaxGapDays is how far in time a record whose only keys are shared by
	// several persons may be from a holder's use of the key and still join
	// that holder (default 730); beyond it the record stands alone.
	MaxGapDays int
	// TieEvidence is how many of name, birth date and region a record
	// carrying only a shared mobile or e-mail must agree in with one of its
	// holders, and in more than with the other, to join that holder when
	// time and channel leave the two tied (default 1: a web order shipped
	// to one holder's city); negative: ties always stand alone.
	TieEvidence int
}

// tieEvidence is TieEvidence as the orphan rule compares it: 4 (more
// than any record can agree in) when evidence is off.
func (r IdentityRules) tieEvidence() int {
	if r.TieEvidence < 0 {
		return 4
	}
	return r.TieEvidence
}

// withDefaults fills the zero thresholds.
func (r IdentityRules) withDefaults() IdentityRules {
	if r.IDTypoDigits == 0 {
		r.IDTypoDigits = 1
	}
	if r.MinEvidence == 0 {
		r.MinEvidence = 2
	}
	if r.MaxGapDays == 0 {
		r.MaxGapDays = 730
	}
	if r.TieEvidence == 0 {
		r.TieEvidence = 1
	}
	return r
}

// Check says what is wrong with the rules, naming the setting.
func (r IdentityRules) Check() error {
	switch {
	case r.IDTypoDigits > 3:
		return fmt.Errorf("identity.id_typo_digits %d: want at most 3 (more links strangers)", r.IDTypoDigits)
	case r.MinEvidence < 0 || r.MinEvidence > 3:
		return fmt.Errorf("identity.min_evidence %d: want 1 to 3 of name, birth date and region", r.MinEvidence)
	case r.MaxGapDays < 0:
		return fmt.Errorf("identity.max_gap_days %d: want 0 (default) or more", r.MaxGapDays)
	case r.TieEvidence > 3:
		return fmt.Errorf("identity.tie_evidence %d: want 1 to 3 of name, birth date and region (negative: off)", r.TieEvidence)
	}
	return nil
}

// idTypoSQL finds the pairs of valid ID numbers that are one person's:
// records sharing a mobile or e-mail (the blocking key) whose IDs differ in
// 1 to IDTypoDigits of the 17 body digits and whose name, birth date and
// region agree in MinEvidence fields or more. id_a < id_b.
func idTypoSQL(rules IdentityRules) string {
	agree := func(col string) string { return "coalesce(a." + col + " = b." + col + ", false)::INT" }
	return fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE id_typo AS
		WITH w AS (
			SELECT s.rec, s.idn, s.name_key, s.birth_in, s.region_in, e.kid
			FROM id_src s JOIN id_rk_all e USING (rec)
			WHERE e.weak AND s.idn IS NOT NULL AND length(s.idn) = 18)
		SELECT DISTINCT a.idn AS id_a, b.idn AS id_b
		FROM w a JOIN w b ON a.kid = b.kid AND a.idn < b.idn
		WHERE hamming(left(a.idn, 17), left(b.idn, 17)) BETWEEN 1 AND %d
			AND %s + %s + %s >= %d`, rules.IDTypoDigits, agree("name_key"), agree("birth_in"), agree("region_in"), rules.MinEvidence)
}

// fullWidth and halfWidth are the full-width Latin letters and ideographic
// space and their ASCII forms, for translate().
var fullWidth, halfWidth = func() (string, string) {
	var f, h strings.Builder
	for c := 'A'; c <= 'Z'; c++ {
		f.WriteRune(c - 'A' + 'Ａ')
		h.WriteRune(c)
		f.WriteRune(c - 'A' + 'ａ')
		h.WriteRune(c - 'A' + 'a')
	}
	f.WriteRune('\u3000')
	h.WriteRune(' ')
	return f.String(), h.String()
}()

// nameKeySQL is SQL for the comparable form of a name: full-width letters
// made ASCII, lower case, no spaces or dots ("ＺＨＡＮＧ　ＷＥＩ", "Zhang Wei"
// and "zhangwei" agree; characters and pinyin do not).
func nameKeySQL(col string) string {
	return fmt.Sprintf(`nullif(regexp_replace(lower(translate(%s, '%s', '%s')), '[\s.·]', '', 'g'), '')`, col, fullWidth, halfWidth)
}
