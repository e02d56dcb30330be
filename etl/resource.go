package etl

import (
	"context"
	"fmt"
	"strings"

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
	msg := err.Error()
	disk := strings.Contains(msg, "No space left on device") || strings.Contains(msg, "max_temp_directory_size")
	if !disk && !strings.Contains(msg, "Out of Memory Error") {
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
