package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestPanicIsAnInternalError: a panic in a command reaches the user as
// "ckm: internal error: …" with exit 1, and the stack only with CKM_DEBUG=1.
func TestPanicIsAnInternalError(t *testing.T) {
	for _, debug := range []string{"", "1"} {
		t.Run("CKM_DEBUG="+debug, func(t *testing.T) {
			t.Setenv("CKM_DEBUG", debug)
			errFile, err := os.CreateTemp(t.TempDir(), "stderr")
			if err != nil {
				t.Fatal(err)
			}
			defer errFile.Close()
			root := newRootCmd(io.Discard, errFile)
			root.AddCommand(&cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error {
				panic("a bug in a command")
			}})
			root.SetArgs([]string{"boom"})
			code := execute(context.Background(), root, errFile)
			stderr, _ := os.ReadFile(errFile.Name())
			if code != exitFailure {
				t.Errorf("exit %d, want %d", code, exitFailure)
			}
			if !strings.HasPrefix(string(stderr), "ckm: internal error: a bug in a command") {
				t.Errorf("stderr does not start with the internal error:\n%s", stderr)
			}
			if hasStack := strings.Contains(string(stderr), "goroutine "); hasStack != (debug == "1") {
				t.Errorf("stack printed: %v, want %v:\n%s", hasStack, debug == "1", stderr)
			}
		})
	}
}
