//go:build linux && cgo

package engine

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hugeAdvised reads /proc/self/smaps: the mappings the kernel flags as
// advised for huge pages (VmFlags "hg"), by start address, with their
// sizes in bytes.
func hugeAdvised(t *testing.T) map[uintptr]int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	out := map[uintptr]int64{}
	var start uintptr
	var size int64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			lo, hi, _ := strings.Cut(f[0], "-")
			l, _ := strconv.ParseUint(lo, 16, 64)
			h, _ := strconv.ParseUint(hi, 16, 64)
			start, size = uintptr(l), int64(h-l)
		case len(f) > 0 && f[0] == "VmFlags:":
			for _, fl := range f[1:] {
				if fl == "hg" {
					out[start] = size
				}
			}
		}
	}
	return out
}

func hugeTotal(m map[uintptr]int64) (n int64) {
	for _, s := range m {
		n += s
	}
	return n
}

// TestHugePagesAdvice: while WithHugePages is held, an anonymous mapping
// of 2 MiB or more made through the C library's mmap is flagged for huge
// pages, and DuckDB's memory is mapped so (the advised mappings grow by
// most of what a query that holds ~100 MB in DuckDB maps), and so is Go's
// heap; without a hold a mapping is left as the kernel makes it, and so is
// one under 2 MiB.
// It runs in a process of its own (this test binary again, this test
// alone): memory jemalloc kept from the package's other tests would serve
// DuckDB's table instead of new mappings.
func TestHugePagesAdvice(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage"); err != nil {
		t.Skip("kernel without transparent huge pages")
	}
	if !inOwnProcess(t, hugeChildEnv) {
		return
	}
	for _, c := range []struct {
		on   bool
		size int
		want bool
	}{{true, 8 << 20, true}, {true, 1 << 20, false}, {false, 8 << 20, false}} {
		release := func() {}
		if c.on {
			release = WithHugePages()
		}
		p, unmap := mapForTest(c.size)
		if p == 0 {
			t.Fatal("mmap failed")
		}
		_, got := hugeAdvised(t)[p]
		unmap()
		release()
		if got != c.want {
			t.Errorf("huge pages %v, %d bytes: advised %v, want %v", c.on, c.size, got, c.want)
		}
	}

	defer WithHugePages()()
	before := hugeTotal(hugeAdvised(t))
	w, err := Open(context.Background(), filepath.Join(t.TempDir(), "w.duckdb"), Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// ~3 M strings of 16 bytes and more, kept in a temp table: DuckDB's
	// jemalloc maps new memory for them.
	if _, err := w.DB.Exec(`CREATE TEMP TABLE big AS SELECT 'customer-' || lpad(CAST(range AS VARCHAR), 12, '0') AS s FROM range(3000000)`); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := w.DB.QueryRow(`SELECT count(DISTINCT s) FROM big`).Scan(&n); err != nil || n != 3000000 {
		t.Fatalf("count %d, %v", n, err)
	}
	grown := hugeTotal(hugeAdvised(t)) - before
	if grown < 64<<20 {
		t.Errorf("mappings advised for huge pages grew by %d MB while DuckDB held ~100 MB; want ≥ 64 MB", grown>>20)
	}
	// Go's heap: its runtime maps through the C library's mmap too (cgo's
	// mmap hook), a 256 MiB slice in new heap arenas.
	before = hugeTotal(hugeAdvised(t))
	goHeap := make([]byte, 256<<20)
	for i := 0; i < len(goHeap); i += 4096 {
		goHeap[i] = 1
	}
	if grown := hugeTotal(hugeAdvised(t)) - before; grown < 128<<20 {
		t.Errorf("mappings advised for huge pages grew by %d MB while Go held a 256 MB slice; want ≥ 128 MB", grown>>20)
	}
	goHeapSink = goHeap
}

// goHeapSink keeps TestHugePagesAdvice's slice alive until it has looked.
var goHeapSink []byte

// TestWithHugePagesNests: holds nest, the advice goes with the last
// release, and a release called twice counts once.
func TestWithHugePagesNests(t *testing.T) {
	if HugePagesAdvised() {
		t.Fatal("advised before any hold")
	}
	a, b := WithHugePages(), WithHugePages()
	a()
	a()
	if !HugePagesAdvised() {
		t.Error("not advised while one hold is left (a release called twice)")
	}
	b()
	if HugePagesAdvised() {
		t.Error("advised after every hold was released")
	}
}

const hugeChildEnv = "CKM_TEST_HUGE_CHILD"
