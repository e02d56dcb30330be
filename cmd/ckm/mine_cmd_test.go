package main

import (
	"context"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/mining"
)

// mineCase is one command line of a mine command and what it parses into:
// check reports what is wrong with the options, or err is the usage error
// expected.
type mineCase[O any] struct {
	name  string
	env   map[string]string
	args  []string
	check func(*O) string
	err   string
}

// testMineCmd runs the cases through ckm mine <op> without a warehouse.
func testMineCmd[O any](t *testing.T, op string, newCmd func(*app, func(ctx context.Context, o *O) error) *cobra.Command, cases []mineCase[O]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			got, err := parseOpts(t, []string{"mine"}, newCmd, append([]string{"mine", op}, c.args...)...)
			if c.err != "" {
				wantUsageError(t, err, c.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := c.check(got); msg != "" {
				t.Errorf("options %+v: %s", *got, msg)
			}
		})
	}
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestNewMineRFMCmd checks what ckm mine rfm parses its shared and own
// flags into.
func TestNewMineRFMCmd(t *testing.T) {
	testMineCmd(t, "rfm", newMineRFMCmd, []mineCase[mineRFMOptions]{
		{"defaults: as of the last purchase, all history", nil, nil, func(o *mineRFMOptions) string {
			if o.RFMOptions != (mining.RFMOptions{}) {
				return "want the zero options"
			}
			return ""
		}, ""},
		{"every flag", nil, []string{"--as-of", "2024-06-30", "--window-days", "90", "--source", "s", "--customer-col", "c",
			"--time-col", "t", "--amount-col", "m", "--name", "n", "--dry-run"}, func(o *mineRFMOptions) string {
			want := mining.RFMOptions{Source: mining.Source{Table: "s", Customer: "c", Time: "t", Amount: "m"},
				AsOf: day("2024-06-30"), WindowDays: 90, Name: "n", DryRun: true}
			if o.RFMOptions != want {
				return "want every flag set"
			}
			return ""
		}, ""},
		{"environment, never --dry-run", map[string]string{"CKM_MINE_RFM_WINDOW_DAYS": "30", "CKM_AS_OF": "2024-01-02", "CKM_DRY_RUN": "true"}, nil,
			func(o *mineRFMOptions) string {
				if o.WindowDays != 30 || !o.AsOf.Equal(day("2024-01-02")) || o.DryRun {
					return "want window 30, as of 2024-01-02, not a dry run"
				}
				return ""
			}, ""},
		{"negative window", nil, []string{"--window-days", "-1"}, nil, "--window-days -1"},
		{"window not a number", nil, []string{"--window-days", "x"}, nil, "--window-days"},
		{"bad as-of", nil, []string{"--as-of", "2024-13-01"}, nil, `--as-of "2024-13-01"`},
		{"zero as-of", nil, []string{"--as-of", "0001-01-01"}, nil, "--as-of 0001-01-01"},
		{"bad as-of from the environment", map[string]string{"CKM_MINE_RFM_AS_OF": "yesterday"}, nil, nil, `--as-of "yesterday"`},
		{"an argument", nil, []string{"extra"}, nil, `unknown command "extra"`},
	})
}

// TestNewMineCLVCmd checks what ckm mine clv parses its flags into.
func TestNewMineCLVCmd(t *testing.T) {
	testMineCmd(t, "clv", newMineCLVCmd, []mineCase[mineCLVOptions]{
		{"defaults", nil, nil, func(o *mineCLVOptions) string {
			if !o.AsOf.IsZero() || !o.CohortStart.IsZero() || !o.HoldoutEnd.IsZero() || o.HorizonWeeks != 52 ||
				o.PeriodWeeks != 365.25/12/7 || o.AnnualDiscountRate != 0.10 || o.Margin != 1 {
				return "want no dates, 52 weeks, monthly periods, 10 %, margin 1"
			}
			return ""
		}, ""},
		{"flags", nil, []string{"--as-of", "2024-06-30", "--cohort-start", "2023-01-01", "--holdout-end", "2024-12-31",
			"--horizon-weeks", "26", "--period-weeks", "4", "--discount-rate", "0", "--margin", "0.3", "--name", "n"},
			func(o *mineCLVOptions) string {
				if !o.AsOf.Equal(day("2024-06-30")) || !o.CohortStart.Equal(day("2023-01-01")) || !o.HoldoutEnd.Equal(day("2024-12-31")) ||
					o.HorizonWeeks != 26 || o.PeriodWeeks != 4 || o.AnnualDiscountRate != 0 || o.Margin != 0.3 || o.Name != "n" {
					return "want every flag set"
				}
				return ""
			}, ""},
		{"environment", map[string]string{"CKM_MINE_CLV_HORIZON_WEEKS": "13", "CKM_HOLDOUT_END": "2025-01-31"}, nil,
			func(o *mineCLVOptions) string {
				if o.HorizonWeeks != 13 || !o.HoldoutEnd.Equal(day("2025-01-31")) {
					return "want horizon 13, holdout end 2025-01-31"
				}
				return ""
			}, ""},
		{"zero horizon", nil, []string{"--horizon-weeks", "0"}, nil, "--horizon-weeks 0"},
		{"NaN margin", nil, []string{"--margin", "NaN"}, nil, "--margin NaN"},
		{"discount rate -1", nil, []string{"--discount-rate", "-1"}, nil, "--discount-rate -1"},
		{"bad cohort start", nil, []string{"--cohort-start", "2023/01/01"}, nil, "--cohort-start"},
		{"zero holdout end", nil, []string{"--holdout-end", "0001-01-01"}, nil, "--holdout-end"},
	})
}

