//go:build unix

package etl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// makeStageDir makes a load's staging folder in dir and locks it; release
// removes the folder and then lets go of the lock.
func makeStageDir(dir string) (path string, release func(), err error) {
	if path, err = os.MkdirTemp(dir, stagePrefix); err != nil {
		return "", nil, err
	}
	f, err := os.OpenFile(filepath.Join(path, stageLockFile), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err == nil {
		if err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(path)
		return "", nil, err
	}
	return path, func() {
		os.RemoveAll(path)
		f.Close() // the lock goes with the last descriptor
	}, nil
}

// sweepStageDirs removes the staging folders in dir whose lock no process
// holds (their load died), and those without a lock file older than
// staleStageAge. A folder just made by a running load has no lock file
// for a moment: it is young, so it stays.
func sweepStageDirs(dir string) sweptStage {
	var s sweptStage
	for _, p := range stageDirs(dir) {
		f, err := os.OpenFile(filepath.Join(p, stageLockFile), os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			if info, err := os.Stat(p); err == nil && time.Since(info.ModTime()) > staleStageAge {
				s.removeStage(p)
			}
			continue
		}
		if err != nil {
			continue // not ours to open (another user's), or unreadable
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			s.removeStage(p) // holding the lock: no load can be using it
		}
		f.Close()
	}
	return s
}
