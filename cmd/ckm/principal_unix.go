//go:build unix

package main

import (
	"os"
	"syscall"
)

// fileOwner returns the user id owning a file.
func fileOwner(st os.FileInfo) (uint32, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return sys.Uid, true
}
