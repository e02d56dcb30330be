// Command ckm is the customer knowledge warehouse: ETL of customer channel
// exports into an embedded DuckDB star schema, OLAP cubes, in-process mining
// and a Parquet lake for BI tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/ckm-dev/ckm/engine"
	"github.com/spf13/cobra"
)

func main() {
	root := newRootCmd(os.Stdout, os.Stderr)
	tuneMalloc(os.Getenv("GLIBC_TUNABLES"), root, os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first signal cancels the command, which then stops, rolls
		// back and exits; a second one kills ckm at once.
		<-ctx.Done()
		stop()
	}()
	if path := os.Getenv("CKM_CPUPROFILE"); path != "" {
		// For performance work: a CPU profile of the whole command.
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	code := execute(ctx, root, os.Stderr)
	pprof.StopCPUProfile()
	os.Exit(code)
}

// execute runs the command line of root, reports its error on stderr and
// returns the exit code. A panic in the command (a bug) is reported as an
// internal error with exit 1; the deferred cleanups of the command have run
// by then, so an open transaction is rolled back. The stack is printed only
// with CKM_DEBUG=1.
func execute(ctx context.Context, root *cobra.Command, stderr *os.File) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "ckm: internal error: %v\n", p)
			if os.Getenv("CKM_DEBUG") == "1" {
				stderr.Write(debug.Stack())
			} else {
				fmt.Fprintln(stderr, "(this is a bug in ckm; run with CKM_DEBUG=1 for the stack trace)")
			}
			code = exitFailure
		}
	}()
	err := root.ExecuteContext(ctx)
	if err != nil && ctx.Err() != nil && !errors.Is(err, errRejected) {
		err = asCancelled(err)
	}
	return exitCode(err, stderr)
}

// Exit codes of the CLI contract.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitRejected = 3
	// exitCancelled is a command stopped by SIGINT or SIGTERM, the code a
	// shell gives a command ended by SIGINT.
	exitCancelled = 130
)

// usageError marks an error in how ckm was called (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errRejected reports a command that finished but rejected rows (exit 3);
// its message has been printed already.
var errRejected = errors.New("finished with rejected rows")

// cancelledError reports a command stopped by SIGINT or SIGTERM (exit 130).
type cancelledError struct{ msg string }

func (e cancelledError) Error() string { return e.msg }

// asCancelled turns the error of a command whose context was cancelled into
// a cancelledError, unless it is one already.
func asCancelled(err error) error {
	var ce cancelledError
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return cancelledError{"cancelled"}
	}
	return cancelledError{"cancelled: " + err.Error()}
}

func exitCode(err error, stderr *os.File) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errRejected) {
		return exitRejected
	}
	fmt.Fprintln(stderr, "ckm:", err)
	var ce cancelledError
	if errors.As(err, &ce) {
		return exitCancelled
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailure
}

// isCobraUsage recognises the argument and flag errors cobra itself returns.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "required flag", "invalid argument", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// tuneMalloc tunes the C library's malloc, from which DuckDB's own objects
// come (engine.TuneMalloc), unless tunables (GLIBC_TUNABLES) set malloc's
// knobs themselves or args run one of the benchmarks' peers (a command
// marked peerAnnotation); it tells whether it did.
func tuneMalloc(tunables string, root *cobra.Command, args []string) bool {
	if strings.Contains(tunables, "glibc.malloc.") {
		return false
	}
	if c, _, err := root.Find(args); err == nil && c.Annotations[peerAnnotation] == "true" {
		return false
	}
	return engine.TuneMalloc()
}

// peerAnnotation marks the hidden commands that are a benchmark's peer
// (ckm bench etl's bench-raw-go and bench-raw-load). They run with glibc's
// malloc as it comes, as a program of their own would: they run from
// ckm's binary, and ckm's earlier knobs (mmap from 256 KiB) had slowed
// them too — the plain CSV's read_csv 3.08–3.63 s with those against
// 2.47–2.50 s with glibc's defaults (and 2.44–2.51 s with today's knobs).
const peerAnnotation = "ckm-bench-peer"
