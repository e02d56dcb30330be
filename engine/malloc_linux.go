//go:build linux && cgo

package engine

/*
#include <stddef.h>

// glibc's malloc knobs (malloc.h); declared here, and weak, so that a C
// library without them (musl) links and leaves malloc as it is.
extern int mallopt(int param, int value) __attribute__((weak));
extern int malloc_trim(size_t pad) __attribute__((weak));

static int ckm_malloc_trim(void) {
	return malloc_trim ? malloc_trim(0) : 0;
}

struct ckm_mallinfo2 { size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost; };
extern struct ckm_mallinfo2 mallinfo2(void) __attribute__((weak));

#define CKM_M_TRIM_THRESHOLD -1
#define CKM_M_MMAP_THRESHOLD -3
#define CKM_M_ARENA_MAX -8

static int ckm_tune_malloc(int arenas, int mmap_threshold, int trim_threshold) {
	if (!mallopt) {
		return 0;
	}
	return mallopt(CKM_M_ARENA_MAX, arenas) == 1 &&
		mallopt(CKM_M_MMAP_THRESHOLD, mmap_threshold) == 1 &&
		mallopt(CKM_M_TRIM_THRESHOLD, trim_threshold) == 1;
}

// ckm_malloc_held: bytes malloc holds from the system outside mmapped
// chunks (arena), and in mmapped chunks (hblkhd); -1 without mallinfo2.
static void ckm_malloc_held(long long *arena, long long *mmapped) {
	if (!mallinfo2) {
		*arena = -1;
		*mmapped = -1;
		return;
	}
	struct ckm_mallinfo2 m = mallinfo2();
	*arena = (long long)m.arena;
	*mmapped = (long long)m.hblkhd;
}

#include <stdlib.h>

// ckm_malloc_churn mallocs n chunks of size bytes, then frees them, and
// returns the bytes malloc had mmapped while it held them (-1 without
// mallinfo2): a test of where malloc serves such chunks from.
static long long ckm_malloc_churn(int n, size_t size) {
	void **p = malloc(sizeof(void *) * n);
	long long mm = -1;
	for (int i = 0; i < n; i++) {
		p[i] = malloc(size);
		((volatile char *)p[i])[0] = 1;
	}
	if (mallinfo2) {
		mm = (long long)mallinfo2().hblkhd;
	}
	for (int i = 0; i < n; i++) {
		free(p[i]);
	}
	free(p);
	return mm;
}

// ckm_malloc_hole mallocs 2n chunks of size bytes and writes to them,
// then frees every other one: those still in use lie between the freed
// ones, so these cannot be merged and trimmed. It returns the n chunks in
// use, for ckm_free_all.
static void **ckm_malloc_hole(int n, size_t size) {
	void **p = malloc(sizeof(void *) * 2 * n);
	void **kept = malloc(sizeof(void *) * n);
	for (int i = 0; i < 2 * n; i++) {
		p[i] = malloc(size);
		for (size_t j = 0; j < size; j += 4096) {
			((volatile char *)p[i])[j] = 1;
		}
	}
	for (int i = 0; i < n; i++) {
		free(p[2 * i]);
		kept[i] = p[2 * i + 1];
	}
	free(p);
	return kept;
}

static void ckm_free_all(void **p, int n) {
	for (int i = 0; i < n; i++) {
		free(p[i]);
	}
	free(p);
}
*/
import "C"

// The C library's malloc serves DuckDB's own objects (its buffer pool and
// vectors come from its jemalloc): catalog and segment objects, hash maps
// of the compression analysis, statistics. With glibc's defaults a load
// left most of what it freed there held by the process: at 1 M lines
// 175 MB of malloc arenas of which 20 MB in use (glibc makes up to 8
// arenas per core, each keeping its free memory). At most two arenas keep
// that down; a load also gives back what they hold free every second
// (etl's releaseMallocWhileLoading).
//
// Chunks up to 32 MiB come from the arenas and an arena keeps up to 64 MiB
// free at its top: mmapping every chunk of 256 KiB and more and trimming
// past 1 MiB (this file's knobs before) gave each such chunk fresh pages,
// faulted in one by one. The 5 M-line fixture load (ckm load of ckm bench
// etl's exports, idle, one at a time): 181 and 186 s wall, 84–87 s system,
// 4.07–4.37 M page faults, peak RSS 1,361–1,373 MB with those knobs;
// 152–174 s (median 157 of four, two of them with DuckDB's default
// allocator_flush_threshold: no difference), 58–70 s system, 2.6–2.9 M faults,
// 1,381–1,416 MB with these (goal 1.5 GB). The bench's plain 1 M-line CSV,
// alternated: ~466,000 faults and 12.2–13.2 s (five runs; 11.9–15.3 s over
// the session's ten) against ~360,000 and 11.5 / 11.9 s with these knobs
// (11.1–13.8 s with trim thresholds from 256 MiB to 4 GiB) — a gain the
// machine's noise blurs at 1 M lines and not at 5 M.
const (
	mallocArenas        = 2
	mallocMmapThreshold = 32 << 20
	mallocTrimThreshold = 64 << 20
)

// mallocTuned tells whether TuneMalloc set glibc's malloc knobs.
var mallocTuned bool

// TuneMalloc sets glibc's malloc knobs as above and tells whether it did
// (false: not glibc). ckm's main calls it first thing, unless
// GLIBC_TUNABLES sets malloc's own knobs, which then win; a program that
// embeds the engine decides for itself.
func TuneMalloc() bool {
	mallocTuned = C.ckm_tune_malloc(mallocArenas, mallocMmapThreshold, mallocTrimThreshold) != 0
	return mallocTuned
}

// mallocHeld is what the C library's malloc holds from the system in its
// arenas and in mmapped chunks, in bytes (-1, -1 where it cannot tell).
func mallocHeld() (arena, mmapped int64) {
	var a, m C.longlong
	C.ckm_malloc_held(&a, &m)
	return int64(a), int64(m)
}

// mallocKnobs sets glibc's mmap and trim thresholds (and mallocArenas), as
// TuneMalloc does with its own: a test's starting point.
func mallocKnobs(mmapThreshold, trimThreshold int) bool {
	return C.ckm_tune_malloc(mallocArenas, C.int(mmapThreshold), C.int(trimThreshold)) != 0
}

// mallocChurn mallocs n chunks of size bytes through the C library, frees
// them, and returns the bytes it had mmapped while they were held.
func mallocChurn(n int, size int) int64 {
	return int64(C.ckm_malloc_churn(C.int(n), C.size_t(size)))
}

// ReleaseMallocFree gives the pages the C library's malloc holds free back
// to the system, those between chunks in use too (glibc's malloc_trim; a
// no-op where there is none), and tells whether it released any. glibc
// keeps what DuckDB frees inside an arena until the arena's top is free:
// at 5 M lines 80 MB of 106 MB held was free (load average 13). The free
// top of a thread's own arena (there are at most two arenas) is the
// exception: glibc's malloc_trim gives back only the main arena's top, and
// a thread arena returns its own once a free leaves more than the trim
// threshold (64 MiB) there.
func ReleaseMallocFree() bool {
	return C.ckm_malloc_trim() != 0
}

// mallocHole: see ckm_malloc_hole; free releases the small chunk.
func mallocHole(n int, size int) (free func()) {
	p := C.ckm_malloc_hole(C.int(n), C.size_t(size))
	return func() { C.ckm_free_all(p, C.int(n)) }
}
