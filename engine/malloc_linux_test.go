//go:build linux && cgo

package engine

import (
	"os"
	"strings"
	"testing"
)

// TestMallocGivesBackFreedMemory: with the knobs init sets, chunks of
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
	if !mallocTuned {
		t.Fatal("glibc's mallopt refused the knobs")
	}
	mallocChurn(1, 16<<20) // glibc's default: mmap threshold now 16 MiB
	const n, size = 64, 512 << 10
	held := mallocChurn(n, size)
	if held-mmap0 < n*size {
		t.Errorf("%d chunks of %d KiB: %d bytes mmapped while held, want ≥ %d (served from an arena)", n, size>>10, held-mmap0, n*size)
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
