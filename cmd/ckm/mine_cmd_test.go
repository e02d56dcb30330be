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
