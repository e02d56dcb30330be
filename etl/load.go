package etl

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// Options configure a load.
type Options struct {
	// Mappings are configured sources laid over the built-in ones.
	Mappings []Mapping
	// AsOf is the export's as-of time: records dated after it are rejected
	// as date_future. Zero means now.
	AsOf time.Time
	// TmpDir holds staging files (default: the system temp dir).
	TmpDir string
	// Log receives plain progress lines; nil is silent.
	Log func(format string, args ...any)
	// Progress, when set, is called as files are extracted and staged.
	Progress func(Progress)
	// Version is the ckm version recorded in etl_run.
	Version string
	// BeforeCommit hooks run inside the load's transaction after the data
	// is in (e.g. refreshing OLAP rollups), so they commit or roll back
	// with it.
	BeforeCommit []func(ctx context.Context, tx *sql.Tx) error
	// AfterCommit hooks run once the load has committed, in a transaction
	// of their own, for work that reads the whole warehouse but is not the
	// load's data — rollup refreshes, which record the data version they
	// saw, so no reader ever takes one older than the data. Inside the
	// load's transaction they competed with everything the load holds
	// until commit (a 5-million-line load ran out of its 1 GB refreshing
	// the sales rollups, which a fresh process refreshes within 631 MB of
	// RSS). A failed hook leaves the load committed: its error is in
	// Report.AfterCommit.
	AfterCommit []func(ctx context.Context, tx *sql.Tx) error
	// Identity are the thresholds of identity resolution (zero: defaults).
	Identity IdentityRules
	// AfterIdentity, when set, runs inside the load right after identity
	// resolution, while its working tables live (IdentityRecords).
	AfterIdentity func(ctx context.Context, tx *sql.Tx) error
	// FailAfter, in tests, makes the load fail at a named step (after its
	// work, before commit) to prove that nothing half-applied remains.
	FailAfter string
	// Trace, when set, receives each step's time (what CKM_DEBUG_SQL=1
	// turns on in the CLI).
	Trace io.Writer
	// Vault, the opened data key of a protected warehouse, seals raw
	// personal values and tokenises them; a protected warehouse refuses a
	// load without it.
	Vault *vault.Vault
	// TraceMemory adds to Trace, after each statement, what DuckDB's
	// buffer manager holds by tag: in memory / spilled to the temp
	// directory, in MB (CKM_DEBUG_SQL=mem in the CLI).
	TraceMemory bool
	// AnalyzeStep names a step whose statements are profiled with EXPLAIN
	// ANALYZE to Trace before they run (CKM_DEBUG_ANALYZE=facts in the
	// CLI); they then run twice, so it is for performance work only.
	AnalyzeStep string
	// tamper, in tests, changes what the load wrote just before the
	// post-conditions check it (e.g. a broken ledger), to prove they catch it.
	tamper func(ctx context.Context, tx *sql.Tx) error
	// everyTarget, in tests, runs every target's steps even when the load
	// has nothing of it (the path before idle targets were skipped), to
	// prove that skipping them changes nothing.
	everyTarget bool
	// memoAlways, in tests, cleans a small load's sales lines through the
	// memo tables as a large load does, to prove that cleaning them in
	// place changes nothing.
	memoAlways bool
	// everyStep, in tests, runs the statements a load skips when they have
	// nothing to change (dimension versions no change takes, facts of no
	// moved customer, …) and tokenises personal values row by row instead
	// of looking them up in the load's token tables: the paths before
	// those savings, to prove that they change nothing.
	everyStep bool
	// stageInLoad, in tests, stages the files inside the load's
	// transaction (the path before stageAhead), to prove that staging
	// ahead changes nothing.
	stageInLoad bool
	// stageAhead, in tests, stages a small load ahead too, as a load of
	// more than SmallLoadBytes is.
	stageAhead bool
	// keepStagedSales, in tests, keeps every staged sales line's text to
	// the load's end (no releaseStagedSales), to prove that releasing it
	// changes nothing.
	keepStagedSales bool
	// afterStaging, in tests, runs between the staging transaction and
	// the load's (stageAhead), e.g. another load committing; beforeLoad
	// runs before the load's transaction of a load staged inside it.
	afterStaging func(ctx context.Context) error
	// stagedOn, in tests, reads the load's connection once staging ahead
	// has committed (what it left for the load's transaction).
	stagedOn   func(ctx context.Context, conn *sql.Conn) error
	beforeLoad func(ctx context.Context) error
	// memoryKnobs, in tests, sets a large load's memory settings
	// (LoadAllocatorSettings, the jemalloc decay, malloc release,
	// LoadGCPercent) for a small load too, to test them on a small set.
	memoryKnobs bool
}

// Progress reports the state of a running load.
type Progress struct {
	Step      string
	File      string
	FilesDone int
	Files     int
	Rows      int64
	Elapsed   time.Duration
}

