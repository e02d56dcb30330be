package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
)

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchShellCmd(a, nil) })
}

// benchShellOptions are what ckm bench shell's flags resolve to.
type benchShellOptions struct {
	app       *app
	customers int // checked: at least 10
	runs      int // checked: at least 1
}

// shellStartGoalMS is the goal for shell start to first prompt.
const shellStartGoalMS = 300

func newBenchShellCmd(a *app, runF func(context.Context, *benchShellOptions) error) *cobra.Command {
	opts := &benchShellOptions{app: a}
	cmd := &cobra.Command{
		Use:   "shell",
		Short: "Time ckm sql from start to its first prompt on a terminal",
		Long: `Generate exports for --customers customers and load them into a scratch
warehouse, then start this ckm binary's shell (ckm sql --history off) on a
new pseudo-terminal --runs times, after one untimed start that warms the
file cache, and time each from the start of the process to the prompt
"ckm> " appearing on the terminal; Ctrl-D then ends it, which must exit 0.
Reports shell_start_ms (the median), the minimum, the maximum and every
run, against the goal of 300 ms.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.customers < 10 {
				return usageErrorf("--customers %d: want at least 10", opts.customers)
			}
			if opts.runs < 1 {
				return usageErrorf("--runs %d: want at least 1", opts.runs)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchShellRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.customers, "customers", 2000, "customers in the generated exports (the demo's size)")
	cmd.Flags().IntVar(&opts.runs, "runs", 10, "timed starts")
	return cmd
}

// shellStartResult is ckm bench shell's report.
type shellStartResult struct {
	ShellStartMS float64   `json:"shell_start_ms"` // median
	MinMS        float64   `json:"min_ms"`
	MaxMS        float64   `json:"max_ms"`
	RunsMS       []float64 `json:"runs_ms"`
	GoalMS       float64   `json:"goal_ms"`
	MeetsGoal    bool      `json:"meets_goal"`
	FactLines    int64     `json:"fact_sales_lines"`
	CPUs         int       `json:"cpus"`
}

func benchShellRun(ctx context.Context, o *benchShellOptions) error {
	a := o.app
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench shell: %w", err)
	}
	dir, err := os.MkdirTemp("", "ckm-bench-shell-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exports := filepath.Join(dir, "exports")
	if _, err := fixtures.Generate(ctx, fixtures.Options{Out: exports, Customers: o.customers, Seed: 1}); err != nil {
		return err
	}
	wh := filepath.Join(dir, "bench.duckdb")
	w, err := engine.Open(ctx, wh, engine.Options{})
	if err != nil {
		return err
	}
	if _, err := etl.Load(ctx, w, []string{exports}, etl.Options{}); err != nil {
		w.Close()
		return err
	}
	var lines int64
	w.DB.QueryRowContext(ctx, "SELECT count(*) FROM fact_sales").Scan(&lines)
	if err := w.Close(); err != nil {
		return err
	}
	res := shellStartResult{GoalMS: shellStartGoalMS, FactLines: lines, CPUs: runtime.NumCPU()}
	for i := -1; i < o.runs; i++ { // one start to warm up
		d, err := ShellStart(ctx, self, "sql", "--warehouse", wh, "--history", "off")
		if err != nil {
			return fmt.Errorf("bench shell: start %d: %w", i+2, err)
		}
		if i >= 0 {
			res.RunsMS = append(res.RunsMS, float64(d.Microseconds())/1000)
		}
	}
	sorted := slices.Sorted(slices.Values(res.RunsMS))
	res.ShellStartMS = medianFloat(sorted)
	res.MinMS, res.MaxMS = sorted[0], sorted[len(sorted)-1]
	res.MeetsGoal = res.ShellStartMS < shellStartGoalMS
	if a.format() == formatJSON {
		return writeJSON(a, res)
	}
	rows := [][]any{{"shell_start_ms", fmt.Sprintf("%.1f", res.ShellStartMS)}, {"min_ms", fmt.Sprintf("%.1f", res.MinMS)},
		{"max_ms", fmt.Sprintf("%.1f", res.MaxMS)}, {"goal_ms", shellStartGoalMS}, {"meets_goal", res.MeetsGoal}}
	if err := a.printTable([]string{"figure", "value"}, rows); err != nil {
		return err
	}
	a.logf("%d timed starts of ckm sql on a pseudo-terminal, over a warehouse of %d fact_sales lines; %d CPUs", o.runs, lines, res.CPUs)
	return nil
}

// ShellStart runs bin with args on a new pseudo-terminal of 120×40 as
// its controlling terminal and returns the time from starting the
// process to the prompt "ckm> " appearing on the terminal. It then types
// Ctrl-D and requires the process to exit 0 within 10 s.
func ShellStart(ctx context.Context, bin string, args ...string) (time.Duration, error) {
	master, tty, err := openPTY(120, 40)
	if err != nil {
		return 0, err
	}
	defer master.Close()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = ptyProcAttr()
	var mu sync.Mutex
	var screen bytes.Buffer
	prompt := make(chan time.Time, 1)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tty.Close()
		return 0, err
	}
	tty.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	go func() {
		buf := make([]byte, 4096)
		seen := false
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			if !seen && bytes.Contains(screen.Bytes(), []byte("ckm> ")) {
				seen = true
				prompt <- time.Now()
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	shown := func() string {
		mu.Lock()
		defer mu.Unlock()
		return screen.String()
	}
	var at time.Time
	select {
	case at = <-prompt:
	case err := <-exited:
		return 0, fmt.Errorf("%s exited before its prompt (%v):\n%s", bin, err, shown())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		return 0, fmt.Errorf("no prompt from %s after 30 s:\n%s", bin, shown())
	}
	if _, err := master.Write([]byte{4}); err != nil { // Ctrl-D
		cmd.Process.Kill()
		<-exited
		return 0, err
	}
	select {
	case err := <-exited:
		if err != nil {
			return 0, fmt.Errorf("%s after Ctrl-D: %v:\n%s", bin, err, shown())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
		return 0, fmt.Errorf("%s still running 10 s after Ctrl-D:\n%s", bin, shown())
	}
	return at.Sub(start), nil
}
