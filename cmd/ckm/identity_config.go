package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ckm-dev/ckm/etl"
)

// identityRules reads the thresholds of identity resolution from ckm.yaml:
//
//	identity:
//	  id_typo_digits: 1   # body digits two valid IDs may differ in (-1: off)
//	  min_evidence: 2     # of name, birth date, region that must agree
//	  max_gap_days: 730   # how far a record may be from a number's holder
//	  tie_evidence: 1     # of name, birth date, region settling a tie of holders (-1: off)
//
// A value that is not a whole number, or out of range, is a usage error
// naming the setting.
func (a *app) identityRules() (etl.IdentityRules, error) {
	var r etl.IdentityRules
	for _, s := range []struct {
		key string
		dst *int
	}{{"identity.id_typo_digits", &r.IDTypoDigits}, {"identity.min_evidence", &r.MinEvidence}, {"identity.max_gap_days", &r.MaxGapDays},
		{"identity.tie_evidence", &r.TieEvidence}} {
		v := a.cfg.Get(s.key)
		if v == nil {
			continue
		}
		n, ok := wholeNumber(v)
		if !ok {
			return r, usageErrorf("%s %v: want a whole number", s.key, v)
		}
		*s.dst = n
	}
	if err := r.Check(); err != nil {
		return r, usageError{fmt.Errorf("ckm.yaml: %w", err)}
	}
	return r, nil
}

// wholeNumber is a config value (YAML number or text) as an int.
func wholeNumber(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		return int(x), x == float64(int(x))
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}
