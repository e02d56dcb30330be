package main

import (
	"context"
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
