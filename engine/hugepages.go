package engine

import "sync"

// HugePages turns on (or off) the advice that makes the anonymous memory
// DuckDB and Go map from then on eligible for transparent huge pages
// (hugepages_linux.go: ckm's own mmap; elsewhere it does nothing).
//
// The kernel maps anonymous memory a 4 KiB page at a time, one page fault
// each, and on a virtual machine a fault is dear (~8 µs here: the
// paravirtualised fault path, pvm_irq_enable in perf). A load touches most
// of its peak memory so: the bench's plain 1 M-line CSV took ~290,000
// faults. With huge pages a 2 MiB page is one fault and the TLB misses of
// DuckDB's scans and hash tables drop with them: ~30,000 faults, ~1.2 user
// CPU s less, 6.2–6.7 s against 7.0–7.5 s (three pairs alternated), peak
// RSS 1,153–1,168 MB against 1,062–1,084. ckm's main turns it on for every
// command but the benchmarks' peers, which run as their own programs
// would; a large load turns it off while it runs (WithoutHugePages).
func HugePages(on bool) {
	huge.Lock()
	defer huge.Unlock()
	huge.on = on
	huge.apply()
}

// WithoutHugePages holds the advice off until the function it returns is
// called (holds nest: the advice is back once every hold is released, if
// HugePages turned it on).
func WithoutHugePages() (release func()) {
	huge.Lock()
	defer huge.Unlock()
	huge.held++
	huge.apply()
	var once sync.Once
	return func() {
		once.Do(func() {
			huge.Lock()
			defer huge.Unlock()
			huge.held--
			huge.apply()
		})
	}
}

// HugePagesAdvised tells whether mappings are advised for huge pages now.
func HugePagesAdvised() bool {
	huge.Lock()
	defer huge.Unlock()
	return huge.on && huge.held == 0
}

// hugeState is the advice's state: turned on (HugePages), and holds off
// (WithoutHugePages).
type hugeState struct {
	sync.Mutex
	on   bool
	held int
}

var huge hugeState

// apply sets the advice from h (h locked).
func (h *hugeState) apply() { setHugeAdvice(h.on && h.held == 0) }
