package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/duckdb/duckdb-go/v2"
)

// ErrLocked is returned (wrapped in a *LockedError) when another process
// holds the warehouse file.
var ErrLocked = errors.New("warehouse is locked by another process")

// LockedError explains which file is locked and what to do about it.
type LockedError struct {
	Path   string
	Holder string // e.g. "PID 1234", when DuckDB says
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.Holder != "" {
		holder = "another process (" + e.Holder + ")"
	}
	return fmt.Sprintf("warehouse %s is in use by %s: a running `ckm load`, `ckm sql` shell or another program holding it open; "+
		"wait for it to finish or close it, or open the warehouse read-only (--read-only) if that process only reads", e.Path, holder)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// ErrNoWarehouse is returned (wrapped in a *NoWarehouseError) when Open may
// not create the warehouse and there is none at the path.
var ErrNoWarehouse = errors.New("no warehouse")

// NoWarehouseError names the path where a warehouse was expected.
type NoWarehouseError struct{ Path string }

func (e *NoWarehouseError) Error() string {
	return fmt.Sprintf("no warehouse at %s; run ckm init", e.Path)
}

func (e *NoWarehouseError) Unwrap() error { return ErrNoWarehouse }

// Options configure Open.
type Options struct {
	// ReadOnly opens the file in DuckDB's read-only mode: several read-only
	// processes may share it, but none while a writer holds it. It implies
	// MustExist.
	ReadOnly bool
	// MustExist refuses a path with no warehouse file (a *NoWarehouseError)
	// instead of creating one: for commands that read, or write only next
	// to data that must be there already.
	MustExist bool
	// NoMigrate skips creating or upgrading the schema (used by tools that
	// inspect a warehouse as it is).
	NoMigrate bool
	// Threads limits DuckDB's worker threads (0: DuckDB's default, one
	// per core).
	Threads int
	// MemoryLimit is DuckDB's memory_limit, a size such as "4GB" or
	// "512MiB" ("": DuckDB's default, 80 % of the machine's memory). Past
	// it DuckDB spills to TempDirectory rather than growing.
	MemoryLimit string
	// TempDirectory is where DuckDB spills what does not fit in
	// MemoryLimit ("": DuckDB's default, PATH.tmp beside the warehouse
	// file, .tmp in the working directory for an in-memory one).
	TempDirectory string
}

// LoadMemoryLimit is the memory_limit a load into a warehouse file runs
// under when none was set (Options.MemoryLimit, --memory-limit,
// CKM_MEMORY_LIMIT, memory_limit in ckm.yaml): DuckDB spills what does not
// fit to the temp_directory. Without it DuckDB's default of 80 % of the
// machine's memory let a 5 million line load reach 12.4 GB; under 1 GB it
// peaked at 1.92 GB on an idle machine, most of the excess memory the C
// library's malloc and DuckDB's jemalloc kept after DuckDB freed it (see
// malloc_linux.go and etl.LoadAllocatorSettings; with both, 1.70 → 1.40 GB
// side by side at load average 12–14), and under 768MB it fails in the
// fact insert. Other commands keep DuckDB's default.
const LoadMemoryLimit = "1GB"

// memorySize is a DuckDB memory size: a number and a unit (bytes when none).
var memorySize = regexp.MustCompile(`(?i)^\s*[0-9]+(\.[0-9]+)?\s*(b|bytes?|kb|mb|gb|tb|kib|mib|gib|tib|k|m|g|t)?\s*$`)

// Check tells whether the DuckDB settings of o are usable, with an error
// naming the setting and what it takes: DuckDB's own message for a bad
// memory_limit does not say what it wants.
func (o Options) Check() error {
	if o.Threads < 0 {
		return fmt.Errorf("threads %d: want a positive number of DuckDB worker threads (0 or unset: one per core)", o.Threads)
	}
	if o.MemoryLimit != "" && !memorySize.MatchString(o.MemoryLimit) {
		return fmt.Errorf("memory_limit %q: want a size such as 4GB, 1.5GiB or 512MB (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", o.MemoryLimit)
	}
	if o.TempDirectory != "" {
		if st, err := os.Stat(o.TempDirectory); err == nil && !st.IsDir() {
			return fmt.Errorf("temp_directory %s: not a directory (DuckDB spills its files into a directory)", o.TempDirectory)
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("temp_directory %s: %w", o.TempDirectory, err)
		}
	}
	return nil
}

// Warehouse is an open ckm warehouse. Its DB is safe for concurrent use;
// all connections share one DuckDB database instance.
type Warehouse struct {
	DB       *sql.DB
	Path     string // ":memory:" for an in-memory warehouse
	ReadOnly bool
	// MemoryLimit is the memory_limit Open was given ("": none, DuckDB's
	// default). A load uses LoadMemoryLimit when it is "".
	MemoryLimit string
	// Threads is the threads Open was given (0: none, DuckDB's default).
	// A small load runs on one thread when it is 0.
	Threads int

	connector *duckdb.Connector
	mu        sync.Mutex
	setups    map[string]error
}

// Memory is the Path of an in-memory warehouse.
const Memory = ":memory:"

// Open opens (creating if needed, unless opts.MustExist or opts.ReadOnly) the
// warehouse at path and brings its schema to the current version unless
// opts.NoMigrate or opts.ReadOnly is set. An empty path or ":memory:" opens
// an in-memory warehouse.
func Open(ctx context.Context, path string, opts Options) (*Warehouse, error) {
	if path == "" {
		path = Memory
	}
	if err := opts.Check(); err != nil {
		return nil, fmt.Errorf("open warehouse %s: %w", path, err)
	}
	dsnPath := path
	created := false
	if path == Memory {
		dsnPath = ""
		if opts.ReadOnly {
			return nil, errors.New("open warehouse: an in-memory warehouse cannot be read-only")
		}
	} else {
		if opts.ReadOnly || opts.MustExist {
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				return nil, &NoWarehouseError{Path: path}
			} else if err != nil {
				return nil, fmt.Errorf("open warehouse %s: %w", path, err)
			}
		} else if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("open warehouse %s: %w", path, err)
			}
			_, err := os.Stat(path)
			created = errors.Is(err, os.ErrNotExist)
		}
	}
	fromTemplate := false
	if created && !opts.NoMigrate {
		var err error
		if fromTemplate, err = writeTemplate(path); err != nil {
			return nil, err
		}
	}
	q := url.Values{}
	// No network at run time: a query needing a missing extension must fail
	// clearly instead of trying to download it.
	q.Set("autoinstall_known_extensions", "false")
	// DuckDB 1.5.6 loses every row of an INSERT … SELECT that takes its
	// batch-insert path (a source of one row group or more, order kept) when
	// an earlier INSERT into the same table in the same transaction appended
	// nothing: the load's reject ledger ended empty once a rule produced
	// 122,880 entries. Without insertion order DuckDB uses its plain parallel
	// insert, which keeps every row (engine/testdata/batch_insert_loss.sql;
	// TestBatchInsertKeepsRows). Queries that need an order say ORDER BY.
	q.Set("preserve_insertion_order", "false")
	if opts.ReadOnly {
		q.Set("access_mode", "READ_ONLY")
	}
	if opts.Threads > 0 {
		q.Set("threads", fmt.Sprint(opts.Threads))
	}
	if opts.MemoryLimit != "" {
		q.Set("memory_limit", opts.MemoryLimit)
	}
	if opts.TempDirectory != "" {
		q.Set("temp_directory", opts.TempDirectory)
	}
	dsn := dsnPath + "?" + q.Encode()
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, translateOpenError(path, err)
	}
	db := sql.OpenDB(connector)
	w := &Warehouse{DB: db, Path: path, ReadOnly: opts.ReadOnly, MemoryLimit: opts.MemoryLimit, Threads: opts.Threads, connector: connector, setups: map[string]error{}}
	if err := db.PingContext(ctx); err != nil {
		w.Close()
		return nil, translateOpenError(path, err)
	}
	if created {
		// A warehouse holds personal data: only its owner reads the file.
		if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.Close()
			return nil, fmt.Errorf("open warehouse %s: %w", path, err)
		}
	}
	if fromTemplate {
		if err := w.ownTemplate(ctx); err != nil {
			w.Close()
			return nil, err
		}
	}
	if !opts.ReadOnly && !opts.NoMigrate {
		if err := w.Migrate(ctx); err != nil {
			w.Close()
			return nil, err
		}
	}
	return w, nil
}

