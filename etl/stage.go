package etl

import (
	"os"
	"path/filepath"
	"time"
)

// A load decodes and flattens its exports into files in a staging folder
// of its own (ckm-load-* in Options.TmpDir, else the system temp dir) and
// removes the folder when it ends. A load that is killed (SIGKILL, the
// OOM killer, a second SIGINT or SIGTERM) cannot: its folder would stay
// for good, with the exports' values in clear (ID numbers and mobiles,
// even for a protected warehouse) — CI's kill tests alone left hundreds.
// So a load holds a lock on its folder while it runs (stageLockFile) and
// each load first removes the folders whose lock nobody holds: their load
// has died. Folders from before the lock (no lock file) are removed once
// they are older than staleStageAge.

// stagePrefix starts the name of every load's staging folder.
const stagePrefix = "ckm-load-"

// stagePending starts the name a staging folder has until its lock is
// held (makeStageDir).
const stagePending = ".ckm-pending-"

// stageLockFile is the file in a staging folder its load holds locked.
const stageLockFile = ".lock"

// staleStageAge is the age past which a staging folder without a lock
// file (made by a ckm from before the lock) is taken for a dead load's.
const staleStageAge = 24 * time.Hour

// sweptStage describes the staging folders sweepStageDirs removed.
type sweptStage struct {
	Folders int
	Bytes   int64
}

// removeStage removes a staging folder, adding what it held to s.
func (s *sweptStage) removeStage(path string) {
	var size int64
	filepath.WalkDir(path, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
			}
		}
		return nil
	})
	if os.RemoveAll(path) == nil {
		s.Folders++
		s.Bytes += size
	}
}

// stageDirs lists the staging folders in dir (the system temp dir when
// empty).
func stageDirs(dir string) []string { return stageDirsOf(dir, stagePrefix) }

// stageDirsOf lists the folders in dir (the system temp dir when empty)
// whose name starts with prefix.
func stageDirsOf(dir, prefix string) []string {
	if dir == "" {
		dir = os.TempDir()
	}
	found, _ := filepath.Glob(filepath.Join(dir, prefix+"*"))
	var dirs []string
	for _, p := range found {
		if info, err := os.Lstat(p); err == nil && info.IsDir() {
			dirs = append(dirs, p)
		}
	}
	return dirs
}
