package etl

import (
	"context"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ckm-dev/ckm/engine"
)

// ResourceError is a load that ran out of memory or of disk for DuckDB's
// spill. Its message says which, where DuckDB spilled, the memory limit
// the load ran under, and what a user can change; Unwrap gives DuckDB's
// own error. Nothing of the load was committed.
type ResourceError struct {
	Disk        bool   // out of room for the spill (else out of memory)
	MemoryLimit string // the limit the load ran under
	TempDir     string // where DuckDB spills ("" when unknown)
	Err         error
}

func (e *ResourceError) Error() string {
	if e.Disk {
		return fmt.Sprintf("load ran out of disk for DuckDB's spill in %s: past its memory limit (%s) a load writes what it stages there, "+
			"about 1 KB per source line under 1GB; free disk there, point --temp-directory (CKM_TEMP_DIRECTORY) at a larger disk, "+
			"or raise --memory-limit; nothing was committed (%s)", orUnknown(e.TempDir), e.MemoryLimit, firstLine(e.Err))
	}
	return fmt.Sprintf("load ran out of memory under its memory limit (%s): what a load inserts is held until it commits; "+
		"raise --memory-limit (CKM_MEMORY_LIMIT) or load fewer files at a time; nothing was committed (%s)", e.MemoryLimit, firstLine(e.Err))
}

func (e *ResourceError) Unwrap() error { return e.Err }

// firstLine is err's message up to its first line break: DuckDB follows
// its own with paragraphs of tuning advice that the message above replaces.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

func orUnknown(s string) string {
	if s == "" {
		return "DuckDB's temp directory"
	}
	return s
}

// ExplainResourceError returns err as a *ResourceError when DuckDB failed
// for want of memory or of spill disk, and err unchanged otherwise. w is
// the warehouse the load ran on (its memory limit and temp directory).
func ExplainResourceError(ctx context.Context, w *engine.Warehouse, err error) error {
	if err == nil {
		return nil
	}
	resource, disk := resourceFailure(err)
	if !resource {
		return err
	}
	limit := w.MemoryLimit
	if limit == "" && w.Path != engine.Memory {
		limit = engine.LoadMemoryLimit
	}
	if limit == "" {
		limit = "DuckDB's default, 80% of the machine's memory"
	}
	var dir string
	_ = w.DB.QueryRowContext(ctx, `SELECT current_setting('temp_directory')`).Scan(&dir)
	return &ResourceError{Disk: disk, MemoryLimit: limit, TempDir: dir, Err: err}
}

// noSpace is the C library's text for ENOSPC, as DuckDB passes it on.
const noSpace = "No space left on device"

// resourceFailure reports whether err is DuckDB failing for want of
// memory or of spill disk, and which (disk). DuckDB's error type decides
// where duckdb-go gives it (a *duckdb.Error in err's tree): out of memory,
// or an IO error that the disk is full. DuckDB 1.5.6 reports a spill past
// max_temp_directory_size (by default the free space of the temp
// directory's disk) as out of memory ("failed to offload data block …
// This limit was set by the 'max_temp_directory_size' setting"), so the
// message still tells disk from memory. An error of another type is not
// one, whatever its message quotes (a source value, a user's SQL). Only
// an error without a type — one that wraps nothing and is no
// *duckdb.Error (its text flattened by a %v), or whose message duckdb-go
// could not classify — is matched by its text. A load may fail in several
// files at once (errors.Join): any one of them out of memory or disk is.
func resourceFailure(err error) (resource, disk bool) {
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *duckdb.Error:
			switch {
			case e.Type == duckdb.ErrorTypeOutOfMemory:
				resource = true
				disk = disk || strings.Contains(e.Msg, "max_temp_directory_size") || strings.Contains(e.Msg, noSpace)
			case e.Type == duckdb.ErrorTypeIO && strings.Contains(e.Msg, noSpace):
				resource, disk = true, true
			case e.Type == duckdb.ErrorTypeInvalid:
				byText(e.Msg, &resource, &disk)
			}
		case interface{ Unwrap() error }:
			if u := e.Unwrap(); u != nil {
				walk(u)
			} else {
				byText(err.Error(), &resource, &disk)
			}
		case interface{ Unwrap() []error }:
			for _, u := range e.Unwrap() {
				walk(u)
			}
		default:
			byText(err.Error(), &resource, &disk)
		}
	}
	walk(err)
	return resource, disk
}

// byText is resourceFailure's match of an untyped error's message.
func byText(msg string, resource, disk *bool) {
	if strings.Contains(msg, noSpace) || strings.Contains(msg, "max_temp_directory_size") {
		*resource, *disk = true, true
	} else if strings.Contains(msg, "Out of Memory Error") {
		*resource = true
	}
}