var lockHolder = regexp.MustCompile(`\(PID (\d+)\)`)

func translateOpenError(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock") {
		le := &LockedError{Path: path}
		if m := lockHolder.FindStringSubmatch(msg); m != nil {
			le.Holder = "PID " + m[1]
		}
		return le
	}
	return fmt.Errorf("open warehouse %s: %w", path, err)
}

// Close releases the warehouse and DuckDB's memory.
func (w *Warehouse) Close() error {
	var errs []error
	if w.DB != nil {
		errs = append(errs, w.DB.Close())
	}
	if w.connector != nil {
		errs = append(errs, w.connector.Close())
	}
	return errors.Join(errs...)
}

// KeepWALBytes is the size of write-ahead log up to which a small load
// leaves it for a later checkpoint (KeepWALAtClose) instead of
// checkpointing as its process closes the warehouse. The checkpoint
// rewrites the last row group of every table the load appended to; what
// every later open pays instead is replaying the log. Measured in a copy of
// the 5 M line warehouse (load average ~2, CPU s): a 10-line daily load
// 0.54 with its checkpoint, 0.38 without; each earlier load's log (10 KB)
// it replays adds ~0.02; a read-write open that checkpoints five loads'
// logs 0.42–0.47. So the bound keeps a few loads' logs (seven such daily
// loads at ~9 KB each, three 10-line loads into a new warehouse at ~18–21
// KB each: the fourth checkpoints), not many.
const KeepWALBytes = 64 << 10

