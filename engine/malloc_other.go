//go:build !linux || !cgo

package engine

// ReleaseMallocFree is a no-op where the C library is not glibc's (see
// malloc_linux.go).
func ReleaseMallocFree() bool { return false }

// TuneMalloc does nothing where the C library is not glibc's (see
// malloc_linux.go).
func TuneMalloc() bool { return false }

// JemallocDecay: false where DuckDB is not built with its own jemalloc.
func JemallocDecay() (dirtyMs, muzzyMs int, ok bool) { return 0, 0, false }

// setHugeAdvice does nothing where ckm does not map memory itself (see
// hugepages_linux.go).
func setHugeAdvice(on bool) {}

// FilledBlocks: unknown where DuckDB is not built with its own jemalloc
// or ckm cannot reach it (see fill_linux.go).
func FilledBlocks() (n uint64, ok bool) { return 0, false }
