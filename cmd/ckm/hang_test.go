//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// baseWarehouse is a warehouse with one committed run of three sales.
func baseWarehouse(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	src := filepath.Join(dir, "pos_sales_base.csv")
	if err := os.WriteFile(src, []byte(posHeader+posRows(3)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", src, "--as-of", "2024-12-31"); code != 0 {
		t.Fatalf("base load: exit %d: %s", code, stderr)
	}
	return wh
}

const posHeader = "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"

// posRows is n walk-in POS sales, one line each.
func posRows(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "S%d,1,ST01,朝阳店,张三,2024/3/5 14:22,,,P001,1,399.00,0,399.00\n", i)
	}
	return b.String()
}

// TestLoadRefusesNonRegularFiles loads a FIFO and /dev/zero behind a
// symlink named like a POS export, named and inside a directory. Named, the
// load exits 1 naming the path and what it is; in a directory they are
// skipped with the reason. Nothing hangs and the warehouse is unchanged.
func TestLoadRefusesNonRegularFiles(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	ctx := context.Background()
	wh := baseWarehouse(t)
	want := stableChecksums(t, ctx, wh)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pos_sales_fifo.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	zero := filepath.Join(dir, "pos_sales_zero.csv")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		path   string
		code   int
		stderr []string
	}{
		{"FIFO", fifo, exitFailure, []string{fifo + " is a FIFO (named pipe), not a regular file"}},
		{"symlink to /dev/zero", zero, exitFailure, []string{zero + " is a symbolic link to /dev/zero, a character device, not a regular file"}},
		{"directory", dir, exitOK, []string{
			"skipped " + fifo + ": a FIFO (named pipe), not a regular file",
			"skipped " + zero + ": a symbolic link to /dev/zero, a character device, not a regular file",
			"nothing to load: no source files in " + dir,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan struct{})
			var stderr string
			var code int
			t0 := time.Now()
			go func() {
				defer close(done)
				_, stderr, code = runCkm(t, "", "--warehouse", wh, "load", c.path, "--as-of", "2024-12-31")
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("ckm load still running after 5s")
			}
			t.Logf("refused in %s", time.Since(t0).Round(time.Millisecond))
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, stderr)
			}
			for _, s := range c.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			compareChecksums(t, c.name, want, stableChecksums(t, ctx, wh))
		})
	}
}

// TestSignalStopsLoad sends SIGTERM or SIGINT to a real `ckm load` while it
// hashes a huge file, extracts a large one, or runs its transaction: ckm
// exits within seconds with exit 130 and "load cancelled: nothing was
// committed", and the warehouse opens (unlocked) with the run before and
// nothing else.
func TestSignalStopsLoad(t *testing.T) {
	ctx := context.Background()
	bin := ckmBinary(t)
	wh := baseWarehouse(t)
	want := stableChecksums(t, ctx, wh)
	dir := t.TempDir()
	// 64 GiB of nothing: hashing it takes far longer than the test.
	sparse := filepath.Join(dir, "pos_sales_sparse.csv")
	if f, err := os.Create(sparse); err != nil {
		t.Fatal(err)
	} else if err := f.Truncate(64 << 30); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}
	// About 30 MB of POS rows: a second or so to extract and stage.
	large := filepath.Join(dir, "pos_sales_large.csv")
	t0 := time.Now()
	writeLargePOS(t, large, 30<<20)
	t.Logf("setup %s", time.Since(t0))

	cases := []struct {
		name  string
		sig   syscall.Signal
		file  string
		after string // the CKM_DEBUG_SQL step line to signal after
		never string // a step the load must not have reached
	}{
		{"SIGTERM while hashing", syscall.SIGTERM, sparse, "discover", "fingerprint"},
		{"SIGINT while hashing", syscall.SIGINT, sparse, "discover", "fingerprint"},
		{"SIGTERM while extracting", syscall.SIGTERM, large, "fingerprint", "extract"},
		{"SIGINT while extracting", syscall.SIGINT, large, "fingerprint", "extract"},
		{"SIGTERM in the transaction", syscall.SIGTERM, large, "extract", "commit"},
		{"SIGINT in the transaction", syscall.SIGINT, large, "extract", "commit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, "--warehouse", wh, "--format", "csv", "load", c.file, "--as-of", "2024-12-31")
			cmd.Env = append(os.Environ(), "CKM_DEBUG_SQL=1")
			stop, stderr := signalAfterStep(t, cmd, c.sig, c.after)
			if stop > 5*time.Second {
				t.Errorf("ckm exited %s after %s, want within 5s", stop.Round(time.Millisecond), c.sig)
			}
			t.Logf("exited %s after %s", stop.Round(time.Millisecond), c.sig)
			if code := cmd.ProcessState.ExitCode(); code != exitCancelled {
				t.Errorf("exit %d, want %d", code, exitCancelled)
			}
			if !strings.Contains(stderr, "ckm: load cancelled: nothing was committed") {
				t.Errorf("stderr lacks the cancel message:\n%s", lastLines(stderr, 5))
			}
			for _, l := range strings.Split(stderr, "\n") {
				if lastStep(l) == c.never {
					t.Errorf("the load reached %s before the signal stopped it:\n%s", c.never, lastLines(stderr, 5))
					break
				}
			}
			if s := killState(t, ctx, wh); s != "committed" {
				t.Fatalf("warehouse after the signal: %s, want the one committed run before it", s)
			}
			compareChecksums(t, c.name, want, stableChecksums(t, ctx, wh))
		})
	}
}

// signalAfterStep starts cmd, sends sig once a CKM_DEBUG_SQL line says step
// is done, and waits for cmd to exit; it returns the time from the signal
// to the exit and the whole stderr.
func signalAfterStep(t *testing.T, cmd *exec.Cmd, sig syscall.Signal, step string) (time.Duration, string) {
	t.Helper()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var out strings.Builder
	var sent time.Time
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sent.IsZero() && lastStep(sc.Text()) == step {
			if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			sent = time.Now()
		}
	}
	err = cmd.Wait()
	if sent.IsZero() {
		t.Fatalf("the load ended (%v) before step %s:\n%s", err, step, lastLines(out.String(), 5))
	}
	return time.Since(sent), out.String()
}

// writeLargePOS writes a POS export of about size bytes.
func writeLargePOS(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(posHeader)
	for i, n := 0, 0; n < size; i++ {
		k, _ := fmt.Fprintf(w, "L%d,1,ST01,朝阳店,张三,2024/3/5 14:22,,,P001,1,399.00,0,399.00\n", i)
		n += k
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