// FileReport is the outcome of one file.
type FileReport struct {
	FileID     int64  `json:"file_id"`
	Path       string `json:"path"`
	Source     string `json:"source"`
	Target     string `json:"target"`
	Format     string `json:"format"`
	Encoding   string `json:"encoding"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	Read       int64  `json:"read"`
	Loaded     int64  `json:"loaded"`
	Rejected   int64  `json:"rejected"`
	Duplicates int64  `json:"duplicates"`
	Warned     int64  `json:"warned"`
	// Skipped says why the file was not loaded (already in the manifest).
	Skipped string `json:"skipped,omitempty"`
}

// Report is the outcome of a load.
type Report struct {
	RunID   int64        `json:"run_id"`
	Files   []FileReport `json:"files"`
	Ignored []string     `json:"ignored,omitempty"` // files in a directory no mapping matched
	// Refused are entries of a directory that are not regular files (a
	// FIFO, a device, a symbolic link to one), as "path: what it is": never
	// read, since a pipe or device may never end.
	Refused    []string      `json:"refused,omitempty"`
	Read       int64         `json:"rows_read"`
	Loaded     int64         `json:"rows_loaded"`
	Rejected   int64         `json:"rows_rejected"`
	Duplicates int64         `json:"rows_duplicate"`
	Warned     int64         `json:"rows_warned"`
	Customers  int64         `json:"customers_new"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	// AfterCommit is why Options.AfterCommit failed after the load
	// committed ("": they ran, or there were none).
	AfterCommit string `json:"after_commit_error,omitempty"`
	// bytes is the size of the files the load read (new ones and joined
	// ones read again): what its memory settings were chosen by.
	bytes int64
}

// Small tells whether rep is of a load that committed (a run) and read at
// most SmallLoadBytes of files: the same measure the load chose its memory
// settings by (and its threads, with OneThreadLines).
func (rep *Report) Small() bool {
	return rep != nil && rep.RunID != 0 && rep.bytes <= SmallLoadBytes
}

// ErrNothingToLoad is returned when every file was loaded before.
var ErrNothingToLoad = errors.New("nothing to load")

// fileJob is one file on its way through a load.
type fileJob struct {
	FileReport
	stamp fileStamp // size, time and hash when fingerprinted
	m     *Mapping
	t     *target
	det   Detected
	x     *extraction
}

// Load runs the ETL of the given files and directories into the warehouse in
// one transaction. Files already in the manifest (same sha256) are skipped;
// a load whose counts do not reconcile, or that fails anywhere, rolls back
// and leaves the warehouse as it was.
func Load(ctx context.Context, w *engine.Warehouse, paths []string, opts Options) (*Report, error) {
	start := time.Now()
	if opts.AsOf.IsZero() {
		opts.AsOf = start
	}
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	// Every load, even one with nothing new, removes what killed loads
	// left (stage.go).
	if swept := sweepStageDirs(opts.TmpDir); swept.Folders > 0 {
		logf("removed %d staging folders (%.1f MB) that loads killed before they ended had left", swept.Folders, float64(swept.Bytes)/1e6)
	}
	jobs, rep, err := discoverJobs(ctx, w, paths, opts, logf, start)
	if err != nil {
		return nil, err
	}
	todo, err := selectNewFiles(ctx, w, jobs, opts, logf, start)
	if err != nil {
		return nil, err
	}
	if len(todo) == 0 {
		for _, j := range jobs {
			rep.Files = append(rep.Files, j.FileReport)
		}
		// The after-commit work of a load that committed but was stopped
		// before it (a crash, a kill) is done by the next load, even one
		// with nothing new: the hooks do nothing when all is current.
		if len(jobs) > 0 && len(opts.AfterCommit) > 0 {
			if err := afterCommitOn(ctx, w, opts); err != nil {
				rep.AfterCommit = err.Error()
			}
		}
		rep.Elapsed = time.Since(start)
		return rep, ErrNothingToLoad
	}
	tmpDir, release, err := makeStageDir(opts.TmpDir)
	if err != nil {
		return nil, fmt.Errorf("staging dir: %w", err)
	}
	defer release()
	refs := joinRefs(jobs, todo)
	// Extraction (Go's heap) and the load's transaction (DuckDB's).
	if b := jobBytes(todo) + jobBytes(refs); b > HugePagesMinBytes && b <= HugePagesMaxBytes {
		defer engine.WithHugePages()()
	}
	if err := extractAll(ctx, append(append([]*fileJob(nil), todo...), refs...), tmpDir, opts, start); err != nil {
		return nil, err
	}
	traceSinceStart(opts, start, "extract")
	ld, err := transact(ctx, w, todo, refs, opts, logf, start)
	if err != nil {
		return nil, err
	}
	rep.AfterCommit = ld.afterCommitErr
	rep.bytes = jobBytes(todo) + jobBytes(refs)
	rep.tally(ld, jobs)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// discoverJobs registers the built-in functions and finds the files the
// mappings claim among paths, logging what it ignored or refused.
func discoverJobs(ctx context.Context, w *engine.Warehouse, paths []string, opts Options, logf func(string, ...any), start time.Time) ([]*fileJob, *Report, error) {
	builtin, err := DefaultMappings()
	if err != nil {
		return nil, nil, fmt.Errorf("built-in mappings: %w", err)
	}
	mappings := mergeMappings(builtin, opts.Mappings)
	if err := Register(ctx, w); err != nil {
		return nil, nil, err
	}
	if err := checkVault(ctx, w, opts.Vault); err != nil {
		return nil, nil, err
	}
	if err := CheckExpressions(ctx, w.DB, mappings); err != nil {
		return nil, nil, err
	}
	found, err := discover(paths, mappings)
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{Ignored: found.ignored, Refused: found.refused}
	for _, p := range found.ignored {
		logf("ignored %s: no source mapping matches its name", p)
	}
	for _, why := range found.refused {
		logf("skipped %s", why)
	}
	traceSinceStart(opts, start, "discover")
	return found.jobs, rep, nil
}

// selectNewFiles fingerprints the jobs and returns those not yet in the
// manifest, logging each one skipped.
func selectNewFiles(ctx context.Context, w *engine.Warehouse, jobs []*fileJob, opts Options, logf func(string, ...any), start time.Time) ([]*fileJob, error) {
	if err := fingerprint(ctx, jobs); err != nil {
		return nil, err
	}
	traceSinceStart(opts, start, "fingerprint")
	todo, err := skipLoaded(ctx, w, jobs)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Skipped != "" {
			logf("skipped %s: %s", j.Path, j.Skipped)
		}
	}
	return todo, nil
}

