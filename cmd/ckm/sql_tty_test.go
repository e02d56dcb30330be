package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tmuxSession drives ckm in a real terminal: a tmux server of its own
// (socket in a temporary directory), one window running ckm.
type tmuxSession struct {
	t      *testing.T
	socket string
	dir    string // where each window's exit status is written
}

func newTmux(t *testing.T) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	dir := t.TempDir()
	s := &tmuxSession{t: t, socket: filepath.Join(dir, "tmux.sock"), dir: dir}
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start runs command (a shell command line) in a new window of 120x50,
// under sh, which writes the command's exit status to a file when it ends
// (tmux's own pane_dead_status was sometimes empty for a dead pane). sh
// traps SIGINT, so a Ctrl-C reaching the terminal's process group leaves
// it waiting; the command runs as its child (see pid).
func (s *tmuxSession) start(name, command string) {
	status := filepath.Join(s.dir, name+".exit")
	s.tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "50", "sh", "-c", "trap : INT; "+command+"; echo $? > "+status)
	s.tmux("set-option", "-t", name, "remain-on-exit", "on")
}

// pid returns the process id of the window's command: the child of the
// pane's sh.
func (s *tmuxSession) pid(name string) string {
	s.t.Helper()
	sh := strings.TrimSpace(s.tmux("display-message", "-p", "-t", name, "#{pane_pid}"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + sh + "/task/" + sh + "/children")
		if f := strings.Fields(string(b)); err == nil && len(f) == 1 {
			return f[0]
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the pane's sh (pid %s) has no single child: %q %v", sh, b, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeText types text literally (tmux would read a trailing ; as its own
// command separator, so it is escaped).
func (s *tmuxSession) typeText(name, text string) {
	s.tmux("send-keys", "-t", name, "-l", strings.ReplaceAll(text, ";", `\;`))
}

func (s *tmuxSession) keys(name string, keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", name}, keys...)...)
}

func (s *tmuxSession) screen(name string) string {
	return s.tmux("capture-pane", "-p", "-t", name, "-S", "-200")
}

// waitFor waits until the screen holds want n times.
func (s *tmuxSession) waitFor(name, want string, n int) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sc := s.screen(name)
		if strings.Count(sc, want) >= n {
			return sc
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %q %d times:\n%s", want, n, sc)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits for the window's command to end and returns its exit
// status as sh saw it (a death by signal N reads 128+N).
func (s *tmuxSession) waitExit(name string) string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(s.dir, name+".exit"))
		if st := strings.TrimSpace(string(b)); err == nil && st != "" {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("ckm still running, or its exit status unwritten:\n%s", s.screen(name))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSQLShellInTerminal(t *testing.T) {
	bin := ckmBinary(t)
	wh := sqlWarehouse(t)
	tm := newTmux(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "history")
	// env execs ckm: the pane's sh has ckm as its one child (the SIGTERM
	// below goes to it).
	run := "env CKM_SQL_HISTORY=" + hist + " " + bin + " sql --warehouse " + wh

	tm.start("one", run)
	tm.waitFor("one", "ckm>", 1)

	// Line editing: Home (ESC [1~ in tmux, which readline alone took for the end of input), Right past "SELECT ", a digit.
	tm.typeText("one", "SELECT 1 AS answer;")
	tm.keys("one", "Home", "Right", "Right", "Right", "Right", "Right", "Right", "Right")
	tm.typeText("one", "4")
	tm.keys("one", "Enter")
	tm.waitFor("one", "│      41 │", 1)

	// Completion of a table name, in a statement over two lines.
	tm.typeText("one", "SELECT count(*) AS customers")
	tm.keys("one", "Enter")
	tm.typeText("one", "FROM dim_cu")
	tm.keys("one", "Tab")
	tm.waitFor("one", "FROM dim_customer", 1)
	tm.typeText("one", " WHERE customer_id > 0;")
	tm.keys("one", "Enter")
	tm.waitFor("one", "│         2 │", 1) // the two customers of sqlWarehouse

	// Ctrl-C cancels a long statement and keeps the shell.
	tm.typeText("one", "SELECT count(*) FROM range(100000000000) a, range(1000) b;")
	tm.keys("one", "Enter")
	time.Sleep(300 * time.Millisecond)
	interrupt := time.Now()
	tm.keys("one", "C-c")
	tm.waitFor("one", "interrupted", 1)
	if took := time.Since(interrupt); took > 5*time.Second {
		t.Errorf("Ctrl-C took %v to cancel the statement", took)
	}
	tm.typeText("one", "SELECT 'still here' AS s;")
	tm.keys("one", "Enter")
	tm.waitFor("one", "│ still here │", 1)

	// Personal data typed into a statement stays out of the history.
	tm.typeText("one", "SELECT 'found' AS m WHERE '13800138000' <> '';")
	tm.keys("one", "Enter")
	tm.waitFor("one", "│ found   │", 1)
	tm.typeText("one", ".mode markdown")
	tm.keys("one", "Enter")
	tm.typeText("one", "SELECT 7 AS seven;")
	tm.keys("one", "Enter")
	tm.waitFor("one", "|     7 |", 1)

	// Ctrl-D leaves.
	tm.keys("one", "C-d")
	if status := tm.waitExit("one"); status != "0" {
		t.Errorf("exit status after Ctrl-D: %s\n%s", status, tm.screen("one"))
	}
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT 41 AS answer;\nSELECT count(*) AS customers FROM dim_customer WHERE customer_id > 0;\n" +
		"SELECT count(*) FROM range(100000000000) a, range(1000) b;\nSELECT 'still here' AS s;\n.mode markdown\nSELECT 7 AS seven;\n"
	if string(b) != want {
		t.Errorf("history file:\n%s\nwant:\n%s", b, want)
	}
	if st, err := os.Stat(hist); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v, want 0600", st.Mode().Perm())
	}

	// A new session recalls the last one's history with Up.
	tm.start("two", run)
	tm.waitFor("two", "ckm>", 1)
	tm.keys("two", "Up", "Up")
	tm.waitFor("two", "ckm> .mode markdown", 1)
	tm.keys("two", "Enter")
	tm.typeText("two", "SELECT 8 AS eight;")
	tm.keys("two", "Enter")
	tm.waitFor("two", "|     8 |", 1)

	// SIGTERM while a statement runs ends ckm promptly.
	tm.typeText("two", "SELECT count(*) FROM range(100000000000) a, range(1000) b;")
	tm.keys("two", "Enter")
	time.Sleep(300 * time.Millisecond)
	pid := tm.pid("two")
	start := time.Now()
	if err := exec.Command("kill", "-TERM", pid).Run(); err != nil {
		t.Fatal(err)
	}
	status := tm.waitExit("two")
	if took := time.Since(start); took > 5*time.Second || status != "130" {
		t.Errorf("SIGTERM: exit status %s after %v, want 130 within 5 s:\n%s", status, took, tm.screen("two"))
	}

	// SIGTERM at an idle prompt too (readline waits on the terminal).
	tm.start("three", run)
	tm.waitFor("three", "ckm>", 1)
	pid = tm.pid("three")
	start = time.Now()
	if err := exec.Command("kill", "-TERM", pid).Run(); err != nil {
		t.Fatal(err)
	}
	status = tm.waitExit("three")
	if took := time.Since(start); took > 5*time.Second || status != "130" {
		t.Errorf("SIGTERM at the prompt: exit status %s after %v, want 130 within 5 s:\n%s", status, took, tm.screen("three"))
	}
}

// TestSQLBoundedInput runs the real binary on endless input: -f /dev/zero
// and a pipe of zeros stop at the statement limit with a clear message,
// and SIGTERM ends a shell waiting on a silent pipe.
func TestSQLBoundedInput(t *testing.T) {
	bin := ckmBinary(t)
	wh := sqlWarehouse(t)
	for _, c := range []struct {
		name  string
		args  []string
		stdin io.Reader
	}{
		{"-f /dev/zero", []string{"-f", "/dev/zero"}, nil},
		{"piped zeros", nil, &endlessZeros{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"sql", "--warehouse", wh, "--max-statement-bytes", "4194304"}, c.args...)...)
			cmd.Stdin = c.stdin
			var stderr strings.Builder
			cmd.Stderr = &stderr
			start := time.Now()
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if exitOf(err) != 1 || !strings.Contains(stderr.String(), "statement too large: the input from here grew past 4194304 bytes") {
					t.Errorf("exit %d, stderr %q", exitOf(err), stderr.String())
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still reading after %v", time.Since(start))
			}
		})
	}
	t.Run("SIGTERM on a silent pipe", func(t *testing.T) {
		cmd := exec.Command(bin, "sql", "--warehouse", wh)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pw.Close()
		cmd.Stdin = pr
		var stdout lockedBuffer // written by exec's copier, read here
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pr.Close()
		io.WriteString(pw, "SELECT 'ready' AS r;\n")
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(stdout.String(), "ready") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		start := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			// Nothing runs and the pipe's read cannot be interrupted: ckm
			// need not wait for it (it waited 2 s).
			if took := time.Since(start); exitOf(err) != exitCancelled || took > 1500*time.Millisecond {
				t.Errorf("exit %d after %v, want %d within 1.5 s", exitOf(err), took, exitCancelled)
			}
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("SIGTERM: still running after %v", time.Since(start))
		}
	})
}

type endlessZeros struct{}

func (endlessZeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// lockedBuffer is a strings.Builder safe to write from one goroutine
// while another reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
