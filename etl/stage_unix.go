//go:build unix

package etl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// makeStageDir makes a load's staging folder in dir and locks it; release
// removes the folder and then lets go of the lock. The folder is made
// under a pending name, locked, and only then renamed to its staging name:
// a load sweeping the same dir sees it with its lock held. Made under the
// staging name, a sweep between the lock file's creation and its lock took
// it for a dead load's and removed it under the running load, or held its
// lock so that the load failed (CI: two test processes loading at once).
func makeStageDir(dir string) (path string, release func(), err error) {
	pending, err := os.MkdirTemp(dir, stagePending)
	if err != nil {
		return "", nil, err
	}
	f, err := os.OpenFile(filepath.Join(pending, stageLockFile), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err == nil {
		if err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
		}
	}
	if err == nil {
		path = filepath.Join(filepath.Dir(pending), stagePrefix+strings.TrimPrefix(filepath.Base(pending), stagePending))
		if err = os.Rename(pending, path); err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(pending)
		return "", nil, err
	}
	return path, func() {
		// The staged files first, the lock file last: a load killed while
		// it removes them leaves a folder with its lock file, which the
		// next load sweeps, or an empty one (sweepStageDirs). Removed in
		// one go, the lock file could go first (directory order) and a
		// kill then left the exports' values in clear for staleStageAge
		// (CI: TestKillLoad, a kill as the load ended).
		if entries, err := os.ReadDir(path); err == nil {
			for _, e := range entries {
				if e.Name() != stageLockFile {
					os.RemoveAll(filepath.Join(path, e.Name()))
				}
			}
		}
		os.RemoveAll(path)
		f.Close() // the lock goes with the last descriptor
	}, nil
}

// sweepStageDirs removes the staging folders in dir whose lock no process
// holds (their load died), empty ones without a lock file (a load's
// release killed between its lock file and its folder: it holds nothing),
// others without a lock file (one an older ckm left) older than
// staleStageAge, and pending folders (makeStageDir) older than that.
func sweepStageDirs(dir string) sweptStage {
	var s sweptStage
	// A pending folder is renamed within microseconds of its making; one
	// left behind (its load died then) holds no data, only the lock file.
	for _, p := range stageDirsOf(dir, stagePending) {
		if info, err := os.Stat(p); err == nil && time.Since(info.ModTime()) > staleStageAge {
			s.removeStage(p)
		}
	}
	for _, p := range stageDirs(dir) {
		f, err := os.OpenFile(filepath.Join(p, stageLockFile), os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			if entries, err := os.ReadDir(p); err == nil && len(entries) == 0 {
				s.removeStage(p)
			} else if info, err := os.Stat(p); err == nil && time.Since(info.ModTime()) > staleStageAge {
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