// transact runs the load of the extracted files in one transaction: the
// loader's steps, the sources check and the BeforeCommit hooks, then commit.
// Any error leaves the transaction rolled back.
func transact(ctx context.Context, w *engine.Warehouse, todo, refs []*fileJob, opts Options, logf func(string, ...any), start time.Time) (*loader, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// The connection is closed, not pooled, once the settings are back:
	// whatever TEMP table is left on it (dropTemps drops the load's own) and
	// the memory DuckDB keeps for its dropped ones go with it.
	defer conn.Raw(func(any) error { return driver.ErrBadConn })
	restore, err := loadMemoryLimit(ctx, w, conn)
	if err != nil {
		return nil, err
	}
	defer restore()
	all := append(append([]*fileJob(nil), todo...), refs...)
	// The memory settings keep a large load's resident memory down at
	// some CPU cost; a small load's working tables are a few MB, and
	// giving memory back as it goes only makes it fault the same pages in
	// again (a 10-line load: Go collected 8 times, one of them forced).
	if jobBytes(all) > SmallLoadBytes || opts.memoryKnobs {
		allocator, err := loadAllocator(ctx, w, conn)
		if err != nil {
			return nil, err
		}
		defer allocator()
		defer releaseMallocWhileLoading()()
		defer goMemoryWhileLoading()()
	}
	oneThread, sales, err := smallLoadThreads(ctx, w, conn, all)
	if err != nil {
		return nil, err
	}
	defer oneThread()
	ld := &loader{ctx: ctx, opts: opts, jobs: todo, refs: refs, logf: logf, start: start}
	ld.cpuMark, _ = ProcessCPU()
	// A load small enough for one thread (oneThreadLoad) stages inside its
	// transaction: staging ahead is for scans on several threads, and
	// would only add its statements.
	if !opts.stageInLoad && (!oneThreadLoad(all) || opts.stageAhead) {
		if err := ld.stageAhead(conn); err != nil {
			return nil, err
		}
	}
	if !ld.stagedAhead && opts.beforeLoad != nil {
		if err := opts.beforeLoad(ctx); err != nil {
			return nil, err
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin load: %w", err)
	}
	defer tx.Rollback()
	ld.tx = tx
	if err := ld.run(); errors.Is(err, errSalesReleased) {
		// A line needs a raw record whose staged text staging ahead
		// released (releaseStagedSales): the load starts over in a new
		// transaction, staging its files there, where every line's text
		// stays to its end. What staging ahead committed is dropped first,
		// in a transaction of its own, so that it holds no memory.
		tx.Rollback()
		logf("files staged again: %v", err)
		if drops := ld.dropTempsSQL(nil); drops != "" {
			if _, err := conn.ExecContext(ctx, drops); err != nil {
				return nil, fmt.Errorf("load: %w", err)
			}
		}
		ld = &loader{ctx: ctx, opts: opts, jobs: todo, refs: refs, logf: logf, start: start}
		ld.cpuMark, _ = ProcessCPU()
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return nil, fmt.Errorf("begin load: %w", err)
		}
		defer tx.Rollback()
		ld.tx = tx
		if err := ld.run(); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	// The hooks before commit run on the load's threads too (a small
	// load's on one), and so do those after commit unless the warehouse's
	// sales are many (refreshThreadSales): the rollups are refreshed in place, in
	// the periods the load touched (olap.RefreshRollups), which a small
	// load keeps few, but each holds every line of the warehouse in it.
	if err := checkSources(todo); err != nil {
		return nil, err
	}
	t0 := time.Now()
	for _, hook := range opts.BeforeCommit {
		if err := hook(ctx, tx); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	ld.traceStep("before-commit hooks", t0)
	if opts.FailAfter == "commit" {
		return nil, errors.New("load: injected failure before commit")
	}
	t0 = time.Now()
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit load: %w", err)
	}
	ld.traceStep("commit", t0)
	// After commit, on the same connection and threads (a small load's
	// rollups are refreshed in place, on one thread) — unless the sales
	// the refresh reads are many: it recomputes the periods the load
	// touched from every line of the warehouse in them, and a daily load
	// into a year of sales recomputes the year (refreshThreadSales;
	// sales, counted before the load, is 0 where the load kept its
	// threads anyway).
	t0 = time.Now()
	if len(opts.AfterCommit) > 0 && sales > refreshThreadSales {
		oneThread()
	}
	if err := afterCommit(ctx, conn, opts); err != nil {
		ld.afterCommitErr = err.Error()
	}
	if len(opts.AfterCommit) > 0 {
		ld.traceStep("after-commit hooks", t0)
	}
	return ld, nil
}

// refreshThreadSales is the number of sales lines in the warehouse
// above which a small load's rollup refresh gets the warehouse's threads
// back: more than a row group, which DuckDB scans on several threads. Into
// the 4.9 M line warehouse of ckm bench etl, two runs each on 2 cores:
// the bench's 10-line load (dates in 10 months of 2024, so year_province
// recomputes 2.5 M lines of 2024 and month_region_category ten months)
// refreshed in 1.51–1.61 s on one thread against 0.97–0.99 s on two; the
// same lines on one day 0.92 against 0.54–0.64 s.
const refreshThreadSales = OneThreadLines

// afterCommitOn runs opts.AfterCommit on a connection of w's (see
// afterCommit).
func afterCommitOn(ctx context.Context, w *engine.Warehouse, opts Options) error {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return afterCommit(ctx, conn, opts)
}

// afterCommit runs opts.AfterCommit in one transaction of its own on conn.
func afterCommit(ctx context.Context, conn *sql.Conn, opts Options) error {
	if len(opts.AfterCommit) == 0 {
		return nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, hook := range opts.AfterCommit {
		if err := hook(ctx, tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// loadMemoryLimit sets DuckDB's memory_limit to engine.LoadMemoryLimit for
// the load when the warehouse is a file opened without one, and returns
// what puts the default back (memory_limit is the database's, not the
// connection's). An in-memory warehouse keeps its setting: its tables live
// in that memory.
func loadMemoryLimit(ctx context.Context, w *engine.Warehouse, conn *sql.Conn) (func(), error) {
	if w.MemoryLimit != "" || w.Path == engine.Memory || w.ReadOnly {
		return func() {}, nil
	}
	if _, err := conn.ExecContext(ctx, "SET memory_limit = "+engine.QuoteString(engine.LoadMemoryLimit)); err != nil {
		return nil, fmt.Errorf("load: memory_limit %s: %w", engine.LoadMemoryLimit, err)
	}
	return resetOn(ctx, w, "RESET memory_limit"), nil
}

// resetOn returns what runs a statement that puts the database's settings
// back (memory_limit, threads, the allocator's: the database's, not a
// connection's) on a connection of w's pool, not on the load's own: when
// the load's context is cancelled (ckm serve stopping a scheduled load),
// database/sql closes the load's connection from the watcher of its
// transaction, and a statement on it then failed — the settings stayed
// the load's for the rest of the process — or, racing that close,
// dereferenced the closed connection and panicked (TestServeCoexistence,
// CI).
func resetOn(ctx context.Context, w *engine.Warehouse, q string) func() {
	return func() { w.DB.ExecContext(context.WithoutCancel(ctx), q) }
}

// LoadAllocatorSettings are DuckDB's allocator settings a load of more
// than SmallLoadBytes runs under: jemalloc's background thread returns the pages DuckDB freed to
// the system as they age (DuckDB keeps them 5 s by default, and a load that
// spills frees and allocates hundreds of MB a second), and a thread whose
// allocations peaked past 32MB in a task (default 128MB) flushes its cache
// and purges its arena after it. Measured at 1 M lines (with
// engine's malloc knobs; load average 12–13): jemalloc's dirty pages at
// the peak 150 → 5–40 MB.
var LoadAllocatorSettings = [][2]string{
	{"allocator_background_threads", "true"},
	{"allocator_flush_threshold", "'32MB'"},
}

// loadAllocator sets LoadAllocatorSettings for the load and returns what
// resets them (they are the database's settings, not the connection's).
func loadAllocator(ctx context.Context, w *engine.Warehouse, conn *sql.Conn) (func(), error) {
	var set, reset []string
	for _, kv := range LoadAllocatorSettings {
		set = append(set, "SET "+kv[0]+" = "+kv[1])
		reset = append(reset, "RESET "+kv[0])
	}
	if _, err := conn.ExecContext(ctx, strings.Join(set, "; ")); err != nil {
		return nil, fmt.Errorf("load: allocator settings: %w", err)
	}
	return resetOn(ctx, w, strings.Join(reset, "; ")), nil
}

// A load leaves DuckDB's jemalloc decay times at DuckDB's 1000 ms (an
// earlier setter, engine.SetJemallocDecay, is gone with its use). Giving freed pages back within
// 100 ms (muzzy 0) kept a spilling load's resident memory lower, but the
// pages it gave back were faulted in again: measured side by side on this
// two-core machine beside other work (load 6–9), 1 M lines (ckm fixtures
// generate --customers 44000) 70.4/79.6 CPU s with it against 63.8/60.4
// without, peak 1,125 → 1,183–1,208 MB; 5 M lines (--customers 220000)
// 425.7 → 382.7 CPU s (system 141 → 112 s), peak 1,226 → 1,307 MB, under
// the goal of 1.5 GB.

// mallocReleaseEvery is how often a load gives back what the C library's
// malloc holds free (engine.ReleaseMallocFree): DuckDB's own objects come
// from it, and glibc keeps the pages a load frees among chunks still in use
// (at 5 M lines, with engine's malloc knobs, 80 MB of the 106 MB it held).
const mallocReleaseEvery = time.Second

// mallocReleases counts the load's calls of engine.ReleaseMallocFree.
var mallocReleases atomic.Int64

// releaseMallocWhileLoading calls engine.ReleaseMallocFree every
// mallocReleaseEvery until the function it returns is called.
func releaseMallocWhileLoading() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(mallocReleaseEvery)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				engine.ReleaseMallocFree()
				mallocReleases.Add(1)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// LoadGCPercent is Go's GOGC while the transaction of a load of more
// than SmallLoadBytes runs (Go's
// default is 100). There DuckDB holds up to its memory limit, and Go's
// heap grows with the load (the vault's customer keys, the customers'
// changes: ~60 MB live at 5 M lines, with 124–133 MB taken from the
// system under GOGC=100); Go keeps about its heap goal, live × (1 +
// GOGC/100), so 25 keeps ~1.25 × live instead of twice it. The
// transaction allocates little in Go (at 1 M lines ~18 collections against
// 128 in the extraction before it), so collecting more often costs little.
const LoadGCPercent = 25

// goMemoryWhileLoading sets Go's GOGC to LoadGCPercent for the load's
// transaction (unless the process runs with a lower one, or with the
// collector off) and gives the memory Go freed in the extraction back to
// the system; the function it returns puts the earlier GOGC back.
func goMemoryWhileLoading() (restore func()) {
	before := debug.SetGCPercent(LoadGCPercent)
	if before <= LoadGCPercent { // lower already, or off (-1)
		debug.SetGCPercent(before)
	}
	debug.FreeOSMemory()
	return func() { debug.SetGCPercent(before) }
}

// SmallLoadBytes is the size of input up to which a load's statements run
// on one DuckDB thread (when the warehouse was opened without a threads
// setting). A small load's statements each move a few rows: on several
// threads each of its ~200 statements pays for handing pipelines to worker
// threads and waking them, which on a busy machine is most of its time
// (measured: a 10-line load 1.1–1.5 s wall and 0.85 s CPU on one thread
// against 2.2–2.8 s and 1.2 s CPU on two, load average 13).
const SmallLoadBytes = 4 << 20

// A load of more than HugePagesMinBytes and at most HugePagesMaxBytes of
// files maps its memory in huge pages (engine.WithHugePages): the bench's
// plain 1 M-line CSV (82 MB) took 6.78–6.88 s against 7.48–7.77 s. A
// small load touches too little memory to gain (its peak RSS only grew by
// ~80 MB); past a quarter of the 1 GB LoadMemoryLimit (the bound does not
// follow a memory_limit set higher) a load's working tables outgrow the
// limit and DuckDB spills, freeing and taking memory all along, and huge
// pages then add
// resident memory the limit does not count for little time: ckm bench
// etl's 5 M-line exports (616 MB), one pair alternated, 84.2 s and peak RSS
// 1,476 MB with them against 87.1 s and 1,420 MB without (goal 1.5 GB).
// Variables: tests move them.
var (
	HugePagesMinBytes int64 = SmallLoadBytes
	HugePagesMaxBytes int64 = 256 << 20
)

// OneThreadLines is the number of source records up to which a load
// runs on one DuckDB thread however large its files (SmallLoadBytes is
// the other bound): DuckDB parts a table scan among threads by row group
// (122,880 rows), so the load's own tables of fewer lines are scanned on
// one thread either way, and a second thread mostly adds the hand-over of
// each of the load's ~200 pipelines to it. Measured on 2 cores (ckm load
// of the plain order CSV of ckm bench etl cut to N lines, three runs
// each, medians): 100,000 lines 2.33 s on one thread against 2.71 s on
// two, and 3.62 against 3.85 s into a warehouse holding a million lines
// already; 250,000 lines 4.52 against 3.81 s — there two threads win.
const OneThreadLines = 122_880

// ManyThreadSales is the number of sales lines in a warehouse above which
// even a small load keeps the warehouse's threads: its statements that
// read the warehouse's own large tables (the earlier holders of its keys,
// their sealed values, the key post-check) then outweigh handing its few
// rows to a second thread. Measured on 2 cores, a 10-line
// till file (ckm bench etl's daily load), four runs each alternated, one
// thread against two: into 1 M lines (the bench's plain warehouse)
// 0.63–0.72 s against 0.72–0.75 s; into 2.5 M (ckm fixtures generate
// --customers 110000) 1.22–1.31 against 1.18–1.28 s; into the bench's
// 4.9 M 1.71–1.96 against 1.48–1.65 s. Twenty row groups: about where
// the two cross.
const ManyThreadSales = 20 * 122_880

// manyThreadSales is ManyThreadSales, lowered by tests.
var manyThreadSales int64 = ManyThreadSales

// smallLoadThreads sets DuckDB's threads to 1 for a load of at most
// SmallLoadBytes of files or at most OneThreadLines source records into a
// warehouse opened without a threads setting that holds at most
// ManyThreadSales sales lines. It returns what sets the earlier value
// back (threads is the database's setting, like memory_limit; calling it
// twice is harmless) and the warehouse's sales lines, which it counts
// only to decide (0 when a threads setting or the load's size decided).
func smallLoadThreads(ctx context.Context, w *engine.Warehouse, conn *sql.Conn, jobs []*fileJob) (restore func(), sales int64, err error) {
	if w.Threads != 0 || !oneThreadLoad(jobs) {
		return func() {}, 0, nil
	}
	if sales, err = engine.SalesLines(ctx, conn); err != nil {
		return nil, 0, fmt.Errorf("load: threads: %w", err)
	} else if sales > manyThreadSales {
		return func() {}, sales, nil
	}
	var before int64
	if err := conn.QueryRowContext(ctx, "SELECT CAST(current_setting('threads') AS BIGINT)").Scan(&before); err != nil {
		return nil, 0, fmt.Errorf("load: threads: %w", err)
	}
	if before <= 1 {
		return func() {}, sales, nil
	}
	if _, err := conn.ExecContext(ctx, "SET threads = 1"); err != nil {
		return nil, 0, fmt.Errorf("load: threads: %w", err)
	}
	return sync.OnceFunc(resetOn(ctx, w, fmt.Sprintf("SET threads = %d", before))), sales, nil
}

// oneThreadLoad tells whether a load of jobs is small enough, in bytes
// (SmallLoadBytes) or in lines (OneThreadLines), to run on one DuckDB
// thread and stage inside its transaction.
func oneThreadLoad(jobs []*fileJob) bool {
	return jobBytes(jobs) <= SmallLoadBytes || jobRecords(jobs) <= OneThreadLines
}

// jobRecords is the number of source records the jobs' files held
// (data rows, JSON lines), as their extraction counted them; a job not
// extracted counts as more than any bound.
func jobRecords(jobs []*fileJob) int64 {
	var n int64
	for _, j := range jobs {
		if j.x == nil {
			return math.MaxInt64
		}
		n += j.x.records
	}
	return n
}

// jobBytes is the size of the jobs' files.
func jobBytes(jobs []*fileJob) int64 {
	var size int64
	for _, j := range jobs {
		size += j.Size
	}
	return size
}

// joinRefs are the joined files skipped as loaded before whose source has
// new files in this load: their lines are read again to join to the new
// ones (an export's customer file unchanged since yesterday).
func joinRefs(jobs, todo []*fileJob) []*fileJob {
	fresh := map[*Mapping]bool{}
	for _, j := range todo {
		if j.m.joinOf == nil {
			fresh[j.m] = true
		}
	}
	var refs []*fileJob
	for _, j := range jobs {
		if j.Skipped != "" && j.m.joinOf != nil && fresh[j.m.joinOf] {
			refs = append(refs, j)
		}
	}
	return refs
}

// tally fills the report from a committed load: its run, new customers and
// every file's counts (skipped files included, with theirs).
func (rep *Report) tally(ld *loader, jobs []*fileJob) {
	rep.RunID = ld.runID
	rep.Customers = ld.newCustomers
	for _, j := range jobs {
		rep.Files = append(rep.Files, j.FileReport)
		rep.Read += j.Read
		rep.Loaded += j.Loaded
		rep.Rejected += j.Rejected
		rep.Duplicates += j.Duplicates
		rep.Warned += j.Warned
	}
}

// traceSinceStart writes a step's time since the load began to opts.Trace.
func traceSinceStart(opts Options, start time.Time, step string) {
	if opts.Trace != nil {
		cpu := ""
		if d, ok := ProcessCPU(); ok {
			cpu = fmt.Sprintf(" cpu %.3fs", d.Seconds())
		}
		fmt.Fprintf(opts.Trace, "%8.3fs %s (since start)%s\n", time.Since(start).Seconds(), step, cpu)
	}
}

// discovered is what discover found in the paths given to a load.
type discovered struct {
	jobs    []*fileJob
	ignored []string // files in a directory no mapping matches
	refused []string // entries of a directory that are not regular files, and why
}

// discover expands directories (sorted, hidden files left out) and matches
// each file to a mapping. A named file nothing matches is an error; in a
// directory it is ignored and listed. Only regular files are loaded, also
// behind symbolic links: a named path that is anything else (a FIFO, a
// device) is an error, and in a directory it is refused and listed.
func discover(paths []string, mappings []Mapping) (*discovered, error) {
	if len(paths) == 0 {
		return nil, errors.New("no files or directories to load")
	}
	found := &discovered{}
	add := func(path string, named bool) error {
		ms := claims(mappings, path)
		if len(ms) == 0 {
			if named {
				return fmt.Errorf("%s: no source mapping matches this file name; add a source with a matching pattern to ckm.yaml (built-in patterns: %s)", path, patternList(mappings))
			}
			found.ignored = append(found.ignored, path)
			return nil
		}
		for _, m := range ms {
			found.jobs = append(found.jobs, &fileJob{FileReport: FileReport{Path: path, Source: m.Name, Target: m.Target}, m: m, t: targets[m.Target]})
		}
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		if !st.IsDir() {
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("load: %w", notRegular(p, st.Mode()))
			}
			if err := add(p, true); err != nil {
				return nil, err
			}
			continue
		}
		files, refused, err := regularFiles(p)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", p, err)
		}
		found.refused = append(found.refused, refused...)
		for _, f := range files {
			if err := add(f, false); err != nil {
				return nil, err
			}
		}
	}
	jobs := found.jobs
	// Dimensions before the facts that use them; then by path.
	sort.SliceStable(jobs, func(a, b int) bool {
		if jobs[a].t.Order != jobs[b].t.Order {
			return jobs[a].t.Order < jobs[b].t.Order
		}
		if jobs[a].Path != jobs[b].Path {
			return jobs[a].Path < jobs[b].Path
		}
		return jobs[a].Source < jobs[b].Source
	})
	return found, nil
}

// regularFiles walks dir (hidden entries left out) and returns its regular
// files, sorted, following symbolic links to files; every other entry but
// a directory is refused with what it is.
func regularFiles(dir string) (files, refused []string, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			files = append(files, path)
		default:
			_, err := statRegular(path)
			var nr *NotRegularError
			var pe *fs.PathError
			switch {
			case err == nil:
				files = append(files, path)
			case errors.As(err, &nr):
				refused = append(refused, fmt.Sprintf("%s: %s, not a regular file", path, nr.What()))
			case errors.As(err, &pe):
				refused = append(refused, fmt.Sprintf("%s: %v", path, pe.Err))
			default:
				refused = append(refused, fmt.Sprintf("%s: %v", path, err))
			}
		}
		return nil
	})
	sort.Strings(files)
	return files, refused, err
}

