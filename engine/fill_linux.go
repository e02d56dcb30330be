//go:build linux && cgo

package engine

/*
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/types.h>

extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// ckm_fill_duckdb_memory has DuckDB's jemalloc overwrite every block it
// hands out (jemalloc's junk:alloc, a fill of 0xa5 bytes) before DuckDB
// sees it: DuckDB 1.5 writes the unused tail of a string column's segment
// to the database file as it finds it in memory (duckdb/duckdb#23382),
// and that memory held whatever the process had freed there — in a
// protected warehouse, raw ID numbers, mobiles and e-mails from the
// load's working tables. (jemalloc's zero:true would do too, but it
// zeroes a reused large block by handing its pages back to the kernel and
// faulting them in again: a 5 M-line load took twice as long.) DuckDB's
// jemalloc sets its own options in a constructor of its own and then
// reads DUCKDB_JE_MALLOC_CONF; this constructor runs before it (priority
// 101) and adds junk:alloc to that variable. A value the user set that
// already says junk: is left as it is (junk:false turns the fill off, for
// a measurement).
__attribute__((constructor(101))) static void ckm_fill_duckdb_memory(void) {
	const char *name = "DUCKDB_JE_MALLOC_CONF";
	const char *opt = "junk:alloc";
	const char *cur = getenv(name);
	if (cur == NULL || cur[0] == '\0') {
		setenv(name, opt, 1);
		return;
	}
	if (strstr(cur, "junk:") != NULL) {
		return;
	}
	size_t n = strlen(cur) + strlen(opt) + 2;
	char *v = malloc(n);
	if (v == NULL) {
		return;
	}
	snprintf(v, n, "%s,%s", cur, opt);
	setenv(name, v, 1);
	free(v);
}

// ckm_je_filled: 1 if DuckDB's jemalloc overwrites what it hands out, 0
// if not, -1 where it cannot say.
static int ckm_je_filled(void) {
	if (!duckdb_je_mallctl) {
		return -1;
	}
	const char *v = NULL;
	size_t l = sizeof(v);
	if (duckdb_je_mallctl("opt.junk", &v, &l, NULL, 0) != 0 || v == NULL) {
		return -1;
	}
	return strcmp(v, "alloc") == 0 || strcmp(v, "true") == 0;
}
*/
import "C"

// FilledMemory says whether DuckDB's jemalloc overwrites the memory it
// hands out (see ckm_fill_duckdb_memory: what a DuckDB block was used for
// before never reaches the warehouse file), and false with ok false where
// DuckDB has no jemalloc of its own to ask.
func FilledMemory() (filled, ok bool) {
	switch C.ckm_je_filled() {
	case 1:
		return true, true
	case 0:
		return false, true
	}
	return false, false
}
