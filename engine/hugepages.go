package engine

import "sync"

// WithHugePages advises the kernel that the anonymous memory DuckDB and Go
// map from now until the function it returns is called is eligible for
// transparent huge pages (hugepages_linux.go: ckm's own mmap; elsewhere it
// does nothing). Holds nest: the advice stays while any is held.
//
// The kernel maps anonymous memory a 4 KiB page at a time, one page fault
// each, and on a virtual machine a fault is dear (~8 µs here: the
// paravirtualised fault path, pvm_irq_enable in perf). A load touches most
// of its peak memory so: the bench's plain 1 M-line CSV took ~290,000
// faults. With huge pages a 2 MiB page is one fault and the TLB misses of
// DuckDB's scans and hash tables drop with them: held from its extraction
// on, ~36,000 faults, ~1.3 user CPU s less, 6.78 / 6.88 / 6.82 s against
// 7.48 / 7.74 / 7.77 s (alternated), peak RSS 1,145–1,165 MB against
// 1,057–1,065. Where little memory is touched the kernel zeroes whole
// 2 MiB pages for a few KB used: a 10-line load gained nothing (0.49–0.64 s
// against 0.54–0.60 s) and its peak RSS went from ~150 to ~230 MB. So only
// a load of a size that gains holds it (etl's HugePagesMinBytes,
// HugePagesMaxBytes).
func WithHugePages() (release func()) {
	huge.Lock()
	defer huge.Unlock()
	huge.held++
	setHugeAdvice(true)
	var once sync.Once
	return func() {
		once.Do(func() {
			huge.Lock()
			defer huge.Unlock()
			huge.held--
			setHugeAdvice(huge.held > 0)
		})
	}
}

// HugePagesAdvised tells whether new mappings are advised for huge pages.
func HugePagesAdvised() bool {
	huge.Lock()
	defer huge.Unlock()
	return huge.held > 0
}

// huge counts the holds of WithHugePages.
var huge struct {
	sync.Mutex
	held int
}
