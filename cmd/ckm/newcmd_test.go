package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// parseWith runs args through the ckm command tree with the command at
// parent (the path below the root; nil: the root) that build makes put in
// place of the one of that name: flags, environment and config resolve as
// in ckm, and the built command's runF sees the parsed options. It returns
// the error the command line ends with.
func parseWith(t *testing.T, parent []string, build func(*app) *cobra.Command, args ...string) error {
	t.Helper()
	a := &app{cfg: viper.New(), stdout: io.Discard, stderr: io.Discard}
	root := newRoot(a)
	holder := root
	if len(parent) > 0 {
		var err error
		if holder, _, err = root.Find(parent); err != nil {
			t.Fatal(err)
		}
	}
	cmd := build(a)
	for _, c := range holder.Commands() {
		if c.Name() == cmd.Name() {
			holder.RemoveCommand(c)
		}
	}
	holder.AddCommand(cmd)
	root.SetArgs(args)
	return root.Execute()
}

// wantUsageError fails t unless err is a usage error (exit 2) whose message
// holds want.
func wantUsageError(t *testing.T, err error, want string) {
	t.Helper()
	var ue usageError
	if err == nil || !(errors.As(err, &ue) || isCobraUsage(err)) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want a usage error with %q", err, want)
	}
}

// parseOpts runs args through the ckm command tree with newCmd's command at
// parent (see parseWith) and returns the options its runF saw (nil when it
// did not run) and the error the command line ends with.
func parseOpts[O any](t *testing.T, parent []string, newCmd func(*app, func(context.Context, *O) error) *cobra.Command, args ...string) (*O, error) {
	t.Helper()
	var got *O
	err := parseWith(t, parent, func(a *app) *cobra.Command {
		return newCmd(a, func(_ context.Context, o *O) error { got = o; return nil })
	}, args...)
	return got, err
}
