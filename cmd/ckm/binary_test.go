package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The ckm binary, built once for the tests that drive a real process
// (signals, kills).
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
	binOut  []byte
)

func TestMain(m *testing.M) {
	// Warehouses the CLI creates are protected, their keys written to the
	// key directory: the tests' own, never the user's.
	keys, err := os.MkdirTemp("", "ckm-test-keys-")
	if err != nil {
		panic(err)
	}
	os.Setenv(keyDirEnv, keys)
	code := m.Run()
	os.RemoveAll(keys)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ckmBinary builds ckm (once per test run) and returns its path.
func ckmBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "ckm-test-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ckm")
		binOut, binErr = exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("go build: %v\n%s", binErr, binOut)
	}
	return binPath
}
