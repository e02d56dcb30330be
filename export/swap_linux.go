//go:build linux

package export

import "golang.org/x/sys/unix"

// exchangeDirs swaps two directories in one step (renameat2
// RENAME_EXCHANGE), so a reader of the lake's path never finds it missing.
func exchangeDirs(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