func patternList(ms []Mapping) string {
	var ps []string
	for _, m := range ms {
		ps = append(ps, m.Pattern)
	}
	return strings.Join(ps, ", ")
}

// fingerprint hashes each file (its bytes up to its size when opened) for
// the manifest, two files at a time (twoAtATime); it stops when ctx is
// cancelled, and reports the first file's error in the jobs' order.
func fingerprint(ctx context.Context, jobs []*fileJob) error {
	for _, err := range twoAtATime(len(jobs), func(i int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		j := jobs[i]
		s, err := fingerprintFile(ctx, j.Path)
		if err != nil {
			return fmt.Errorf("load %s: %w", j.Path, err)
		}
		j.stamp, j.Size, j.SHA256 = s, s.size, s.sha256
		return nil
	}) {
		if err != nil {
			return err
		}
	}
	return nil
}

// skipLoaded marks files whose content is in the manifest already for the
// same source (or twice in this load) and returns the rest: one file may
// feed several sources.
func skipLoaded(ctx context.Context, w *engine.Warehouse, jobs []*fileJob) ([]*fileJob, error) {
	rows, err := w.DB.QueryContext(ctx, `SELECT sha256 || chr(0) || source, path, run_id FROM etl_file`)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	seen := map[string]string{}
	for rows.Next() {
		var sha, path string
		var run int64
		if err := rows.Scan(&sha, &path, &run); err != nil {
			rows.Close()
			return nil, err
		}
		seen[sha] = fmt.Sprintf("same content as %s, loaded in run %d", path, run)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var todo []*fileJob
	for _, j := range jobs {
		key := j.SHA256 + "\x00" + j.Source
		if why, ok := seen[key]; ok {
			j.Skipped = why
			continue
		}
		seen[key] = "same content as " + j.Path + " in this load"
		todo = append(todo, j)
	}
	return todo, nil
}

// extractAll detects and extracts files, two at a time.
func extractAll(ctx context.Context, jobs []*fileJob, tmpDir string, opts Options, start time.Time) error {
	var (
		mu   sync.Mutex
		done int
		rows int64
	)
	return errors.Join(twoAtATime(len(jobs), func(i int) error {
		j := jobs[i]
		err := extractFile(ctx, j, tmpDir)
		mu.Lock()
		done++
		if j.x != nil {
			rows += j.x.records
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Step: "extract", File: j.Path, FilesDone: done, Files: len(jobs), Rows: rows, Elapsed: time.Since(start)})
		}
		mu.Unlock()
		return err
	})...)
}

