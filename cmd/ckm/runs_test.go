package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestNewRejectsCmd checks what ckm rejects and ckm rejects summary parse
// their flags and environment into, without a warehouse.
func TestNewRejectsCmd(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want rejectsOptions
		err  string
	}{
		{"defaults", nil, []string{"rejects"}, rejectsOptions{role: "analyst", limit: 1000}, ""},
		{"flags", nil, []string{"rejects", "--role", "admin", "--run", "3", "--rule", "date_invalid", "--limit", "5"}, rejectsOptions{role: "admin", run: 3, rule: "date_invalid", limit: 5}, ""},
		{"environment, never the role", map[string]string{"CKM_REJECTS_RUN": "4", "CKM_LIMIT": "9", "CKM_ROLE": "admin"}, []string{"rejects"}, rejectsOptions{role: "analyst", run: 4, limit: 9}, ""},
		{"bad role", nil, []string{"rejects", "--role", "root"}, rejectsOptions{}, `--role "root"`},
		{"negative run", nil, []string{"rejects", "--run", "-1"}, rejectsOptions{}, "--run -1"},
		{"zero limit", nil, []string{"rejects", "--limit", "0"}, rejectsOptions{}, "--limit 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var got *rejectsOptions
			err := parseWith(t, nil, func(a *app) *cobra.Command {
				return newRejectsCmd(a, func(_ context.Context, o *rejectsOptions) error { got = o; return nil })
			}, c.args...)
			if c.err != "" {
				var ue usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want a usage error with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.app = nil
			if *got != c.want {
				t.Errorf("options %+v, want %+v", *got, c.want)
			}
		})
	}
	t.Run("summary --run", func(t *testing.T) {
		var got *rejectsSummaryOptions
		build := func(a *app) *cobra.Command {
			return newRejectsSummaryCmd(a, func(_ context.Context, o *rejectsSummaryOptions) error { got = o; return nil })
		}
		if err := parseWith(t, []string{"rejects"}, build, "rejects", "summary", "--run", "2"); err != nil || got.run != 2 {
			t.Errorf("err %v, options %+v; want run 2", err, got)
		}
		if err := parseWith(t, []string{"rejects"}, build, "rejects", "summary", "--run", "-2"); err == nil || !strings.Contains(err.Error(), "--run -2") {
			t.Errorf("--run -2: err %v, want a usage error", err)
		}
	})
}
