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
