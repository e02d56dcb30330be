//go:build linux && cgo

package engine

/*
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

// ckm_huge_pages: whether mmap asks for transparent huge pages (while
// WithHugePages is held; off otherwise).
static volatile int ckm_huge_pages;

// mmap is the C library's mmap (the system call itself), which the C code
// linked into ckm calls instead: DuckDB's jemalloc maps the memory of its
// buffer pool and vectors with it, and Go's runtime its heap. An anonymous
// mapping of 2 MiB or more is then advised to the kernel as eligible for
// transparent huge pages (MADV_HUGEPAGE), as jemalloc's own "thp" option
// would do, which DuckDB's build of jemalloc leaves out. Only advice: where
// the kernel has no huge pages free, or huge pages are off
// (/sys/kernel/mm/transparent_hugepage/enabled is "never"), nothing changes.
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
	void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	if (ckm_huge_pages && p != MAP_FAILED && (flags & MAP_ANONYMOUS) && len >= ((size_t)2 << 20)) {
		madvise(p, len, MADV_HUGEPAGE);
	}
	return p;
}

static void ckm_set_huge_pages(int on) { ckm_huge_pages = on; }

// ckm_map_test maps len anonymous bytes through mmap, for a test to see
// how the kernel flags the mapping; ckm_unmap_test unmaps it.
static void *ckm_map_test(size_t len) {
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}
static void ckm_unmap_test(void *p, size_t len) { munmap(p, len); }
*/
import "C"

// setHugeAdvice turns the advice in mmap above on or off (WithHugePages).
func setHugeAdvice(on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.ckm_set_huge_pages(v)
}

// mapForTest maps n anonymous bytes through the C library's mmap (the one
// above) and returns the address and a function that unmaps them.
func mapForTest(n int) (uintptr, func()) {
	p := C.ckm_map_test(C.size_t(n))
	if p == nil {
		return 0, func() {}
	}
	return uintptr(p), func() { C.ckm_unmap_test(p, C.size_t(n)) }
}