// KeepWALAtClose makes Close leave the warehouse's write-ahead log as it
// is, without the checkpoint DuckDB runs when the last connection closes,
// if the log holds at most max bytes; it reports whether it did. What
// committed is durable in the log (DuckDB syncs it at each commit); the
// next open replays it, and the next process that writes or opens the file
// read-write checkpoints at its close unless it too keeps the log. The log
// is made owner-only like the warehouse file: it holds what the
// transactions wrote. A read-only or in-memory warehouse, or one without a
// log, is left alone.
func (w *Warehouse) KeepWALAtClose(ctx context.Context, max int64) (bool, error) {
	if w.ReadOnly || w.Path == Memory {
		return false, nil
	}
	st, err := os.Stat(w.Path + ".wal")
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("keep WAL: %w", err)
	}
	if st.Size() == 0 || st.Size() > max {
		return false, nil
	}
	if err := os.Chmod(w.Path+".wal", 0o600); err != nil {
		return false, fmt.Errorf("keep WAL: %w", err)
	}
	if _, err := w.DB.ExecContext(ctx, "PRAGMA disable_checkpoint_on_shutdown"); err != nil {
		return false, fmt.Errorf("keep WAL: %w", err)
	}
	return true, nil
}

// Setup runs fn once per open warehouse under the given name, on one
// connection; later calls with the same name return the first result. It is
// the hook for registering Go scalar and table functions, which DuckDB keeps
// in the database's catalog for every connection.
func (w *Warehouse) Setup(ctx context.Context, name string, fn func(ctx context.Context, conn *sql.Conn) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err, done := w.setups[name]; done {
		return err
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("setup %s: %w", name, err)
	}
	defer conn.Close()
	err = fn(ctx, conn)
	if err != nil {
		err = fmt.Errorf("setup %s: %w", name, err)
	}
	w.setups[name] = err
	return err
}

// Appender opens a DuckDB appender on table over the given connection. The
// appender belongs to that connection (and its transaction, if one is open)
// and to one goroutine; Close flushes it.
func Appender(conn *sql.Conn, table string) (*duckdb.Appender, error) {
	var app *duckdb.Appender
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("appender %s: not a duckdb connection", table)
		}
		var err error
		app, err = duckdb.NewAppenderFromConn(c, "", table)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("appender %s: %w", table, err)
	}
	return app, nil
}

// QuoteIdent quotes a SQL identifier for DuckDB.
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// QuoteString quotes a SQL string literal for DuckDB. Prefer bound
// parameters; this is for statements that cannot take them (COPY, ATTACH).
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
