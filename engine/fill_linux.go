//go:build linux && cgo

package engine

/*
#cgo LDFLAGS: -Wl,--wrap=duckdb_je_malloc -Wl,--wrap=duckdb_je_realloc
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

// DuckDB's memory comes from a jemalloc of its own, built with the prefix
// duckdb_je_. The linker sends DuckDB's calls of its malloc and realloc
// here (--wrap), and these hand out every block of ckm_fill_min bytes or
// more (DuckDB's 256 KiB blocks, its hash tables) holding zeros only:
// DuckDB 1.5 writes the unused tail of a string column's segment to the
// database file as it finds it in memory (duckdb/duckdb#23382), and that
// memory held whatever the process had freed there — in a protected
// warehouse, raw ID numbers, mobiles and e-mails from the load's working
// tables. Only the pages the process holds in memory (mincore) are
// cleared: a page it does not hold reads as zeros when first touched,
// unless it was swapped out, so with swap in use every page is cleared.
// Filling whole blocks touched the many pages DuckDB never uses (a 10-line
// load: 0.75 s instead of 0.57); jemalloc's own zero:true and junk:alloc
// cover its small allocations too (vectors of 2,048 values, most of a
// small load's memory): 1.8 s and 1.5 s for that load, and zero:true 163 s
// instead of 84 for 5 M lines.
enum { ckm_fill_min = 256 * 1024 };

extern void *__real_duckdb_je_malloc(size_t size);
extern void *__real_duckdb_je_realloc(void *ptr, size_t size);
extern size_t duckdb_je_malloc_usable_size(void *ptr);
extern void *duckdb_je_malloc(size_t size);       // through the wrapper below (--wrap)
extern void *duckdb_je_realloc(void *ptr, size_t size); // likewise

static unsigned long long ckm_filled;
static int ckm_swap = -1;           // 1: the machine has swap (or a test says so), 0: it has none
static uintptr_t ckm_page_size = 0; // the system's page size (sysconf)

static int ckm_has_swap(void) {
	int s = __atomic_load_n(&ckm_swap, __ATOMIC_RELAXED);
	if (s < 0) {
		struct sysinfo si;
		s = sysinfo(&si) != 0 || si.totalswap > 0;
		__atomic_store_n(&ckm_swap, s, __ATOMIC_RELAXED);
	}
	return s;
}

static void ckm_assume_swap(int on) {
	__atomic_store_n(&ckm_swap, on ? 1 : -1, __ATOMIC_RELAXED);
}

static uintptr_t ckm_page(void) {
	uintptr_t pg = __atomic_load_n(&ckm_page_size, __ATOMIC_RELAXED);
	if (pg == 0) {
		long v = sysconf(_SC_PAGESIZE);
		pg = v > 0 ? (uintptr_t)v : 4096;
		__atomic_store_n(&ckm_page_size, pg, __ATOMIC_RELAXED);
	}
	return pg;
}

// ckm_clear zeroes the n bytes at p that the process holds in memory.
static void ckm_clear(char *p, size_t n) {
	const uintptr_t pg = ckm_page();
	uintptr_t a = (uintptr_t)p, end = a + n;
	uintptr_t first = (a + pg - 1) & ~(pg - 1), last = end & ~(pg - 1);
	if (ckm_has_swap() || first >= last) {
		memset(p, 0, n);
		return;
	}
	memset(p, 0, first - a);
	memset((char *)last, 0, end - last);
	unsigned char held[256];
	for (uintptr_t q = first; q < last; q += sizeof(held) * pg) {
		size_t pages = (last - q) / pg;
		if (pages > sizeof(held)) {
			pages = sizeof(held);
		}
		if (mincore((void *)q, pages * pg, held) != 0) {
			memset((char *)q, 0, pages * pg);
			continue;
		}
		for (size_t i = 0; i < pages; i++) {
			if (held[i] & 1) {
				memset((char *)(q + i * pg), 0, pg);
			}
		}
	}
	__atomic_add_fetch(&ckm_filled, 1, __ATOMIC_RELAXED);
}

void *__wrap_duckdb_je_malloc(size_t size) {
	void *p = __real_duckdb_je_malloc(size);
	if (p != NULL && size >= ckm_fill_min) {
		ckm_clear(p, size);
	}
	return p;
}

void *__wrap_duckdb_je_realloc(void *ptr, size_t size) {
	size_t old = ptr != NULL ? duckdb_je_malloc_usable_size(ptr) : 0;
	void *p = __real_duckdb_je_realloc(ptr, size);
	if (p != NULL && size >= ckm_fill_min && size > old) {
		ckm_clear((char *)p + old, size - old);
	}
	return p;
}

static unsigned long long ckm_filled_blocks(void) {
	return __atomic_load_n(&ckm_filled, __ATOMIC_RELAXED);
}

// ckm_fill_check exercises the clearing: a block dirtied in full (every
// page held) is cleared by ckm_clear, and a block grown by the realloc
// wrapper, after a dirtied block of that size was freed, keeps its old
// bytes and has a cleared rest (whether the rest was dirty depends on
// where jemalloc places it: only the first check is sure to fail when the
// clearing does not clear). It returns the bytes found wrong (-1: no
// memory).
extern void duckdb_je_free(void *ptr);
static long ckm_fill_check(void) {
	const size_t big = 4 * ckm_fill_min, small = ckm_fill_min + 4096;
	long bad = 0;
	char *a = __real_duckdb_je_malloc(big);
	if (a == NULL) {
		return -1;
	}
	memset(a, 0xA5, big);
	ckm_clear(a, big);
	for (size_t i = 0; i < big; i++) {
		bad += a[i] != 0;
	}
	memset(a, 0xA5, big);
	duckdb_je_free(a);
	char *c = duckdb_je_malloc(small);
	if (c == NULL) {
		return -1;
	}
	memset(c, 0x5A, small);
	size_t kept = duckdb_je_malloc_usable_size(c);
	char *d = duckdb_je_realloc(c, big);
	if (d == NULL) {
		duckdb_je_free(c);
		return -1;
	}
	for (size_t i = kept; i < big; i++) {
		bad += d[i] != 0;
	}
	for (size_t i = 0; i < small; i++) {
		bad += (unsigned char)d[i] != 0x5A;
	}
	duckdb_je_free(d);
	return bad;
}
*/
import "C"

// FilledBlocks is how many blocks of 256 KiB or more DuckDB's allocator
// has handed out cleared in this process (see fill_linux.go's C part:
// what a DuckDB block held before never reaches the warehouse file); ok
// is false where ckm cannot reach DuckDB's allocator.
func FilledBlocks() (n uint64, ok bool) {
	return uint64(C.ckm_filled_blocks()), true
}

// assumeSwap makes the clearing behave as on a machine with swap (every
// page cleared, not only those held), for tests; false goes back to
// asking the system.
func assumeSwap(on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.ckm_assume_swap(v)
}

// fillCheck runs ckm_fill_check: bytes not cleared, or -1 when nothing
// could be tested.
func fillCheck() int64 { return int64(C.ckm_fill_check()) }
