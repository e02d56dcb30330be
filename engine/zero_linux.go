//go:build linux && cgo

package engine

/*
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/types.h>

extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// ckm_zero_duckdb_memory asks DuckDB's jemalloc to zero every block it
// hands out (jemalloc's opt.zero), before that jemalloc starts: DuckDB
// 1.5 writes the unused tail of a string column's segment to the database
// file as it finds it in memory (duckdb/duckdb#23382), and that memory
// held whatever the process had freed there: in a protected warehouse,
// raw ID numbers, mobiles and e-mails from the load's working tables.
// DuckDB's jemalloc sets its own options in a constructor of its own and
// then reads DUCKDB_JE_MALLOC_CONF; this constructor runs before it
// (priority 101) and adds zero:true to that variable. A value the user
// set that already says zero: is left as it is (zero:false turns it
// off, for a measurement).
__attribute__((constructor(101))) static void ckm_zero_duckdb_memory(void) {
	const char *name = "DUCKDB_JE_MALLOC_CONF";
	const char *cur = getenv(name);
	if (cur == NULL || cur[0] == '\0') {
		setenv(name, "zero:true", 1);
		return;
	}
	if (strstr(cur, "zero:") != NULL) {
		return;
	}
	size_t n = strlen(cur) + sizeof(",zero:true");
	char *v = malloc(n);
	if (v == NULL) {
		return;
	}
	snprintf(v, n, "%s,zero:true", cur);
	setenv(name, v, 1);
	free(v);
}

// ckm_je_zero: 1 if DuckDB's jemalloc zeroes what it hands out, 0 if not,
// -1 where it cannot say.
static int ckm_je_zero(void) {
	if (!duckdb_je_mallctl) {
		return -1;
	}
	bool v = false;
	size_t l = sizeof(v);
	if (duckdb_je_mallctl("opt.zero", &v, &l, NULL, 0) != 0) {
		return -1;
	}
	return v ? 1 : 0;
}
*/
import "C"

// ZeroedMemory says whether DuckDB's jemalloc zeroes the memory it hands
// out (see ckm_zero_duckdb_memory: what a DuckDB block was used for before
// never reaches the warehouse file), and false with ok false where DuckDB
// has no jemalloc of its own to ask.
func ZeroedMemory() (zeroed, ok bool) {
	switch C.ckm_je_zero() {
	case 1:
		return true, true
	case 0:
		return false, true
	}
	return false, false
}
