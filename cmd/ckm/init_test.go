package main

import (
	"context"
	"testing"

	"github.com/spf13/cobra"
)

// TestNewInitCmd checks what ckm init and ckm version parse, without a
// warehouse: init takes its warehouse from the flag or the environment, and
// neither takes arguments.
func TestNewInitCmd(t *testing.T) {
	var got *initOptions
	build := func(a *app) *cobra.Command {
		return newInitCmd(a, func(_ context.Context, o *initOptions) error { got = o; return nil })
	}
	t.Run("warehouse flag", func(t *testing.T) {
		if err := parseWith(t, nil, build, "--warehouse", "x.duckdb", "init"); err != nil {
			t.Fatal(err)
		}
		if p := got.app.warehousePath(); p != "x.duckdb" {
			t.Errorf("warehouse %q, want x.duckdb", p)
		}
	})
	t.Run("warehouse from the environment", func(t *testing.T) {
		t.Setenv("CKM_WAREHOUSE", "env.duckdb")
		if err := parseWith(t, nil, build, "init"); err != nil {
			t.Fatal(err)
		}
		if p := got.app.warehousePath(); p != "env.duckdb" {
			t.Errorf("warehouse %q, want env.duckdb", p)
		}
	})
	t.Run("an argument", func(t *testing.T) {
		wantUsageError(t, parseWith(t, nil, build, "init", "extra"), `unknown command "extra"`)
	})
	t.Run("bad format", func(t *testing.T) {
		wantUsageError(t, parseWith(t, nil, build, "init", "--format", "xml"), "--format")
	})
}

// TestNewVersionCmd checks that ckm version parses without a warehouse and
// takes no arguments.
func TestNewVersionCmd(t *testing.T) {
	ran := false
	build := func(a *app) *cobra.Command {
		return newVersionCmd(a, func(context.Context, *versionOptions) error { ran = true; return nil })
	}
	if err := parseWith(t, nil, build, "version"); err != nil || !ran {
		t.Fatalf("err %v, ran %v", err, ran)
	}
	wantUsageError(t, parseWith(t, nil, build, "version", "extra"), `unknown command "extra"`)
}
