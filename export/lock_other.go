//go:build !unix

package export

import (
	"fmt"
	"os"
)

// lockLake takes the lake's export lock (an exclusive lock file where
// flock is not available; a killed export's file must then be removed by hand).
func lockLake(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("another export is writing this lake (%s exists): %w", path, err)
	}
	return func() { f.Close(); os.Remove(path) }, nil
}
