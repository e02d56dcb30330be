//go:build linux && cgo

package engine

/*
#cgo LDFLAGS: -Wl,--wrap=duckdb_je_malloc -Wl,--wrap=duckdb_je_realloc
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

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
enum { ckm_fill_min = 256 * 1024, ckm_page = 4096 };

extern void *__real_duckdb_je_malloc(size_t size);
extern void *__real_duckdb_je_realloc(void *ptr, size_t size);
extern size_t duckdb_je_malloc_usable_size(void *ptr);

static unsigned long long ckm_filled;
static int ckm_swap = -1; // 1: the machine has swap, 0: it has none

static int ckm_has_swap(void) {
	int s = __atomic_load_n(&ckm_swap, __ATOMIC_RELAXED);
	if (s < 0) {
		struct sysinfo si;
		s = sysinfo(&si) != 0 || si.totalswap > 0;
		__atomic_store_n(&ckm_swap, s, __ATOMIC_RELAXED);
	}
	return s;
}

// ckm_clear zeroes the n bytes at p that the process holds in memory.
static void ckm_clear(char *p, size_t n) {
	uintptr_t a = (uintptr_t)p, end = a + n;
	uintptr_t first = (a + ckm_page - 1) & ~(uintptr_t)(ckm_page - 1), last = end & ~(uintptr_t)(ckm_page - 1);
	if (ckm_has_swap() || first >= last) {
		memset(p, 0, n);
		return;
	}
	memset(p, 0, first - a);
	memset((char *)last, 0, end - last);
	unsigned char held[256];
	for (uintptr_t q = first; q < last; q += sizeof(held) * ckm_page) {
		size_t pages = (last - q) / ckm_page;
		if (pages > sizeof(held)) {
			pages = sizeof(held);
		}
		if (mincore((void *)q, pages * ckm_page, held) != 0) {
			memset((char *)q, 0, pages * ckm_page);
			continue;
		}
		for (size_t i = 0; i < pages; i++) {
			if (held[i] & 1) {
				memset((char *)(q + i * ckm_page), 0, ckm_page);
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
*/
import "C"

// FilledBlocks is how many blocks of 256 KiB or more DuckDB's allocator
// has handed out cleared in this process (see fill_linux.go's C part:
// what a DuckDB block held before never reaches the warehouse file); ok
// is false where ckm cannot reach DuckDB's allocator.
func FilledBlocks() (n uint64, ok bool) {
	return uint64(C.ckm_filled_blocks()), true
}