// twoAtATime runs fn(0) … fn(n-1), two at a time (a load's files are read
// and hashed on two cores), and returns each one's error in that order.
func twoAtATime(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errs
}

// extractFile detects and extracts one file from the bytes fingerprinted:
// a file that changed since is an ErrFileChanged.
func extractFile(ctx context.Context, j *fileJob, tmpDir string) error {
	if err := extractSource(ctx, j, tmpDir); err != nil {
		return fmt.Errorf("%s: %w", j.Path, err)
	}
	j.Read = j.x.records
	return nil
}

func extractSource(ctx context.Context, j *fileJob, tmpDir string) error {
	src, err := openSource(ctx, j.Path, j.stamp)
	if err != nil {
		return err
	}
	defer src.Close()
	if j.stamp.size == 0 {
		// An export of nothing (a channel with no sales that day): no lines
		// read, recorded in the manifest like any other file.
		j.Format = j.m.Format
		if j.Format == "" {
			j.Format = detectFormat(j.Path, nil)
		}
		j.x = &extraction{}
		return src.verify()
	}
	head, err := src.head(sniffSize)
	if err != nil {
		return err
	}
	det, err := detectHead(j.Path, head, j.m)
	if err != nil {
		return err
	}
	j.det, j.Format, j.Encoding = det, det.Format, det.Encoding
	switch det.Format {
	case "ndjson", "json":
		j.x, err = extractJSON(ctx, src, det, tmpDir)
	case "parquet":
		// DuckDB reads Parquet directly when staging; checkSources then
		// tells whether the file changed.
		j.x = &extraction{}
		return nil
	default:
		j.x, err = extractTabular(ctx, src, j.stamp.size, det, j.m, tmpDir)
	}
	if err != nil {
		return err
	}
	if err := src.verify(); err != nil {
		for _, f := range j.x.files() {
			os.Remove(f)
		}
		j.x = nil
		return err
	}
	return nil
}

