package main

import (
	"context"
	"slices"
	"testing"

	"github.com/spf13/cobra"
)

// TestNewCubeListCmd checks that ckm cube list parses without a warehouse
// and takes no arguments.
func TestNewCubeListCmd(t *testing.T) {
	ran := false
	build := func(a *app) *cobra.Command {
		return newCubeListCmd(a, func(context.Context, *cubeListOptions) error { ran = true; return nil })
	}
	if err := parseWith(t, []string{"cube"}, build, "cube", "list"); err != nil || !ran {
		t.Fatalf("err %v, ran %v", err, ran)
	}
	wantUsageError(t, parseWith(t, []string{"cube"}, build, "cube", "list", "sales"), `unknown command "sales"`)
}

// TestNewCubeShowCmd checks that ckm cube show takes exactly one cube name.
func TestNewCubeShowCmd(t *testing.T) {
	var got *cubeShowOptions
	build := func(a *app) *cobra.Command {
		return newCubeShowCmd(a, func(_ context.Context, o *cubeShowOptions) error { got = o; return nil })
	}
	if err := parseWith(t, []string{"cube"}, build, "cube", "show", "sales"); err != nil || got.cube != "sales" {
		t.Fatalf("err %v, options %+v; want cube sales", err, got)
	}
	wantUsageError(t, parseWith(t, []string{"cube"}, build, "cube", "show"), "accepts 1 arg")
	wantUsageError(t, parseWith(t, []string{"cube"}, build, "cube", "show", "a", "b"), "accepts 1 arg")
}

// TestNewCubeAdviseCmd checks what ckm cube advise parses its flags and
// environment into, without a warehouse.
func TestNewCubeAdviseCmd(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want cubeAdviseOptions
		err  string
	}{
		{"defaults", nil, []string{"sales"}, cubeAdviseOptions{cube: "sales", limit: 5}, ""},
		{"limit", nil, []string{"sales", "--limit", "2"}, cubeAdviseOptions{cube: "sales", limit: 2}, ""},
		{"limit from the environment", map[string]string{"CKM_CUBE_ADVISE_LIMIT": "7"}, []string{"sales"}, cubeAdviseOptions{cube: "sales", limit: 7}, ""},
		{"zero limit", nil, []string{"sales", "--limit", "0"}, cubeAdviseOptions{}, "--limit 0"},
		{"negative limit from the environment", map[string]string{"CKM_LIMIT": "-3"}, []string{"sales"}, cubeAdviseOptions{}, "--limit -3"},
		{"limit not a number", nil, []string{"sales", "--limit", "many"}, cubeAdviseOptions{}, "--limit"},
		{"no cube", nil, nil, cubeAdviseOptions{}, "accepts 1 arg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var got *cubeAdviseOptions
			err := parseWith(t, []string{"cube"}, func(a *app) *cobra.Command {
				return newCubeAdviseCmd(a, func(_ context.Context, o *cubeAdviseOptions) error { got = o; return nil })
			}, append([]string{"cube", "advise"}, c.args...)...)
			if c.err != "" {
				wantUsageError(t, err, c.err)
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
}

// TestNewCubeRefreshCmd checks that ckm cube refresh takes a cube and
// optionally the rollups to refresh.
func TestNewCubeRefreshCmd(t *testing.T) {
	var got *cubeRefreshOptions
	build := func(a *app) *cobra.Command {
		return newCubeRefreshCmd(a, func(_ context.Context, o *cubeRefreshOptions) error { got = o; return nil })
	}
	if err := parseWith(t, []string{"cube"}, build, "cube", "refresh", "sales"); err != nil || got.cube != "sales" || len(got.rollups) != 0 {
		t.Fatalf("err %v, options %+v; want cube sales, every rollup", err, got)
	}
	if err := parseWith(t, []string{"cube"}, build, "cube", "refresh", "sales", "by_day", "by_month"); err != nil || !slices.Equal(got.rollups, []string{"by_day", "by_month"}) {
		t.Fatalf("err %v, options %+v; want rollups by_day, by_month", err, got)
	}
	wantUsageError(t, parseWith(t, []string{"cube"}, build, "cube", "refresh"), "requires at least 1 arg")
}
