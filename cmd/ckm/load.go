package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/olap"
	"github.com/ckm-dev/ckm/privacy"
)

// loadOptions are what ckm load's arguments and flags resolve to.
type loadOptions struct {
	app     *app
	paths   []string  // the files and directories to load
	asOf    time.Time // the exports' as-of instant; zero: now
	explain bool      // say how the files would be read; load nothing
}

func init() { registerCommand(func(a *app) *cobra.Command { return newLoadCmd(a, nil) }) }

// newLoadCmd builds ckm load. runF, when not nil, runs instead of loadRun
// with the parsed options: tests check parsing without a warehouse.
func newLoadCmd(a *app, runF func(context.Context, *loadOptions) error) *cobra.Command {
	opts := &loadOptions{app: a}
	var asOf string
	cmd := &cobra.Command{
		Use:   "load [PATH...]",
		Short: "ETL of the configured sources or the given files and directories",
		Long: `Load source exports into the warehouse in one transaction.

Files are matched to source mappings by name: the built-in mappings read the
exports of 'ckm fixtures generate'; ckm.yaml may add 'sources:'. A file whose
content was loaded before is skipped. Every record ends loaded, rejected
(see 'ckm rejects') or counted as a duplicate. Exit code 3 means the load
committed but rejected some rows.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.resolve(args, asOf); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return loadRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&asOf, "as-of", "", "the exports' as-of date (YYYY-MM-DD): later dates are rejected as future (default: now)")
	cmd.Flags().BoolVar(&opts.explain, "explain", false, "load nothing: show which source reads each file and the header each canonical field maps (and the aliases tried)")
	return cmd
}

// resolve sets the paths (the arguments, else load.paths of the config) and
// the as-of instant (the end of the --as-of day, local time).
func (o *loadOptions) resolve(args []string, asOf string) error {
	o.paths = args
	if len(o.paths) == 0 {
		o.paths = o.app.cfg.GetStringSlice("load.paths")
	}
	if len(o.paths) == 0 {
		return usageErrorf("nothing to load: give files or directories, or set load.paths in ckm.yaml")
	}
	if asOf != "" {
		t, err := time.ParseInLocation("2006-01-02", asOf, time.Local)
		if err != nil {
			return usageErrorf("--as-of %q: want YYYY-MM-DD", asOf)
		}
		o.asOf = t.Add(24*time.Hour - time.Second)
	}
	return nil
}

// configuredMappings are the sources: of the config file, if any.
func (a *app) configuredMappings() ([]etl.Mapping, error) {
	if cfgFile := a.cfg.ConfigFileUsed(); cfgFile != "" && a.cfg.IsSet("sources") {
		ms, err := etl.LoadMappingFile(cfgFile)
		if err != nil {
			return nil, usageError{err}
		}
		return ms, nil
	}
	return nil, nil
}

func loadRun(ctx context.Context, opts *loadOptions) error {
	a, paths := opts.app, opts.paths
	if opts.explain {
		return explainRun(ctx, opts)
	}
	if conn, err := a.serverClient(ctx, "load", string(privacy.Admin)); err != nil || conn != nil {
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return loadViaServer(ctx, opts, conn)
	}
	lo, err := a.loadOptions(opts.asOf)
	if err != nil {
		return err
	}
	lo.Log = a.logf
	if lo.Mappings, err = a.configuredMappings(); err != nil {
		return err
	}
	w, err := a.createWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	if lo.Vault, _, err = a.loadVault(ctx, w); err != nil {
		return err
	}
	rep, err := etl.Load(ctx, w, paths, lo)
	if err != nil && ctx.Err() != nil {
		return cancelledError{"load cancelled: nothing was committed"}
	}
	if errors.Is(err, etl.ErrNothingToLoad) {
		if len(rep.Files) == 0 {
			a.logf("nothing to load: no source files in %s", strings.Join(paths, ", "))
		} else {
			a.logf("nothing to load: every file is in the manifest already")
		}
		a.warnAfterCommit(rep)
		return a.printLoadReport(rep)
	}
	if err != nil {
		return etl.ExplainResourceError(ctx, w, err)
	}
	keepSmallLoadWAL(ctx, a, w, rep)
	if err := a.printLoadReport(rep); err != nil {
		return err
	}
	a.warnAfterCommit(rep)
	a.logf("run %d: %d rows read, %d loaded, %d rejected, %d duplicates, %d warned, %d new customers in %s",
		rep.RunID, rep.Read, rep.Loaded, rep.Rejected, rep.Duplicates, rep.Warned, rep.Customers, rep.Elapsed.Round(time.Millisecond))
	if rep.Rejected > 0 {
		a.logf("see the rejected rows with: ckm rejects --run %d", rep.RunID)
		return errRejected
	}
	return nil
}

// keepSmallLoadWAL leaves the write-ahead log of a small load (Report.Small)
// for a later checkpoint while it is at most engine.KeepWALBytes
// (engine.Warehouse.KeepWALAtClose): a daily load's close then skips
// rewriting the tail of every table it touched, and one checkpoint later
// covers many such loads. A larger load checkpoints as before, so its work
// is never left for the next open.
func keepSmallLoadWAL(ctx context.Context, a *app, w *engine.Warehouse, rep *etl.Report) {
	if !rep.Small() {
		return
	}
	if _, err := w.KeepWALAtClose(ctx, engine.KeepWALBytes); err != nil {
		a.logf("warning: %v (the warehouse is checkpointed as it closes)", err)
	}
}

// warnAfterCommit says when the rollups were not refreshed after a load
// that committed: the load stands, and cube queries read the base tables
// (rollups of an older data version are never used) until a refresh.
func (a *app) warnAfterCommit(rep *etl.Report) {
	switch {
	case rep.AfterCommit == "":
	case rep.RunID == 0: // nothing new: the refresh an earlier load left undone
		a.logf("warning: the rollups were not refreshed (cube queries read the base tables until `ckm cube refresh CUBE`): %s", rep.AfterCommit)
	default:
		a.logf("warning: run %d committed, but its rollups were not refreshed (cube queries read the base tables until `ckm cube refresh CUBE`): %s", rep.RunID, rep.AfterCommit)
	}
}

func (a *app) printLoadReport(rep *etl.Report) error {
	if a.format() == formatJSON {
		return writeJSON(a, rep)
	}
	header := []string{"file", "source", "format", "encoding", "read", "loaded", "rejected", "duplicates", "warned", "note"}
	var rows [][]any
	for _, f := range rep.Files {
		rows = append(rows, []any{f.Path, f.Source, f.Format, f.Encoding, f.Read, f.Loaded, f.Rejected, f.Duplicates, f.Warned, f.Skipped})
	}
	return a.printTable(header, rows)
}

// loadOptions are what every load of the CLI shares (ckm load, ckm demo):
// the progress display, CKM_DEBUG_SQL (=mem: with DuckDB's memory by tag)/CKM_DEBUG_ANALYZE, and the cubes'
// rollups rebuilt once the load has committed, in a transaction of their
// own (each rollup records the data version it saw, so a cube query never
// answers from one older than the data; see etl.Options.AfterCommit).
func (a *app) loadOptions(asOf time.Time) (etl.Options, error) {
	model, err := a.cubeModel()
	if err != nil {
		return etl.Options{}, err
	}
	lo := etl.Options{Version: version, AsOf: asOf, Progress: a.loadProgress(),
		AnalyzeStep: os.Getenv("CKM_DEBUG_ANALYZE")}
	if lo.Identity, err = a.identityRules(); err != nil {
		return etl.Options{}, err
	}
	if os.Getenv("CKM_DEBUG_SQL") != "" || lo.AnalyzeStep != "" {
		lo.Trace = os.Stderr
	}
	lo.TraceMemory = os.Getenv("CKM_DEBUG_SQL") == "mem"
	lo.AfterCommit = []func(context.Context, *sql.Tx) error{
		func(ctx context.Context, tx *sql.Tx) error { return olap.RefreshRollups(ctx, tx, model) },
	}
	return lo, nil
}

// loadProgress is a progress bar on a terminal and plain log lines otherwise.
func (a *app) loadProgress() func(etl.Progress) {
	if isTerminal(a.stderr) {
		return progressBar(a.stderr)
	}
	return func(p etl.Progress) {
		if p.Step == "extract" {
			a.logf("extracted %s (%d/%d files, %d rows, %.1fs)", p.File, p.FilesDone, p.Files, p.Rows, p.Elapsed.Seconds())
		}
	}
}

// progressBar draws files done and rows/s on a terminal line.
func progressBar(w io.Writer) func(etl.Progress) {
	return func(p etl.Progress) {
		rate := 0.0
		if s := p.Elapsed.Seconds(); s > 0 {
			rate = float64(p.Rows) / s
		}
		width := 30
		done := 0
		if p.Files > 0 {
			done = width * p.FilesDone / p.Files
		}
		bar := make([]byte, width)
		for i := range bar {
			if i < done {
				bar[i] = '#'
			} else {
				bar[i] = '.'
			}
		}
		fmt.Fprintf(w, "\r%-7s [%s] %d/%d files  %d rows  %.0f rows/s ", p.Step, bar, p.FilesDone, p.Files, p.Rows, rate)
		if p.Step == "stage" && p.FilesDone == p.Files {
			fmt.Fprintln(w)
		}
	}
}