// TestNewMineProfitCmd checks what ckm mine profit parses its flags into,
// --cost-col among them.
func TestNewMineProfitCmd(t *testing.T) {
	testMineCmd(t, "profit", newMineProfitCmd, []mineCase[mineProfitOptions]{
		{"defaults", nil, nil, func(o *mineProfitOptions) string {
			if o.ProfitOptions != (mining.ProfitOptions{}) {
				return "want the zero options"
			}
			return ""
		}, ""},
		{"flags", nil, []string{"--cost-col", "cost", "--window-days", "365", "--service-cost", "2.5", "--as-of", "2024-06-30"},
			func(o *mineProfitOptions) string {
				if o.Source.Cost != "cost" || o.WindowDays != 365 || o.ServiceCostPerInteraction != 2.5 || !o.AsOf.Equal(day("2024-06-30")) {
					return "want cost column, 365 days, service cost 2.5, as of 2024-06-30"
				}
				return ""
			}, ""},
		{"environment", map[string]string{"CKM_MINE_PROFIT_SERVICE_COST": "1.5"}, nil, func(o *mineProfitOptions) string {
			if o.ServiceCostPerInteraction != 1.5 {
				return "want service cost 1.5"
			}
			return ""
		}, ""},
		{"negative service cost", nil, []string{"--service-cost", "-1"}, nil, "--service-cost -1"},
		{"negative window", nil, []string{"--window-days", "-7"}, nil, "--window-days -7"},
		{"Inf service cost from the environment", map[string]string{"CKM_SERVICE_COST": "Inf"}, nil, nil, "--service-cost +Inf"},
	})
}

// TestNewMineAnomalyCmd checks what ckm mine anomaly parses its flags into.
func TestNewMineAnomalyCmd(t *testing.T) {
	testMineCmd(t, "anomaly", newMineAnomalyCmd, []mineCase[mineAnomalyOptions]{
		{"defaults", nil, nil, func(o *mineAnomalyOptions) string {
			want := mining.AnomalyOptions{PeriodDays: 30, HistoryPeriods: 12, MinHistory: 4, ZThreshold: 3.5, JumpFactor: 3, MinRelativeChange: 0.25}
			if o.AnomalyOptions != want {
				return "want the documented defaults"
			}
			return ""
		}, ""},
		{"flags", nil, []string{"--period-days", "7", "--history", "8", "--min-history", "2", "--z", "2.5", "--jump", "4", "--min-change", "100", "--min-relative-change", "0.5"},
			func(o *mineAnomalyOptions) string {
				want := mining.AnomalyOptions{PeriodDays: 7, HistoryPeriods: 8, MinHistory: 2, ZThreshold: 2.5, JumpFactor: 4, MinChange: 100, MinRelativeChange: 0.5}
				if o.AnomalyOptions != want {
					return "want every flag set"
				}
				return ""
			}, ""},
		{"environment", map[string]string{"CKM_MINE_ANOMALY_Z": "5"}, nil, func(o *mineAnomalyOptions) string {
			if o.ZThreshold != 5 {
				return "want z 5"
			}
			return ""
		}, ""},
		{"zero period", nil, []string{"--period-days", "0"}, nil, "--period-days 0"},
		{"zero history", nil, []string{"--history", "0"}, nil, "--history 0"},
		{"zero z", nil, []string{"--z", "0"}, nil, "--z 0"},
		{"NaN jump", nil, []string{"--jump", "NaN"}, nil, "--jump NaN"},
		{"negative min change", nil, []string{"--min-change", "-1"}, nil, "--min-change -1"},
		{"zero relative change", nil, []string{"--min-relative-change", "0"}, nil, "--min-relative-change 0"},
	})
}