// checkSources tells whether a file changed after extraction (DuckDB reads
// Parquet sources itself while staging).
func checkSources(jobs []*fileJob) error {
	for _, j := range jobs {
		st, err := os.Stat(j.Path)
		if err != nil {
			return fmt.Errorf("%s: %w", j.Path, err)
		}
		if why := j.stamp.changedSince(st); why != "" {
			return fmt.Errorf("%s: %w (%s); load it again once it is complete", j.Path, ErrFileChanged, why)
		}
	}
	return nil
}

// loader is the transactional part of a load.
type loader struct {
	ctx          context.Context
	tx           *sql.Tx
	opts         Options
	jobs         []*fileJob
	logf         func(string, ...any)
	start        time.Time
	runID        int64
	newCustomers int64
	// refs are joined files loaded before, read again for the lines of
	// this load that join to them; they get no manifest entry.
	refs []*fileJob
	raws []rawJob
	// idle are the targets with nothing in this load: no file of theirs
	// and no staged line. Their validation and fact steps would read empty
	// tables and change nothing, so they are skipped (see noteIdle).
	idle map[string]bool
	// narrowed are the targets whose staging table holds only the fields
	// this load's mappings map, each with those fields (narrowStaging).
	narrowed map[string]map[string]bool
	// temps are the TEMP tables and views the load's statements created
	// and did not drop (name → "TABLE" or "VIEW"), in the order of their
	// creation: what dropTemps drops, without reading the catalog.
	temps     map[string]string
	tempOrder []string
	// noPrior: no earlier customer holds a key of the load, so identity
	// resolution brought no earlier record in (addPriorRecords; never on
	// the full path, everyStep).
	noPrior bool
	// fileBase is the largest file id in etl_file when the files were
	// staged (their ids follow it); stagedAhead: they were staged in a
	// transaction of their own (stageAhead).
	fileBase    int64
	stagedAhead bool
	// cleanedAhead: the sales lines were cleaned there too (cleanSales), all
	// rules but product_unknown, which reads dim_product as this load's
	// products step leaves it (validateSales applies it).
	cleanedAhead bool
	// salesReleased: staging ahead kept the staged text of the candidate
	// sales lines only (releaseStagedSales).
	salesReleased bool
	// stageConn is the load's connection while stageAhead runs (settle
	// commits on it); nil otherwise.
	stageConn *sql.Conn
	// channels are the channels of identity's records, read once they are
	// final (readChannels; nil: collected with list()).
	channels *channelSet
	// cpuMark is the process's CPU time at the trace's last step line.
	cpuMark time.Duration
	// afterCommitErr is why Options.AfterCommit failed ("": it did not).
	afterCommitErr string
}

