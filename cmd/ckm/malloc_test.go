package main

import (
	"runtime"
	"testing"
)

// TestTuneMalloc: GLIBC_TUNABLES setting malloc's knobs leaves them to it;
// otherwise ckm tunes glibc's malloc (on Linux with cgo, where it is).
func TestTuneMalloc(t *testing.T) {
	if tuneMalloc("glibc.malloc.arena_max=1") {
		t.Error("tuned malloc although GLIBC_TUNABLES sets its knobs")
	}
	if got, want := tuneMalloc("glibc.pthread.rseq=0"), runtime.GOOS == "linux"; got != want {
		t.Errorf("tuneMalloc with no malloc tunable = %v, want %v", got, want)
	}
}
