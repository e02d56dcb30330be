package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// benchPrivacyOptions are what ckm bench privacy's flags resolve to.
type benchPrivacyOptions struct {
	app *app
	benchWorld
}

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchPrivacyCmd(a, nil) })
}

// newBenchPrivacyCmd builds ckm bench privacy; runF, when not nil, runs
// instead of benchPrivacyRun with the parsed options.
func newBenchPrivacyCmd(a *app, runF func(context.Context, *benchPrivacyOptions) error) *cobra.Command {
	opts := &benchPrivacyOptions{app: a}
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "Time loads with personal data protected against loads in the clear",
		Long: `Generate an export set and load it twice per run into fresh warehouses, in
this process: once protected (tokens, sealed values, sealed ledger: what every
warehouse of the CLI is) and once in the clear (the Go-level load without a
vault, which exists for this benchmark and internal tests only; no command
loads in the clear). Each load is in two parts: every file but the last
month of till sales, then that month as an increment, whose identity
resolution finds the customers of the first part through the identity map —
on a protected warehouse by their tokens (the token join). Reported: both
parts' seconds and CPU seconds, the protected/clear ratios, and the time of
the identity step in each part (statement times summed from the load's
trace). With --runs N the sides alternate which goes first and each figure is
the median of N runs; each run's own protected/clear ratios (its two sides
ran one after the other) and their medians are reported too. The load
average is reported beside each side.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if opts.days < 32 {
				return usageErrorf("--days %d: want at least 32 (the increment is the last month of till sales)", opts.days)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchPrivacyRun(cmd.Context(), opts)
		},
	}
	opts.flags(cmd.Flags())
	return cmd
}

// privacySide is one side's figures (of its median run).
type privacySide struct {
	Seconds          float64 `json:"seconds"`           // both parts
	CPUSeconds       float64 `json:"cpu_seconds"`       // both parts, this process's user+system time
	BaseSeconds      float64 `json:"base_seconds"`      // every file but the last till month
	IncrementSeconds float64 `json:"increment_seconds"` // the last till month
	IdentitySeconds  float64 `json:"identity_seconds"`  // the identity step of the base part
	IncIdentitySec   float64 `json:"increment_identity_seconds"`
	LoadAverage      float64 `json:"load_average"` // 1-minute, when the side started
	// Steps are the statement seconds of each step of the load (both
	// parts), from its trace: where protection costs.
	Steps map[string]float64 `json:"step_seconds"`
	All   []float64          `json:"all_seconds,omitempty"`
}

type benchPrivacyResult struct {
	Customers      int         `json:"customers"`
	SourceRows     int64       `json:"source_rows"`
	IncrementRows  int64       `json:"increment_rows"`
	SalesLines     int64       `json:"sales_lines"`
	Runs           int         `json:"runs"`
	Clear          privacySide `json:"clear"`
	Protected      privacySide `json:"protected"`
	Ratio          float64     `json:"ratio"`     // protected / clear seconds, both parts
	CPURatio       float64     `json:"cpu_ratio"` // the same in CPU time
	IncrementRatio float64     `json:"increment_ratio"`
	// IdentityRatio and IncIdentityRatio compare the identity step, where
	// the protected load computes tokens and seals values, and (in the
	// increment) joins the new records to the identity map by token.
	IdentityRatio    float64 `json:"identity_ratio"`
	IncIdentityRatio float64 `json:"increment_identity_ratio"`
	// RunRatios and RunCPURatios are each run's protected/clear seconds
	// and CPU seconds: the two sides of one run load one after the other,
	// under about the same load, where the medians above may come from
	// different runs. MedianRunRatio and MedianRunCPURatio are their
	// medians.
	RunRatios         []float64  `json:"run_ratios"`
	RunCPURatios      []float64  `json:"run_cpu_ratios"`
	MedianRunRatio    float64    `json:"median_run_ratio"`
	MedianRunCPURatio float64    `json:"median_run_cpu_ratio"`
	LoadAverage       [2]float64 `json:"load_average_start_end"`
}

// runRatios are the quotients f(protected[i]) / f(clear[i]) of each run
// and their median (the mean of the middle two for an even count).
func runRatios(clear, protected []privacySide, f func(privacySide) float64) ([]float64, float64) {
	var rs []float64
	for i := range min(len(clear), len(protected)) {
		rs = append(rs, f(protected[i])/f(clear[i]))
	}
	if len(rs) == 0 {
		return nil, 0
	}
	sorted := append([]float64(nil), rs...)
	sort.Float64s(sorted)
	m := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		m = (sorted[len(sorted)/2-1] + m) / 2
	}
	return rs, m
}

func benchPrivacyRun(ctx context.Context, opts *benchPrivacyOptions) error {
	a := opts.app
	dir := opts.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ckm-bench-privacy-"); err != nil {
			return err
		}
	}
	if !opts.keep {
		defer os.RemoveAll(dir)
	}
	res := benchPrivacyResult{Customers: opts.customers, Runs: opts.runs}
	res.LoadAverage[0], _ = loadAverage().(float64)
	all := filepath.Join(dir, "exports")
	t0 := time.Now()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: all, Customers: opts.customers, Days: opts.days, Seed: opts.seed})
	if err != nil {
		return err
	}
	base, inc, err := splitLastTillMonth(all, filepath.Join(dir, "increment"))
	if err != nil {
		return err
	}
	res.SalesLines = exp.FactSalesRows
	for name, f := range exp.Files {
		res.SourceRows += f.Rows
		if name == inc {
			res.IncrementRows = f.Rows
		}
	}
	a.logf("generated %d source rows (%d sales lines) in %.1fs; the increment is %s (%d rows)", res.SourceRows, res.SalesLines,
		time.Since(t0).Seconds(), inc, res.IncrementRows)
	asOf, _ := time.ParseInLocation(time.DateOnly, exp.ExportDate, time.Local)
	asOf = asOf.Add(24*time.Hour - time.Second)

	var clear, protected []privacySide
	for i := 0; i < opts.runs; i++ {
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		for _, protect := range order {
			s, err := benchPrivacySide(ctx, a, dir, base, filepath.Join(dir, "increment"), asOf, protect)
			if err != nil {
				return err
			}
			name := sideName(protect)
			if protect {
				protected = append(protected, s)
			} else {
				clear = append(clear, s)
			}
			a.logf("%-10s %.2fs (cpu %.2fs): base %.2fs (identity %.2fs), increment %.2fs (identity %.2fs)  (load average %.1f)",
				name, s.Seconds, s.CPUSeconds, s.BaseSeconds, s.IdentitySeconds, s.IncrementSeconds, s.IncIdentitySec, s.LoadAverage)
		}
	}
	res.Clear, res.Protected = medianSide(clear), medianSide(protected)
	res.Ratio = res.Protected.Seconds / res.Clear.Seconds
	res.CPURatio = res.Protected.CPUSeconds / res.Clear.CPUSeconds
	res.IncrementRatio = res.Protected.IncrementSeconds / res.Clear.IncrementSeconds
	res.IdentityRatio = res.Protected.IdentitySeconds / res.Clear.IdentitySeconds
	res.IncIdentityRatio = res.Protected.IncIdentitySec / res.Clear.IncIdentitySec
	res.RunRatios, res.MedianRunRatio = runRatios(clear, protected, func(s privacySide) float64 { return s.Seconds })
	res.RunCPURatios, res.MedianRunCPURatio = runRatios(clear, protected, func(s privacySide) float64 { return s.CPUSeconds })
	res.LoadAverage[1], _ = loadAverage().(float64)
	if a.format() == formatJSON {
		return writeJSON(a, res)
	}
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	row := func(name string, s privacySide) []any {
		return []any{name, f2(s.Seconds), f2(s.CPUSeconds), f2(s.BaseSeconds), f2(s.IdentitySeconds), f2(s.IncrementSeconds), f2(s.IncIdentitySec), fmt.Sprintf("%.1f", s.LoadAverage)}
	}
	table := [][]any{
		row("clear", res.Clear), row("protected", res.Protected),
		{"ratio (protected / clear)", f2(res.Ratio), f2(res.CPURatio), "", f2(res.IdentityRatio), f2(res.IncrementRatio), f2(res.IncIdentityRatio), ""},
	}
	list := func(rs []float64) string {
		parts := make([]string, len(rs))
		for i, r := range rs {
			parts[i] = f2(r)
		}
		return strings.Join(parts, " ")
	}
	table = append(table, []any{"each run's ratio (median)", list(res.RunRatios) + " (" + f2(res.MedianRunRatio) + ")",
		list(res.RunCPURatios) + " (" + f2(res.MedianRunCPURatio) + ")", "", "", "", "", ""})
	// The steps protection costs most in (statement seconds, both parts).
	for _, step := range costliestSteps(res.Clear.Steps, res.Protected.Steps, 5) {
		table = append(table, []any{"step " + step + " (clear → protected)", f2(res.Clear.Steps[step]) + " → " + f2(res.Protected.Steps[step]), "", "", "", "", "", ""})
	}
	return a.printTable([]string{"side", "seconds", "cpu s", "base s", "identity s", "increment s", "inc. identity s", "load avg"}, table)
}

// costliestSteps are the n steps whose seconds grow most from clear to
// protected.
func costliestSteps(clear, protected map[string]float64, n int) []string {
	var steps []string
	for k := range protected {
		steps = append(steps, k)
	}
	for k := range clear {
		if _, ok := protected[k]; !ok {
			steps = append(steps, k)
		}
	}
	sort.Slice(steps, func(i, j int) bool {
		di, dj := protected[steps[i]]-clear[steps[i]], protected[steps[j]]-clear[steps[j]]
		if di != dj {
			return di > dj
		}
		return steps[i] < steps[j]
	})
	return steps[:min(n, len(steps))]
}

// splitLastTillMonth moves the last month's till file (pos_sales_YYYYMM.csv,
// the greatest name) of dir to incDir; base is dir, inc the file's name.
func splitLastTillMonth(dir, incDir string) (base, inc string, err error) {
	names, err := filepath.Glob(filepath.Join(dir, "pos_sales_*.csv"))
	if err != nil {
		return "", "", err
	}
	if len(names) < 2 {
		return "", "", fmt.Errorf("bench privacy: %d till files in %s, want at least 2 months", len(names), dir)
	}
	sort.Strings(names)
	last := names[len(names)-1]
	if err := os.MkdirAll(incDir, 0o755); err != nil {
		return "", "", err
	}
	inc = filepath.Base(last)
	return dir, inc, os.Rename(last, filepath.Join(incDir, inc))
}

// benchPrivacySide loads base, then incDir, into a fresh warehouse, as
// ckm load would (the CLI's load options: rollups in the transaction),
// protected with a fresh data key or in the clear.
func benchPrivacySide(ctx context.Context, a *app, dir, base, incDir string, asOf time.Time, protect bool) (privacySide, error) {
	s := privacySide{}
	s.LoadAverage, _ = loadAverage().(float64)
	wh := filepath.Join(dir, "bench.duckdb")
	for _, p := range []string{wh, wh + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return s, err
		}
	}
	w, err := engine.Open(ctx, wh, a.engineOptions())
	if err != nil {
		return s, err
	}
	defer w.Close()
	var v *vault.Vault
	if protect {
		kek, err := vault.ParseKEK(vault.NewKEK())
		if err != nil {
			return s, err
		}
		if v, err = vault.Init(ctx, w.DB, kek); err != nil {
			return s, err
		}
	}
	cpu0 := processCPU()
	for i, paths := range [][]string{{base}, {incDir}} {
		lo, err := a.loadOptions(asOf)
		if err != nil {
			return s, err
		}
		// The trace gives the steps' times; with CKM_DEBUG_SQL (or
		// CKM_DEBUG_ANALYZE=step) it goes to stderr too, as ckm load's does,
		// headed by the side and part it is of.
		var trace bytes.Buffer
		var traceTo io.Writer = &trace
		if lo.Trace != nil {
			fmt.Fprintf(a.stderr, "-- trace: %s, %s\n", sideName(protect), []string{"base", "increment"}[i])
			traceTo = io.MultiWriter(&trace, a.stderr)
		}
		lo.Progress, lo.Vault, lo.Trace = nil, v, traceTo
		start := time.Now()
		if _, err := etl.Load(ctx, w, paths, lo); err != nil {
			return s, fmt.Errorf("bench privacy: load %s: %w", paths[0], err)
		}
		secs := time.Since(start).Seconds()
		steps := traceStepSeconds(trace.Bytes())
		identity := steps["identity"]
		if s.Steps == nil {
			s.Steps = map[string]float64{}
		}
		for k, v := range steps {
			s.Steps[k] += v
		}
		if i == 0 {
			s.BaseSeconds, s.IdentitySeconds = secs, identity
		} else {
			s.IncrementSeconds, s.IncIdentitySec = secs, identity
		}
	}
	s.Seconds = s.BaseSeconds + s.IncrementSeconds
	s.CPUSeconds = processCPU() - cpu0
	return s, nil
}

// sideName names a side of the benchmark.
func sideName(protect bool) string {
	if protect {
		return "protected"
	}
	return "clear"
}

// processCPU is this process's user and system time so far, in seconds
// (DuckDB's threads included; 0 where it cannot be read).
func processCPU() float64 {
	d, _ := etl.ProcessCPU()
	return d.Seconds()
}

// traceStatement is a statement line of a load's trace: its seconds, its
// step, then the statement quoted.
var traceStatement = regexp.MustCompile(`^\s*([0-9.]+)s (.+?) "`)

// traceStepSeconds sums a load trace's statement times by step.
func traceStepSeconds(trace []byte) map[string]float64 {
	steps := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(trace))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		m := traceStatement.FindStringSubmatch(sc.Text())
		if m == nil || strings.HasSuffix(m[2], "(step)") {
			continue
		}
		secs, err := strconv.ParseFloat(m[1], 64)
		if err == nil {
			steps[m[2]] += secs
		}
	}
	return steps
}

// medianSide is the side of median seconds, with every run's seconds.
func medianSide(sides []privacySide) privacySide {
	sorted := append([]privacySide(nil), sides...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Seconds < sorted[j].Seconds })
	m := sorted[len(sorted)/2]
	if len(sorted) > 1 {
		for _, s := range sorted {
			m.All = append(m.All, s.Seconds)
		}
	}
	return m
}
