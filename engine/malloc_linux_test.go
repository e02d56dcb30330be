//go:build linux && cgo

package engine

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMallocKeepsChunksInArenas: with the knobs TuneMalloc sets, chunks
// under 32 MiB come from malloc's arenas, not fresh mmapped pages, and an
// arena keeps what was freed at its top (up to 64 MiB) for the next chunks
// instead of giving it back at once — until ReleaseMallocFree. It starts
// from the knobs ckm set before (mmap from 256 KiB, trim past 1 MiB), so
// each half fails if TuneMalloc leaves its knob as it was. It runs in a
// process of its own (this test binary again, this test alone): what other
// tests of the package freed lies in the arenas and serves the chunks
// instead (CI saw 13 MB of the 48 come from such holes).
func TestMallocKeepsChunksInArenas(t *testing.T) {
	if strings.Contains(os.Getenv("GLIBC_TUNABLES"), "glibc.malloc.") {
		t.Skip("GLIBC_TUNABLES sets malloc's knobs")
	}
	if os.Getenv(mallocChildEnv) != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMallocKeepsChunksInArenas$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), mallocChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestMallocKeepsChunksInArenas") {
			t.Fatalf("in a process of its own: %v\n%s", err, out)
		}
		return
	}
	if arena, _ := mallocHeld(); arena < 0 {
		t.Skip("not glibc ≥ 2.33 (no mallinfo2)")
	}
	if !mallocKnobs(256<<10, 1<<20) {
		t.Fatal("glibc's mallopt refused the knobs")
	}
	if !TuneMalloc() {
		t.Fatal("glibc's mallopt refused the knobs")
	}
	_, mmap0 := mallocHeld()
	const n, size = 64, 512 << 10
	if held := mallocChurn(n, size); held-mmap0 >= size {
		t.Errorf("%d chunks of %d KiB: %d bytes mmapped while held, want none (served from an arena)", n, size>>10, held-mmap0)
	}
	// A chunk of 48 MiB is mmapped, and given back when freed.
	if held := mallocChurn(1, 48<<20); held-mmap0 < 48<<20 {
		t.Errorf("a 48 MiB chunk: %d bytes mmapped while held, want ≥ 48 MiB", held-mmap0)
	}
	if _, mmap1 := mallocHeld(); mmap1 > mmap0 {
		t.Errorf("mmapped bytes %d after the chunks were freed, %d before", mmap1, mmap0)
	}
	// 48 MiB of 8 KiB chunks, malloc'd and freed: the arena keeps them.
	ReleaseMallocFree()
	arena0, _ := mallocHeld()
	mallocChurn(6144, 8<<10)
	arena1, _ := mallocHeld()
	if kept := arena1 - arena0; kept < 32<<20 {
		t.Errorf("malloc's arenas hold %d bytes more after 48 MiB was malloc'd and freed, want ≥ 32 MiB kept (trim threshold 64 MiB)", kept)
	}
	ReleaseMallocFree()
	if arena2, _ := mallocHeld(); arena2-arena0 > 4<<20 {
		t.Errorf("after ReleaseMallocFree malloc's arenas hold %d bytes more than before the 48 MiB, want ≤ 4 MiB", arena2-arena0)
	}
}

// mallocChildEnv tells TestMallocKeepsChunksInArenas it runs in its own
// process.
const mallocChildEnv = "CKM_TEST_MALLOC_CHILD"

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
