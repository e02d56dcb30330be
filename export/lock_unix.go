//go:build unix

package export

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockLake takes the lake's export lock: one export at a time, so files
// that no snapshot references are never another export's work in progress.
func lockLake(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another export is writing this lake (%s is locked): %w", path, err)
	}
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}
