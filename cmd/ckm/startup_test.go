package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// initLine is one package's line of GODEBUG=inittrace=1: "init PKG @T ms,
// D ms clock, B bytes, A allocs".
var initLine = regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, \S+ ms clock, (\d+) bytes, (\d+) allocs$`)

// TestStartupInitCost: what every ckm command pays before it does anything.
// Counted in bytes and allocations of each package's initialisation (as the
// runtime reports them), not in time, so load on the machine cannot move
// it. iceberg-go's table/substrait used to parse every substrait extension
// YAML in its init — 32.7 MB and 534,225 allocations at every start, 223 ms
// at load 15 — though only ckm export lake links it for use and never
// converts an expression (third_party/iceberg-go/CKM-PATCH.md). No package
// may allocate more than 4 MB in its init, nor all of them together more
// than 16 MB.
func TestStartupInitCost(t *testing.T) {
	cmd := exec.Command(ckmBinary(t), "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ckm version: %v\n%s", err, out)
	}
	lines := initLine.FindAllStringSubmatch(string(out), -1)
	if len(lines) < 50 {
		t.Fatalf("only %d init lines in GODEBUG=inittrace=1 output:\n%s", len(lines), out)
	}
	total := 0
	for _, l := range lines {
		bytes, _ := strconv.Atoi(l[2])
		total += bytes
		if bytes > 4<<20 {
			t.Errorf("package %s allocates %d bytes (%s allocations) in its init at every start", l[1], bytes, l[3])
		}
	}
	if total > 16<<20 {
		t.Errorf("package inits allocate %d bytes in all at every start", total)
	}
	t.Logf("%d package inits, %d bytes", len(lines), total)
}