// tempDDL finds the TEMP tables and views a statement creates or the
// tables it drops.
var tempDDL = regexp.MustCompile(`(?i)\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+(TABLE|VIEW)|DROP\s+(TABLE|VIEW)(?:\s+IF\s+EXISTS)?)\s+(?:temp\.)?"?([A-Za-z_][A-Za-z0-9_]*)"?`)

// noteTemps records the TEMP objects query creates and drops. The
// regular expression runs only on statements that name a TEMP object or
// drop one (the load's DDL is upper case): on every statement it cost ~1 %
// of a small load's CPU.
func (l *loader) noteTemps(query string) {
	if !strings.Contains(query, "TEMP") && !strings.Contains(query, "DROP") {
		return
	}
	for _, m := range tempDDL.FindAllStringSubmatch(query, -1) {
		name := m[3]
		if m[1] == "" {
			delete(l.temps, name)
			continue
		}
		if l.temps == nil {
			l.temps = map[string]string{}
		}
		if _, ok := l.temps[name]; !ok {
			l.tempOrder = append(l.tempOrder, name)
		}
		l.temps[name] = strings.ToUpper(m[1])
	}
}

func (l *loader) exec(step, query string, args ...any) error {
	_, err := l.execRows(step, query, args...)
	return err
}

// execRows is exec that also returns how many rows the statement changed.
func (l *loader) execRows(step, query string, args ...any) (int64, error) {
	if l.opts.Trace != nil {
		t0 := time.Now()
		c0, _ := ProcessCPU()
		defer func() {
			cpu := ""
			if c1, ok := ProcessCPU(); ok {
				cpu = fmt.Sprintf(" cpu %.3fs", (c1 - c0).Seconds())
			}
			fmt.Fprintf(l.opts.Trace, "%8.3fs %s %.60q%s\n", time.Since(t0).Seconds(), step, query, cpu)
			if l.opts.TraceMemory {
				l.traceMemory()
			}
		}()
	}
	if l.opts.AnalyzeStep != "" && l.opts.AnalyzeStep == step && l.opts.Trace != nil {
		var kind, plan string
		if err := l.tx.QueryRowContext(l.ctx, "EXPLAIN ANALYZE "+query, args...).Scan(&kind, &plan); err == nil {
			fmt.Fprintln(l.opts.Trace, plan)
		}
	}
	res, err := l.tx.ExecContext(l.ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", step, err)
	}
	l.noteTemps(query)
	if l.opts.FailAfter == step {
		return 0, fmt.Errorf("load: injected failure after %s", step)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", step, err)
	}
	return n, nil
}

// traceMemory writes DuckDB's memory by tag (in memory/spilled, MB) to
// opts.Trace; a failure to read it is written there too, never the load's.
func (l *loader) traceMemory() {
	rows, err := l.tx.QueryContext(l.ctx, `SELECT tag, memory_usage_bytes / 1e6, temporary_storage_bytes / 1e6 FROM duckdb_memory()
		WHERE memory_usage_bytes + temporary_storage_bytes > 0 ORDER BY memory_usage_bytes DESC, tag`)
	if err != nil {
		fmt.Fprintf(l.opts.Trace, "          mem: %v\n", err)
		return
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var tag string
		var inMem, spilled float64
		if err := rows.Scan(&tag, &inMem, &spilled); err != nil {
			fmt.Fprintf(l.opts.Trace, "          mem: %v\n", err)
			return
		}
		fmt.Fprintf(&b, " %s=%.1f/%.1f", tag, inMem, spilled)
	}
	fmt.Fprintf(l.opts.Trace, "          mem (MB in memory/spilled):%s\n", b.String())
}

func (l *loader) count(query string, args ...any) (int64, error) {
	var n sql.NullInt64
	err := l.tx.QueryRowContext(l.ctx, query, args...).Scan(&n)
	return n.Int64, err
}
