//go:build unix

package etl

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLoadSweepsDeadStagingFolders: a load removes the staging folders of
// loads that died (their lock file held by nobody) and of old ckm
// versions (no lock file, older than a day), empty ones without a lock
// file (a release killed after its lock file), keeps those of running
// loads (lock held) and a young one without a lock file that holds files
// (an older ckm's, running), and leaves no folder of its own.
func TestLoadSweepsDeadStagingFolders(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	stage := func(name string, lock bool, files int) string {
		p := filepath.Join(tmp, stagePrefix+name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if lock {
			writeFile(t, p, stageLockFile, "", false)
		}
		for i := 0; i < files; i++ {
			writeFile(t, p, fmt.Sprintf("ckm-stage-%d.csv", i), strings.Repeat("x", 1000), false)
		}
		return p
	}
	stage("dead", true, 3)
	live := stage("live", true, 1)
	old := stage("old", false, 2)
	stage("young", false, 1)
	stage("emptied", false, 0)
	stage("other", false, 0) // not a folder ckm made: a plain file of the same prefix stays
	os.Remove(filepath.Join(tmp, stagePrefix+"other"))
	writeFile(t, tmp, stagePrefix+"other", "a file", false)
	past := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	// The running load's lock, on a descriptor of its own (flock locks
	// belong to the open file, so the sweep's open conflicts with it).
	f, err := os.Open(filepath.Join(live, stageLockFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	src := t.TempDir()
	smallSet(t, src)
	var logged []string
	w := openMem(t)
	if _, err := Load(ctx, w, []string{src}, Options{AsOf: asOf2024(), TmpDir: tmp,
		Log: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }}); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		left = append(left, e.Name())
	}
	sort.Strings(left)
	want := []string{stagePrefix + "live", stagePrefix + "other", stagePrefix + "young"}
	if strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("left in the temp dir: %v, want %v", left, want)
	}
	// dead: 3 files of 1,000 bytes + an empty lock file; old: 2 files;
	// emptied: none.
	wantLog := "removed 3 staging folders (0.0 MB) that loads killed before they ended had left"
	found := false
	for _, l := range logged {
		found = found || l == wantLog
	}
	if !found {
		t.Errorf("log %q missing from %q", wantLog, logged)
	}
	sw := sweepStageDirs(tmp)
	if sw.Folders != 0 {
		t.Errorf("a second sweep removed %d folders, want 0 (live and young stay)", sw.Folders)
	}
	// Once its load is gone, the live folder is swept with its bytes.
	f.Close()
	if sw := sweepStageDirs(tmp); sw.Folders != 1 || sw.Bytes != 1000 {
		t.Errorf("after its load ended the live folder sweeps as %+v, want 1 folder of 1000 bytes", sw)
	}
}

// TestStageDirLockedWhileLoadRuns: the folder makeStageDir returns is
// locked (another sweep keeps it) until release, which removes it.
func TestStageDirLockedWhileLoadRuns(t *testing.T) {
	tmp := t.TempDir()
	path, release, err := makeStageDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if sw := sweepStageDirs(tmp); sw.Folders != 0 {
		t.Fatalf("a sweep removed the running load's folder")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("release left %s: %v", path, err)
	}
}

// TestStageDirNeverSweptWhileHeld: loads that make their staging folders
// while others sweep the same temp dir (two processes loading at once:
// CI's test packages) never lose a folder they hold. A folder once
// appeared under its final name before its lock was held, and a sweep in
// that moment took it for a dead load's and removed it under the running
// load (CI: "open …/ckm-load-…/ckm-stage-….csv: no such file or
// directory").
func TestStageDirNeverSweptWhileHeld(t *testing.T) {
	dir := t.TempDir()
	stop := make(chan struct{})
	swept := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				swept <- n
				return
			default:
				n += sweepStageDirs(dir).Folders
			}
		}
	}()
	lost := 0
	for i := 0; i < 3000; i++ {
		path, release, err := makeStageDir(dir)
		if err != nil {
			t.Fatalf("make %d: %v", i, err)
		}
		if _, err := os.Stat(path); err != nil {
			lost++
		}
		release()
	}
	close(stop)
	// (A sweep may count a folder its load was removing as it released it.)
	if n := <-swept; lost > 0 {
		t.Errorf("of 3,000 staging folders made while another load swept, %d were gone while held (%d swept)", lost, n)
	}
	// A pending folder its load left (it died before the rename) goes once
	// it is older than staleStageAge; a young one stays.
	old, young := filepath.Join(dir, stagePending+"old"), filepath.Join(dir, stagePending+"young")
	for _, p := range []string{old, young} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-staleStageAge - time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	sweepStageDirs(dir)
	if _, err := os.Stat(old); err == nil {
		t.Error("a pending folder older than staleStageAge was not swept")
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a young pending folder was swept: %v", err)
	}
}
