//go:build linux && cgo

package engine

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
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
	if !inOwnProcess(t, mallocChildEnv) {
		return
	}
	if arena, _ := mallocHeld(); arena < 0 {
		t.Skip("not glibc ≥ 2.33 (no mallinfo2)")
	}
	onMainThread(func() { mallocArenaChecks(t) })
}

// mallocArenaChecks is TestMallocKeepsChunksInArenas's body. It runs on
// the process's main thread, whose malloc arena is glibc's main arena:
// only that arena's free top goes back to the system at malloc_trim
// (systrim); a thread's own arena keeps its top until a free leaves more
// than the trim threshold there. A CI run served the chunks from such an
// arena and saw all 48 MiB still held after ReleaseMallocFree.
func mallocArenaChecks(t *testing.T) {
	if tid := syscall.Gettid(); tid != os.Getpid() {
		t.Errorf("on thread %d, not the main thread %d", tid, os.Getpid())
		return // not t.Fatal: this is not the test's goroutine
	}
	if !mallocKnobs(256<<10, 1<<20) || !TuneMalloc() {
		t.Error("glibc's mallopt refused the knobs")
		return
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

// inOwnProcess runs test t again alone, in a process of its own (this test
// binary, with env=1), and fails t unless it passes there (skips t where
// it skips there); it tells whether the caller is that process, which then
// runs the test's checks.
func inOwnProcess(t *testing.T, env string) bool {
	t.Helper()
	if os.Getenv(env) == "1" {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil && strings.Contains(string(out), "--- SKIP: "+t.Name()):
		t.Skipf("in a process of its own:\n%s", out)
	case err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()):
		t.Fatalf("in a process of its own: %v\n%s", err, out)
	}
	return false
}

// mallocChildEnv tells TestMallocKeepsChunksInArenas it runs in its own
// process.
const mallocChildEnv = "CKM_TEST_MALLOC_CHILD"

// In the malloc test's own process the main goroutine stays on the main
// thread (LockOSThread in init) and runs what onMainThread sends it while
// the tests run on another goroutine.
func init() {
	if os.Getenv(mallocChildEnv) == "1" {
		runtime.LockOSThread()
	}
}

// mainThread carries functions to the main thread, mainDone says each has
// returned; nil outside the malloc test's own process.
var (
	mainThread chan func()
	mainDone   chan struct{}
)

func TestMain(m *testing.M) {
	if os.Getenv(mallocChildEnv) != "1" {
		os.Exit(m.Run())
	}
	mainThread, mainDone = make(chan func()), make(chan struct{})
	code := make(chan int)
	go func() { code <- m.Run() }()
	for {
		select {
		case f := <-mainThread:
			f()
			mainDone <- struct{}{}
		case c := <-code:
			os.Exit(c)
		}
	}
}

// onMainThread runs f on the process's main thread and waits for it (one
// caller at a time); it panics outside the malloc test's own process.
func onMainThread(f func()) {
	if mainThread == nil {
		panic("onMainThread outside the malloc test's own process")
	}
	mainThread <- f
	<-mainDone
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
