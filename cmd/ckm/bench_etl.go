package main

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/xuri/excelize/v2"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
)

// benchETLOptions are what ckm bench etl's flags resolve to.
// benchWorld is the generated world and the runs of a load benchmark
// (bench etl, bench privacy): the same flags with the same meaning.
type benchWorld struct {
	customers int // checked with days: a world fixtures can generate
	days      int
	seed      int64
	dir       string
	keep      bool
	runs      int // runs of each side; medians reported
}

// flags declares the world's flags on f.
func (w *benchWorld) flags(f *pflag.FlagSet) {
	f.IntVar(&w.customers, "customers", 220000, "persons in the generated world (220,000 ≈ 5 million sales lines a year)")
	f.IntVar(&w.days, "days", 365, "days of sales")
	f.Int64Var(&w.seed, "seed", 1, "generator seed")
	f.StringVar(&w.dir, "dir", "", "work directory (default: a temporary one)")
	f.BoolVar(&w.keep, "keep", false, "keep the work directory")
	f.IntVar(&w.runs, "runs", 1, "runs of each side (figures are medians)")
}

// check checks the world's flags: a world fixtures can generate, one run
// at least.
func (w *benchWorld) check() error {
	if err := checkWorld(w.customers, w.days); err != nil {
		return err
	}
	if w.runs < 1 {
		return usageErrorf("--runs %d: want at least 1", w.runs)
	}
	return nil
}

type benchETLOptions struct {
	app *app
	benchWorld
	plainLines int // lines of the plain CSV scenario
}

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchETLCmd(a, nil) })
	registerCommand(func(a *app) *cobra.Command { return newRawLoadCmd(a, nil) })
}

