package main

import (
	"io"
	"runtime"
	"testing"
)

// TestTuneMalloc: GLIBC_TUNABLES setting malloc's knobs leaves them to it,
// and so do the benchmarks' peers (global flags before the command, as
// ckm bench etl runs them); otherwise ckm tunes glibc's malloc (on Linux
// with cgo, where it is).
func TestTuneMalloc(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard)
	load := []string{"--warehouse", "w.duckdb", "load", "exports"}
	if tuneMalloc("glibc.malloc.arena_max=1", root, load) {
		t.Error("tuned malloc although GLIBC_TUNABLES sets its knobs")
	}
	for _, peer := range []string{"bench-raw-go", "bench-raw-load"} {
		if tuneMalloc("", root, []string{"--warehouse", "w.duckdb", peer, "exports"}) {
			t.Errorf("tuned malloc for the peer %s", peer)
		}
	}
	if got, want := tuneMalloc("glibc.pthread.rseq=0", root, load), runtime.GOOS == "linux"; got != want {
		t.Errorf("tuneMalloc of ckm load with no malloc tunable = %v, want %v", got, want)
	}
	if got, want := tuneMalloc("", root, []string{"bench", "etl"}), runtime.GOOS == "linux"; got != want {
		t.Errorf("tuneMalloc of ckm bench etl = %v, want %v", got, want)
	}
}
