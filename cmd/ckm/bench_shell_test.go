package main

import (
	"encoding/json"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNewBenchShellCmd checks what ckm bench shell parses its flags and
// environment into, without starting anything.
func TestNewBenchShellCmd(t *testing.T) {
	cases := []parseCase[benchShellOptions]{
		{"defaults", nil, nil, benchShellOptions{customers: 2000, runs: 10}, ""},
		{"flags", nil, []string{"--customers", "50", "--runs", "3"}, benchShellOptions{customers: 50, runs: 3}, ""},
		{"environment", map[string]string{"CKM_BENCH_SHELL_RUNS": "4", "CKM_CUSTOMERS": "300"}, nil, benchShellOptions{customers: 300, runs: 4}, ""},
		{"too few customers", nil, []string{"--customers", "9"}, benchShellOptions{}, "--customers 9"},
		{"zero runs", nil, []string{"--runs", "0"}, benchShellOptions{}, "--runs 0"},
	}
	checkParse(t, []string{"bench"}, newBenchShellCmd, []string{"bench", "shell"}, func(o *benchShellOptions) { o.app = nil }, cases)
}

// TestShellStartTimer checks the timer on a stand-in whose start is
// known: sh sleeping 0.4 s before printing the prompt takes at least
// 0.4 s and not much more; one that exits first, or exits 3 after Ctrl-D,
// is an error saying so.
func TestShellStartTimer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ckm bench shell's pseudo-terminal is Linux's")
	}
	d, err := ShellStart(t.Context(), "sh", "-c", "sleep 0.4; printf 'ckm> '; read line; exit 0")
	if err != nil || d < 400*time.Millisecond || d > 3*time.Second {
		t.Errorf("sleep 0.4 then a prompt: %v, %v", d, err)
	}
	if _, err := ShellStart(t.Context(), "sh", "-c", "echo no prompt; exit 3"); err == nil || !strings.Contains(err.Error(), "exited before its prompt") {
		t.Errorf("no prompt: %v", err)
	}
	if _, err := ShellStart(t.Context(), "sh", "-c", "printf 'ckm> '; read line; exit 3"); err == nil || !strings.Contains(err.Error(), "after Ctrl-D: exit status 3") {
		t.Errorf("exit 3 after Ctrl-D: %v", err)
	}
}

// TestBenchShell runs ckm bench shell on a small warehouse: the runs
// asked for, each a positive time, the median between the least and the
// most, and the goal of 300 ms judged on the median.
func TestBenchShell(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ckm bench shell's pseudo-terminal is Linux's")
	}
	out, err := exec.Command(ckmBinary(t), "bench", "shell", "--runs", "3", "--customers", "10", "--format", "json").Output()
	if err != nil {
		t.Fatalf("ckm bench shell: %v\n%s", err, out)
	}
	var r shellStartResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	sorted := slices.Sorted(slices.Values(r.RunsMS))
	if len(r.RunsMS) != 3 || sorted[0] <= 0 || r.ShellStartMS != sorted[1] || r.MinMS != sorted[0] || r.MaxMS != sorted[2] ||
		r.GoalMS != 300 || r.MeetsGoal != (r.ShellStartMS < 300) || r.FactLines == 0 {
		t.Errorf("ckm bench shell reported %+v", r)
	}
	t.Logf("shell_start_ms %.1f (runs %v)", r.ShellStartMS, r.RunsMS)
}
