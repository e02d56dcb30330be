package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/ckm-dev/ckm/etl"
)

// TestIdentityRulesFromConfig: ckm.yaml's identity.* reach the load's
// options; bad values are usage errors naming the setting.
func TestIdentityRulesFromConfig(t *testing.T) {
	a := &app{cfg: viper.New()}
	a.cfg.Set("identity.min_evidence", 3)
	a.cfg.Set("identity.max_gap_days", "365")
	a.cfg.Set("identity.tie_evidence", -1)
	lo, err := a.loadOptions(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if lo.Identity != (etl.IdentityRules{MinEvidence: 3, MaxGapDays: 365, TieEvidence: -1}) {
		t.Errorf("rules %+v", lo.Identity)
	}
	for key, v := range map[string]any{"identity.min_evidence": 7, "identity.max_gap_days": "two years", "identity.id_typo_digits": 9, "identity.tie_evidence": 5} {
		a := &app{cfg: viper.New()}
		a.cfg.Set(key, v)
		_, err := a.loadOptions(time.Time{})
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s = %v: error %v, want a usage error naming it", key, v, err)
		}
	}
}
