//go:build linux && cgo

package engine

/*
#include <stdio.h>
#include <sys/types.h>

// DuckDB's own jemalloc (its buffer pool and vectors), built with the
// prefix duckdb_je_; declared weak so that a DuckDB without it links and
// is left as it is.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

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

// JemallocDecay reads the dirty and muzzy decay times of DuckDB's first
// jemalloc arena (false: DuckDB has no jemalloc of its own, or it has not
// allocated yet).
func JemallocDecay() (dirtyMs, muzzyMs int, ok bool) {
	d, m := int(C.ckm_je_arena_decay(0, 0)), int(C.ckm_je_arena_decay(0, 1))
	return d, m, d != -2 && m != -2
}
