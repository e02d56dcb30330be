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

// parseCase is one command line of a parse test: its environment and
// arguments, and the options wanted or the text of the usage error.
type parseCase[O any] struct {
	name string
	env  map[string]string
	args []string
	want O
	err  string
}

// checkParse runs each case's command line (path followed by its args)
// through parseOpts and compares the options, after clear has removed what
// is not parsed (the app), or the usage error.
func checkParse[O comparable](t *testing.T, parent []string, newCmd func(*app, func(context.Context, *O) error) *cobra.Command,
	path []string, clear func(*O), cases []parseCase[O]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			got, err := parseOpts(t, parent, newCmd, append(append([]string{}, path...), c.args...)...)
			if c.err != "" {
				wantUsageError(t, err, c.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			clear(got)
			if *got != c.want {
				t.Errorf("options %+v, want %+v", *got, c.want)
			}
		})
	}
}
