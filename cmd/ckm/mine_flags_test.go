package main

import (
	"strings"
	"testing"
)

// TestMineRejectsBadValues: a value the operator cannot honour is a usage
// error (exit 2) naming the flag, never silently the default and never raw
// SQL in a failure.
func TestMineRejectsBadValues(t *testing.T) {
	wh := mineWarehouse(t)
	cases := []struct {
		op    string
		flag  string
		value string
	}{
		{"rfm", "as-of", "0001-01-01"},
		{"rfm", "window-days", "-1"},
		{"clv", "as-of", "0001-01-01"},
		{"clv", "cohort-start", "0001-01-01"},
		{"clv", "holdout-end", "0001-01-01"},
		{"clv", "horizon-weeks", "0"},
		{"clv", "horizon-weeks", "NaN"},
		{"clv", "horizon-weeks", "Inf"},
		{"clv", "period-weeks", "0"},
		{"clv", "discount-rate", "Inf"},
		{"clv", "discount-rate", "NaN"},
		{"clv", "discount-rate", "-1"},
		{"clv", "margin", "0"},
		{"clv", "margin", "NaN"},
		{"churn", "as-of", "0001-01-01"},
		{"churn", "top-deciles", "0"},
		{"churn", "top-deciles", "11"},
		{"churn", "p-alive-drop", "0"},
		{"churn", "p-alive-drop", "NaN"},
		{"churn", "silence-factor", "0"},
		{"churn", "silence-factor", "-Inf"},
		{"churn", "clv-model", "-1"},
		{"lifecycle", "as-of", "0001-01-01"},
		{"lifecycle", "churn-days", "0"},
		{"lifecycle", "churn-days", "-5"},
		{"lifecycle", "p-alive", "0"},
		{"lifecycle", "p-alive", "1.5"},
		{"lifecycle", "p-alive", "NaN"},
		{"lifecycle", "distributor-amount", "-1"},
		{"lifecycle", "distributor-amount", "Inf"},
		{"profit", "as-of", "0001-01-01"},
		{"profit", "window-days", "-1"},
		{"profit", "service-cost", "NaN"},
		{"profit", "service-cost", "-1"},
		{"anomaly", "as-of", "0001-01-01"},
		{"anomaly", "period-days", "0"},
		{"anomaly", "history", "0"},
		{"anomaly", "min-history", "0"},
		{"anomaly", "z", "0"},
		{"anomaly", "z", "Inf"},
		{"anomaly", "jump", "0"},
		{"anomaly", "jump", "NaN"},
		{"anomaly", "min-change", "-1"},
		{"anomaly", "min-relative-change", "0"},
		{"anomaly", "min-relative-change", "NaN"},
	}
	for _, c := range cases {
		t.Run(c.op+" --"+c.flag+" "+c.value, func(t *testing.T) {
			_, stderr, code := runCkm(t, "", "mine", c.op, "--warehouse", wh, "--dry-run", "--"+c.flag, c.value)
			if code != exitUsage || !strings.Contains(stderr, "--"+c.flag) {
				t.Errorf("exit %d, stderr %q; want %d naming --%s", code, stderr, exitUsage, c.flag)
			}
			if strings.Contains(stderr, "SELECT") {
				t.Errorf("raw SQL in the error: %s", stderr)
			}
		})
	}
}

// TestMineBadValueFromEnv: a bad value from the environment is a usage
// error naming the flag too.
func TestMineBadValueFromEnv(t *testing.T) {
	wh := mineWarehouse(t)
	t.Setenv("CKM_MINE_CLV_HORIZON_WEEKS", "0")
	_, stderr, code := runCkm(t, "", "mine", "clv", "--warehouse", wh, "--dry-run")
	if code != exitUsage || !strings.Contains(stderr, "--horizon-weeks") {
		t.Errorf("exit %d, stderr %q; want %d naming --horizon-weeks", code, stderr, exitUsage)
	}
}
