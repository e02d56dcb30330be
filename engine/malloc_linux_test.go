//go:build linux && cgo

package engine

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMallocGivesBackFreedMemory: with the knobs TuneMalloc sets, chunks of
// 256 KiB and more are mmapped and returned when freed, even after a large
// chunk was freed (glibc's default then raises its mmap threshold to that
// chunk's size and serves the next ones from an arena, which keeps them),
// and the arenas do not keep what was freed at their top.
func TestMallocGivesBackFreedMemory(t *testing.T) {
	if strings.Contains(os.Getenv("GLIBC_TUNABLES"), "glibc.malloc.") {
		t.Skip("GLIBC_TUNABLES sets malloc's knobs")
	}
	arena0, mmap0 := mallocHeld()
	if arena0 < 0 {
		t.Skip("not glibc ≥ 2.33 (no mallinfo2)")
	}
	if !TuneMalloc() {
		t.Fatal("glibc's mallopt refused the knobs")
	}
	mallocChurn(1, 16<<20) // glibc's default: mmap threshold now 16 MiB
	const n, size = 64, 512 << 10
	held := mallocChurn(n, size)
	// A chunk may still come from a free chunk of an arena that fits it
	// (memory other tests of this process freed: glibc looks there before
	// it mmaps; CI once saw 63 of 64 mmapped); without the knobs none is
	// mmapped at all, so at least half is the test.
	if held-mmap0 < n/2*size {
		t.Errorf("%d chunks of %d KiB: %d bytes mmapped while held, want ≥ %d (served from an arena)", n, size>>10, held-mmap0, n/2*size)
	}
	arena1, mmap1 := mallocHeld()
	if mmap1 > mmap0 {
		t.Errorf("mmapped bytes %d after the chunks were freed, %d before", mmap1, mmap0)
	}
	// Small chunks come from the arena: freed, its top is trimmed.
	mallocChurn(2048, 8<<10) // 16 MiB of 8 KiB chunks
	arena2, _ := mallocHeld()
	if grown := arena2 - arena0; grown > 4<<20 {
		t.Errorf("malloc's arenas hold %d bytes more after 16 MiB was malloc'd and freed (%d before the small chunks), want ≤ 4 MiB", grown, arena1-arena0)
	}
}

// TestReleaseMallocFree: 64 MiB malloc'd in 64 KiB chunks and freed
// between chunks still in use stays resident (free chunks that cannot
// merge, not at the arena's top); after ReleaseMallocFree the process's
// resident set is at least 48 MiB smaller.
func TestReleaseMallocFree(t *testing.T) {
	if arena, _ := mallocHeld(); arena < 0 {
		t.Skip("not glibc ≥ 2.33")
	}
	free := mallocHole(1024, 64<<10)
	defer free()
	before := residentBytes(t)
	if !ReleaseMallocFree() {
		t.Error("malloc_trim released nothing")
	}
	after := residentBytes(t)
	if before-after < 48<<20 {
		t.Errorf("resident %d MiB before, %d MiB after: want at least 48 MiB less", before>>20, after>>20)
	}
}

// residentBytes is the process's resident set (/proc/self/statm).
func residentBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	var pages int64
	if _, err := fmt.Sscan(f[1], &pages); err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}
