//go:build linux && cgo

package engine

/*
#include <stdio.h>
#include <sys/types.h>

// DuckDB's own jemalloc (its buffer pool and vectors), built with the
// prefix duckdb_je_; declared weak so that a DuckDB without it links and
// is left as it is.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// ckm_je_decay sets the dirty and muzzy decay times (ms) of every arena of
// DuckDB's jemalloc and the default of arenas made later, and returns the
// defaults before in *old_dirty and *old_muzzy: the number of arenas set,
// or -1 without jemalloc.
static int ckm_je_decay(long dirty, long muzzy, long *old_dirty, long *old_muzzy) {
	if (!duckdb_je_mallctl) {
		return -1;
	}
	ssize_t d = dirty, m = muzzy, od = 0, om = 0;
	size_t l = sizeof(ssize_t);
	if (duckdb_je_mallctl("arenas.dirty_decay_ms", &od, &l, &d, sizeof(d)) != 0) {
		return -1;
	}
	l = sizeof(ssize_t);
	if (duckdb_je_mallctl("arenas.muzzy_decay_ms", &om, &l, &m, sizeof(m)) != 0) {
		return -1;
	}
	*old_dirty = od;
	*old_muzzy = om;
	unsigned n = 0;
	size_t nl = sizeof(n);
	if (duckdb_je_mallctl("arenas.narenas", &n, &nl, NULL, 0) != 0) {
		return -1;
	}
	int set = 0;
	char name[64];
	for (unsigned i = 0; i < n; i++) {
		// An arena not made yet fails: it takes the default set above.
		snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", i);
		if (duckdb_je_mallctl(name, NULL, NULL, &d, sizeof(d)) == 0) {
			set++;
		}
		snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &m, sizeof(m));
	}
	return set;
}

// ckm_je_arena_decay reads arena i's dirty (muzzy = 0) or muzzy decay time;
// -2 where it cannot.
static long ckm_je_arena_decay(unsigned i, int muzzy) {
	if (!duckdb_je_mallctl) {
		return -2;
	}
	char name[64];
	snprintf(name, sizeof(name), muzzy ? "arena.%u.muzzy_decay_ms" : "arena.%u.dirty_decay_ms", i);
	ssize_t v = 0;
	size_t l = sizeof(v);
	if (duckdb_je_mallctl(name, &v, &l, NULL, 0) != 0) {
		return -2;
	}
	return (long)v;
}
*/
import "C"

// SetJemallocDecay sets how long DuckDB's jemalloc keeps the pages DuckDB
// freed before giving them back to the system, in milliseconds, for every
// arena (and arenas made later): dirty pages are kept as they are, muzzy
// ones are lazily freed (MADV_FREE; Linux counts them resident until it
// needs the memory), 0 gives them back at once. DuckDB's build keeps both
// 1000 ms. It returns what sets the earlier defaults back, and false (and
// changes nothing) where DuckDB has no jemalloc of its own.
func SetJemallocDecay(dirtyMs, muzzyMs int) (restore func(), ok bool) {
	var oldDirty, oldMuzzy C.long
	if C.ckm_je_decay(C.long(dirtyMs), C.long(muzzyMs), &oldDirty, &oldMuzzy) < 0 {
		return func() {}, false
	}
	return func() {
		var d, m C.long
		C.ckm_je_decay(oldDirty, oldMuzzy, &d, &m)
	}, true
}

// JemallocDecay reads the dirty and muzzy decay times of DuckDB's first
// jemalloc arena (false: DuckDB has no jemalloc of its own, or it has not
// allocated yet).
func JemallocDecay() (dirtyMs, muzzyMs int, ok bool) {
	d, m := int(C.ckm_je_arena_decay(0, 0)), int(C.ckm_je_arena_decay(0, 1))
	return d, m, d != -2 && m != -2
}