// newBenchETLCmd builds ckm bench etl; runF, when not nil, runs instead of
// benchETLRun with the parsed options.
func newBenchETLCmd(a *app, runF func(context.Context, *benchETLOptions) error) *cobra.Command {
	opts := &benchETLOptions{app: a}
	cmd := &cobra.Command{
		Use:   "etl",
		Short: "Time ckm load against plain programs reading the same exports",
		Long: `Generate an export set, then time in the same run:
  ckm        'ckm load' of the set into a fresh warehouse;
  raw Go     the fair peer (ckm bench-raw-go): a plain Go program that decodes
             the GBK till files as ckm does, parses every CSV record and JSON
             order, flattens the web orders' lines and appends every row to
             DuckDB tables, with no cleaning; ratio = ckm / raw Go;
  raw DuckDB the old peer (ckm bench-raw-load): DuckDB's read_csv/read_json
             with all_varchar, the GBK files read as latin-1 (DuckDB has no GBK
             decoder), the JSON orders not flattened; old_ratio = ckm / it.
Then the load's write floor (ckm_write_floor, ckm bench-raw-write): raw DuckDB
writing the rows 'ckm load' left — its facts, dimensions, identity, vault,
ledger and rollups — into an initialised warehouse in one transaction,
nothing computed (ckm_write_floor_share: the part of ckm's time that is).
Then a daily load: the last till file's last 10 lines as new orders, loaded
into a copy of the warehouse 'ckm load' left (daily_load_seconds: what a
scheduled daily load pays in a year of sales, rollup refresh included).
Then a plain UTF-8 order CSV (--plain-lines, with planted faults ckm must
reject) loaded by ckm against DuckDB's read_csv into a table (plain_csv_ratio),
and the time of a 10-line load into an initialised warehouse (small_load_seconds:
the fixed cost of process, migrations check, region upsert, hashing), beside
its floor, 'ckm init' of an initialised warehouse (small_load_floor_seconds:
process and DuckDB start, open, migrations check, close — what every command
that writes the warehouse pays) and its write floor (small_load_write_floor_seconds:
the open floor plus raw DuckDB writing the rows that load leaves, table by
table, in one transaction, nothing computed — ckm bench-raw-write), the three
run round by round.
Each side runs in its own process, so its peak memory is its own (the peers
with glibc's malloc as it comes, not ckm's malloc settings); with --runs N
each figure is the median of N runs, and the sides compared run round by
round (ckm, raw Go, raw DuckDB, ckm, …; plain ckm, read_csv, …) so that a
slow or fast spell of the machine falls on both sides of a ratio; each
round's ratio is reported too. The load average is reported beside them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if opts.plainLines < 100 {
				return usageErrorf("--plain-lines %d: want at least 100 lines (the planted faults need room)", opts.plainLines)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchETLRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.flags(f)
	f.IntVar(&opts.plainLines, "plain-lines", 1000000, "order lines of the plain UTF-8 CSV scenario")
	return cmd
}

type benchSide struct {
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	// CPUSeconds is the child's user and system time: on a shared machine
	// it moves far less with the load than the wall time does.
	CPUSeconds float64 `json:"cpu_seconds"`
	// LoadAverage is the machine's 1-minute load average when the side
	// started (of the median run): figures measured on a busy machine say so.
	LoadAverage float64 `json:"load_average"`
	// All are each run's seconds, in the order run, when there were
	// several: the sides of a comparison run round by round (benchChildren.sides),
	// so All[i] of two sides ran one after the other.
	All []float64 `json:"all_seconds,omitempty"`
}

type benchETLResult struct {
	Customers   int       `json:"customers"`
	Files       int       `json:"files"`
	Bytes       int64     `json:"bytes"`
	SourceRows  int64     `json:"source_rows"`
	SalesLines  int64     `json:"sales_lines"`
	GenerateSec float64   `json:"generate_seconds"`
	Runs        int       `json:"runs"`
	CKM         benchSide `json:"ckm_load"`
	RawGo       benchSide `json:"raw_go"`
	RawDuckDB   benchSide `json:"raw_duckdb"`
	// WriteFloor is the full load's write floor: raw DuckDB writing the
	// rows that load leaves (WriteFloorRows in all, from the last ckm run's
	// warehouse) into an initialised warehouse in one transaction, nothing
	// computed (benchWriteFloor); WriteFloorShare is ckm's time that is.
	WriteFloor      benchSide `json:"ckm_write_floor"`
	WriteFloorRows  int64     `json:"ckm_write_floor_rows"`
	WriteFloorShare float64   `json:"ckm_write_floor_share"`
	// Ratio is ckm against the fair peer (raw Go), OldRatio against raw
	// DuckDB as measured before the fair peer existed.
	Ratio    float64 `json:"ratio"`
	OldRatio float64 `json:"old_ratio"`
	// RatioRounds is ckm's time over raw Go's in each round of runs
	// (with --runs > 1): the sides run round by round.
	RatioRounds []float64 `json:"ratio_rounds,omitempty"`
	// CPURatio is ratio in CPU time, steadier on a busy machine.
	CPURatio     float64 `json:"cpu_ratio"`
	CKMPeakRSSMB float64 `json:"ckm_peak_rss_mb"`
	RawPeakRSSMB float64 `json:"raw_peak_rss_mb"`
	RawGoRows    int64   `json:"raw_go_rows"`
	// The plain CSV scenario.
	PlainLines       int       `json:"plain_lines"`
	PlainCKM         benchSide `json:"plain_ckm_load"`
	PlainReadCSV     benchSide `json:"plain_read_csv"`
	PlainCSVRatio    float64   `json:"plain_csv_ratio"`
	PlainCSVCPURatio float64   `json:"plain_csv_cpu_ratio"`
	// PlainCSVRatioRounds is plain_csv_ratio in each round of runs.
	PlainCSVRatioRounds []float64 `json:"plain_csv_ratio_rounds,omitempty"`
	PlainRejected       int64     `json:"plain_rejected"`
	PlainDuplicates     int64     `json:"plain_duplicates"`
	// SmallLoadSec is the median time of a 10-line load into an
	// initialised warehouse, process start to exit.
	SmallLoadSec float64 `json:"small_load_seconds"`
	SmallLoadCPU float64 `json:"small_load_cpu_seconds"`
	// SmallFloorSec is the median time of 'ckm init' of an initialised
	// warehouse (process start, DuckDB's start, open, migrations check,
	// close): the part of SmallLoadSec every command that writes pays.
	SmallFloorSec float64 `json:"small_load_floor_seconds"`
	SmallFloorCPU float64 `json:"small_load_floor_cpu_seconds"`
	// SmallWriteFloorSec is the median time of the open floor plus raw
	// DuckDB writing the rows the 10-line load leaves (SmallWriteFloorRows,
	// per table) into an initialised warehouse in one transaction
	// (ckm bench-raw-write): what that load cannot undercut.
	SmallWriteFloorSec  float64          `json:"small_load_write_floor_seconds"`
	SmallWriteFloorCPU  float64          `json:"small_load_write_floor_cpu_seconds"`
	SmallWriteFloorRows map[string]int64 `json:"small_load_write_floor_rows"`
	// DailyLoadSec is the median time of a 10-line load of one day's till
	// lines into the warehouse the full load left (benchDaily).
	DailyLoadSec float64    `json:"daily_load_seconds"`
	DailyLoadCPU float64    `json:"daily_load_cpu_seconds"`
	LoadAverage  [2]float64 `json:"load_average_start_end"`
}

func benchETLRun(ctx context.Context, opts *benchETLOptions) error {
	a := opts.app
	dir := opts.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ckm-bench-etl-"); err != nil {
			return err
		}
	}
	if !opts.keep {
		defer os.RemoveAll(dir)
	}
	exports := filepath.Join(dir, "exports")
	t0 := time.Now()
	res := benchETLResult{Customers: opts.customers, Runs: opts.runs, PlainLines: opts.plainLines}
	res.LoadAverage[0], _ = loadAverage().(float64)
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: exports, Customers: opts.customers, Days: opts.days, Seed: opts.seed})
	if err != nil {
		return err
	}
	res.GenerateSec, res.SalesLines = time.Since(t0).Seconds(), exp.FactSalesRows
	for _, f := range exp.Files {
		res.Files++
		res.SourceRows += f.Rows
		res.Bytes += f.Bytes
	}
	a.logf("generated %d files, %d source rows (%d sales lines, %.0f MB) in %.1fs", res.Files, res.SourceRows, res.SalesLines,
		float64(res.Bytes)/1e6, res.GenerateSec)
	b, err := newBenchChildren(a, dir, opts.runs)
	if err != nil {
		return err
	}
	// The sides' runs interleaved: ckm, raw Go, raw DuckDB, ckm, …
	sides, outs, err := b.sides(spec("ckm", res.SourceRows, "load", exports, "--as-of", exp.ExportDate),
		spec("raw-go", res.SourceRows, "bench-raw-go", exports, "--format", "json"),
		spec("raw-duckdb", res.SourceRows, "bench-raw-load", exports))
	if err != nil {
		return err
	}
	res.CKM, res.RawGo, res.RawDuckDB = sides[0], sides[1], sides[2]
	var rawCount struct{ Rows int64 }
	if err := json.Unmarshal(outs[1], &rawCount); err != nil {
		return fmt.Errorf("raw-go: %w", err)
	}
	res.RawGoRows = rawCount.Rows
	res.Ratio = res.CKM.Seconds / res.RawGo.Seconds
	res.RatioRounds = roundRatios(res.CKM, res.RawGo)
	res.OldRatio = res.CKM.Seconds / res.RawDuckDB.Seconds
	res.CPURatio = res.CKM.CPUSeconds / res.RawGo.CPUSeconds
	res.CKMPeakRSSMB, res.RawPeakRSSMB = res.CKM.PeakRSSMB, res.RawGo.PeakRSSMB
	if err := benchWriteFloor(ctx, b, &res); err != nil {
		return err
	}
	if err := benchDaily(b, dir, exports, exp.ExportDate, &res); err != nil {
		return err
	}
	if err := benchPlain(ctx, b, dir, opts.plainLines, &res); err != nil {
		return err
	}
	res.LoadAverage[1], _ = loadAverage().(float64)
	if a.format() == formatJSON {
		return writeJSON(a, res)
	}
	row := func(name string, s benchSide) []any {
		return []any{name, fmt.Sprintf("%.2f", s.Seconds), fmt.Sprintf("%.2f", s.CPUSeconds), fmt.Sprintf("%.0f", s.RowsPerSec),
			fmt.Sprintf("%.0f", s.PeakRSSMB), fmt.Sprintf("%.1f", s.LoadAverage)}
	}
	return a.printTable([]string{"side", "seconds", "cpu s", "rows/s", "peak MB", "load avg"}, [][]any{
		row("ckm load", res.CKM), row("raw Go", res.RawGo), row("raw DuckDB", res.RawDuckDB),
		{"ratio (ckm / raw Go)", fmt.Sprintf("%.2f", res.Ratio), "", "", "", ""},
		{"old ratio (ckm / raw DuckDB)", fmt.Sprintf("%.2f", res.OldRatio), "", "", "", ""},
		row("write floor: raw DuckDB writing its rows", res.WriteFloor),
		{"  share of ckm's time", fmt.Sprintf("%.2f", res.WriteFloorShare), "", "", "", ""},
		row("plain CSV: ckm load", res.PlainCKM), row("plain CSV: read_csv", res.PlainReadCSV),
		{"plain_csv_ratio", fmt.Sprintf("%.2f", res.PlainCSVRatio), "", "", "", ""},
		{"10-line load", fmt.Sprintf("%.3f", res.SmallLoadSec), fmt.Sprintf("%.3f", res.SmallLoadCPU), "", "", ""},
		{"  its floor: ckm init of the warehouse", fmt.Sprintf("%.3f", res.SmallFloorSec), fmt.Sprintf("%.3f", res.SmallFloorCPU), "", "", ""},
		{"  its write floor: + raw DuckDB writing its rows", fmt.Sprintf("%.3f", res.SmallWriteFloorSec), fmt.Sprintf("%.3f", res.SmallWriteFloorCPU), "", "", ""},
		{"10-line daily load into the full warehouse", fmt.Sprintf("%.3f", res.DailyLoadSec), "", "", "", ""},
	})
}

// benchChildren runs the sides of a benchmark as child processes of this
// binary, each in a fresh warehouse, with the DuckDB settings of this one.
type benchChildren struct {
	a      *app
	dir    string
	self   string
	global []string // --memory-limit and friends, when given
	runs   int
}

func newBenchChildren(a *app, dir string, runs int) (*benchChildren, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b := &benchChildren{a: a, dir: dir, self: self, runs: runs}
	eo := a.engineOptions()
	if eo.MemoryLimit != "" {
		b.global = append(b.global, "--memory-limit", eo.MemoryLimit)
	}
	if eo.Threads > 0 {
		b.global = append(b.global, "--threads", fmt.Sprint(eo.Threads))
	}
	if eo.TempDirectory != "" {
		b.global = append(b.global, "--temp-directory", eo.TempDirectory)
	}
	return b, nil
}

// benchSpec is one side of a comparison: name's command args, each run
// into a fresh warehouse (prepare, when given, runs first on it, untimed);
// rows gives the rows per second.
type benchSpec struct {
	name    string
	rows    int64
	prepare func(wh string) error
	args    []string
}

func spec(name string, rows int64, args ...string) benchSpec {
	return benchSpec{name: name, rows: rows, args: args}
}

// side runs one spec's runs (see sides).
func (b *benchChildren) side(s benchSpec) (benchSide, []byte, error) {
	sides, outs, err := b.sides(s)
	if err != nil {
		return benchSide{}, nil, err
	}
	return sides[0], outs[0], nil
}

// sides runs the specs' runs interleaved — round i runs every spec once,
// in order — so that a slow or a fast spell of the machine (this VM's
// read_csv swung ±25 % between spells) falls on every side of a ratio
// alike, and returns each spec's run of median time with its stdout, and
// per round each spec's time.
func (b *benchChildren) sides(specs ...benchSpec) ([]benchSide, [][]byte, error) {
	type run struct {
		side benchSide
		out  []byte
	}
	runs := make([][]run, len(specs))
	for i := 0; i < b.runs; i++ {
		for k, s := range specs {
			wh := filepath.Join(b.dir, s.name+".duckdb")
			os.Remove(wh)
			os.Remove(wh + ".wal")
			if s.prepare != nil {
				if err := s.prepare(wh); err != nil {
					return nil, nil, fmt.Errorf("%s: %w", s.name, err)
				}
			}
			la, _ := loadAverage().(float64)
			secs, st, out, err := b.timed(wh, s.args)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", s.name, err)
			}
			side := benchSide{Seconds: secs, RowsPerSec: float64(s.rows) / secs, LoadAverage: la}
			if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
				side.PeakRSSMB = float64(ru.Maxrss) / 1024
			}
			side.CPUSeconds = (st.UserTime() + st.SystemTime()).Seconds()
			b.a.logf("%-10s %.2fs (cpu %.2fs)  %.0f rows/s  peak %.0f MB  (load average %.1f)", s.name, side.Seconds, side.CPUSeconds,
				side.RowsPerSec, side.PeakRSSMB, la)
			runs[k] = append(runs[k], run{side, out})
		}
	}
	sides := make([]benchSide, len(specs))
	outs := make([][]byte, len(specs))
	for k, rs := range runs {
		var all []float64
		for _, r := range rs {
			all = append(all, r.side.Seconds) // in the order run
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].side.Seconds < rs[j].side.Seconds })
		m := rs[len(rs)/2]
		if len(rs) > 1 {
			m.side.All = all
		}
		sides[k], outs[k] = m.side, m.out
	}
	return sides, outs, nil
}

// roundRatios is a's time over b's for each round of runs both ran (nil
// for a single run): the spread of a ratio whose sides met the same spells
// of the machine.
func roundRatios(a, b benchSide) []float64 {
	var r []float64
	for i := 0; i < len(a.All) && i < len(b.All); i++ {
		r = append(r, a.All[i]/b.All[i])
	}
	return r
}

// timed runs one child and times it.
func (b *benchChildren) timed(wh string, args []string) (float64, *os.ProcessState, []byte, error) {
	resetPeakRSS()
	start := time.Now()
	st, out, err := b.child(wh, args)
	return time.Since(start).Seconds(), st, out, err
}

// resetPeakRSS makes the next child's peak resident memory its own. Go
// starts a child sharing this process's memory until it executes
// (CLONE_VM|CLONE_VFORK), and Linux keeps the larger of the shared memory's
// high-water mark and the child's own as the child's ru_maxrss: every
// child's peak read at least this process's peak — the 10-line load and
// 'ckm init' both 293 MB, this process's own after generating the exports.
// So the memory this process no longer uses goes back to the system and
// its high-water mark is reset to what it holds now (clear_refs 5, Linux
// 4.0+; elsewhere the write fails and peaks stay as they were), which
// leaves a child's peak at least this process's resident memory at its
// start, tens of MB.
func resetPeakRSS() {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// child runs this binary on warehouse wh; a load that finished with
// rejected rows (the planted faults) is a success here.
func (b *benchChildren) child(wh string, args []string) (*os.ProcessState, []byte, error) {
	cmd := exec.Command(b.self, append(append(append([]string{}, b.global...), "--warehouse", wh), args...)...)
	cmd.Stderr = os.Stderr
	// The loads are protected (every CLI warehouse is): their throwaway keys
	// go to the work directory, not the user's key directory.
	cmd.Env = append(os.Environ(), keyDirEnv+"="+filepath.Join(b.dir, "keys"))
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	if err != nil && cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == exitRejected {
		err = nil
	}
	return cmd.ProcessState, out.Bytes(), err
}

// rawLoadOptions are what ckm bench-raw-load resolves to.
type rawLoadOptions struct {
	app *app
	dir string // the exports
}

// newRawLoadCmd is the baseline side of `ckm bench etl`: raw DuckDB reading
// every export into a table, no cleaning. Hidden: it is a benchmark tool.
// runF, when not nil, runs instead of rawLoadRun with the parsed options.
func newRawLoadCmd(a *app, runF func(context.Context, *rawLoadOptions) error) *cobra.Command {
	opts := &rawLoadOptions{app: a}
	return &cobra.Command{
		Use:         "bench-raw-load DIR",
		Short:       "Baseline of ckm bench etl: read exports into tables with plain DuckDB",
		Hidden:      true,
		Annotations: map[string]string{peerAnnotation: "true"},
		Args:        cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.dir = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rawLoadRun(cmd.Context(), opts)
		},
	}
}

func rawLoadRun(ctx context.Context, opts *rawLoadOptions) error {
	eo := opts.app.engineOptions()
	eo.NoMigrate = true
	w, err := engine.Open(ctx, opts.app.warehousePath(), eo)
	if err != nil {
		return err
	}
	defer w.Close()
	return rawLoad(ctx, w, opts.dir)
}

func rawLoad(ctx context.Context, w *engine.Warehouse, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for i, n := range names {
		path := filepath.Join(dir, n)
		table := fmt.Sprintf("raw_%d", i)
		var q string
		switch {
		case strings.HasPrefix(n, "pos_sales_"):
			q = fmt.Sprintf(`CREATE TABLE %s AS SELECT * FROM read_csv(%s, all_varchar = true, encoding = 'latin-1', strict_mode = false, null_padding = true)`, table, engine.QuoteString(path))
		case strings.HasSuffix(n, ".csv"):
			q = fmt.Sprintf(`CREATE TABLE %s AS SELECT * FROM read_csv(%s, all_varchar = true, strict_mode = false, null_padding = true)`, table, engine.QuoteString(path))
		case strings.HasSuffix(n, ".ndjson"):
			q = fmt.Sprintf(`CREATE TABLE %s AS SELECT * FROM read_json(%s, format = 'newline_delimited', ignore_errors = true)`, table, engine.QuoteString(path))
		case strings.HasSuffix(n, ".xlsx"):
			if err := rawXLSX(ctx, w, path, table); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			continue
		default:
			continue
		}
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	return nil
}

// rawXLSX appends a workbook's first sheet as VARCHAR columns.
func rawXLSX(ctx context.Context, w *engine.Warehouse, path, table string) error {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := f.Rows(f.GetSheetList()[0])
	if err != nil {
		return err
	}
	defer rows.Close()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var app *duckdb.Appender
	width := 0
	for rows.Next() {
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return err
		}
		if app == nil {
			width = len(cells)
			cols := make([]string, width)
			for i := range cols {
				cols[i] = fmt.Sprintf("c%d VARCHAR", i)
			}
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", table, strings.Join(cols, ", "))); err != nil {
				return err
			}
			a, err := engine.Appender(conn, table)
			if err != nil {
				return err
			}
			app = a
			continue
		}
		vals := make([]driver.Value, width)
		for i := range vals {
			if i < len(cells) {
				vals[i] = cells[i]
			}
		}
		if err := app.AppendRow(vals...); err != nil {
			return err
		}
	}
	if app != nil {
		return app.Close()
	}
	return nil
}