// TestNewMineChurnCmd checks what ckm mine churn parses its flags into.
func TestNewMineChurnCmd(t *testing.T) {
	testMineCmd(t, "churn", newMineChurnCmd, []mineCase[mineChurnOptions]{
		{"defaults: the latest clv model", nil, nil, func(o *mineChurnOptions) string {
			want := mining.ChurnOptions{TopDeciles: 3, MinPAliveDrop: 0.2, SilenceFactor: 2}
			if o.ChurnOptions != want {
				return "want the documented defaults"
			}
			return ""
		}, ""},
		{"flags", nil, []string{"--clv-model", "4", "--top-deciles", "10", "--p-alive-drop", "1", "--silence-factor", "3", "--as-of", "2024-06-30"},
			func(o *mineChurnOptions) string {
				want := mining.ChurnOptions{CLVModel: 4, TopDeciles: 10, MinPAliveDrop: 1, SilenceFactor: 3, AsOf: day("2024-06-30")}
				if o.ChurnOptions != want {
					return "want every flag set"
				}
				return ""
			}, ""},
		{"environment", map[string]string{"CKM_MINE_CHURN_CLV_MODEL": "9"}, nil, func(o *mineChurnOptions) string {
			if o.CLVModel != 9 {
				return "want clv model 9"
			}
			return ""
		}, ""},
		{"negative clv model", nil, []string{"--clv-model", "-1"}, nil, "--clv-model -1"},
		{"zero deciles", nil, []string{"--top-deciles", "0"}, nil, "--top-deciles 0"},
		{"eleven deciles", nil, []string{"--top-deciles", "11"}, nil, "--top-deciles 11"},
		{"drop above 1", nil, []string{"--p-alive-drop", "1.5"}, nil, "--p-alive-drop 1.5"},
		{"zero silence", nil, []string{"--silence-factor", "0"}, nil, "--silence-factor 0"},
	})
}

// TestNewMineLifecycleCmd checks what ckm mine lifecycle parses its flags
// into; --force, like --dry-run, only from the command line.
func TestNewMineLifecycleCmd(t *testing.T) {
	testMineCmd(t, "lifecycle", newMineLifecycleCmd, []mineCase[mineLifecycleOptions]{
		{"defaults", nil, nil, func(o *mineLifecycleOptions) string {
			want := mining.LifecycleOptions{ChurnDays: 365, PAliveThreshold: 0.5}
			if o.LifecycleOptions != want || o.force {
				return "want the documented defaults, not forced"
			}
			return ""
		}, ""},
		{"flags", nil, []string{"--churn-days", "180", "--clv-model", "2", "--p-alive", "0.3", "--distributor-amount", "50000", "--force", "--dry-run", "--as-of", "2024-06-30"},
			func(o *mineLifecycleOptions) string {
				want := mining.LifecycleOptions{ChurnDays: 180, CLVModel: 2, PAliveThreshold: 0.3, DistributorMinAmount: 50000, DryRun: true, AsOf: day("2024-06-30")}
				if o.LifecycleOptions != want || !o.force {
					return "want every flag set, forced"
				}
				return ""
			}, ""},
		{"environment, never --force", map[string]string{"CKM_MINE_LIFECYCLE_CHURN_DAYS": "90", "CKM_FORCE": "true"}, nil,
			func(o *mineLifecycleOptions) string {
				if o.ChurnDays != 90 || o.force {
					return "want churn days 90, not forced"
				}
				return ""
			}, ""},
		{"zero churn days", nil, []string{"--churn-days", "0"}, nil, "--churn-days 0"},
		{"p-alive above 1", nil, []string{"--p-alive", "2"}, nil, "--p-alive 2"},
		{"negative distributor amount", nil, []string{"--distributor-amount", "-5"}, nil, "--distributor-amount -5"},
		{"zero as-of", nil, []string{"--as-of", "0001-01-01"}, nil, "--as-of 0001-01-01"},
	})
}
