package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// salesOf opens the warehouse file path read-only (replaying a WAL beside
// it, if any) and returns its sales lines and their amount.
func salesOf(t *testing.T, path string) (n int64, amount string) {
	t.Helper()
	w, err := engine.Open(context.Background(), path, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.DB.QueryRow(`SELECT count(*), CAST(sum(amount) AS VARCHAR) FROM fact_sales`).Scan(&n, &amount); err != nil {
		t.Fatal(err)
	}
	return n, amount
}

// TestSmallLoadKeepsWAL: a 10-line load (the bench's small load) into an
// initialised warehouse closes without a checkpoint, leaving its
// write-ahead log (owner-only, within engine.KeepWALBytes); a reader sees
// the 10 lines (997.50 by hand: 103 + 175.50 + 45 + 88.50 + 36.50 + 107 +
// 49 + 94.50 + 111 + 187.50); `ckm backup` copies them into a file of its
// own, with no log beside it; loading the same file again loads nothing
// (the manifest is in the log), and that second process checkpoints as it
// closes, after which the file alone holds the lines. Small loads one
// after another keep the log only while it is within engine.KeepWALBytes:
// a later one checkpoints it (fails with an unbounded keep).
func TestSmallLoadKeepsWAL(t *testing.T) {
	dir := t.TempDir()
	if _, err := writePlainOrders(dir, 10, false); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "products.csv"))
	wh := filepath.Join(t.TempDir(), "w.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "init"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	load := []string{"--warehouse", wh, "--config", filepath.Join(dir, "ckm.yaml"), "load", filepath.Join(dir, "orders_plain.csv"), "--as-of", "2024-12-31"}
	if _, stderr, code := runCkm(t, "", load...); code != 0 {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	st, err := os.Stat(wh + ".wal")
	if err != nil {
		t.Fatalf("no WAL after a small load: %v", err)
	}
	if st.Size() == 0 || st.Size() > engine.KeepWALBytes || st.Mode().Perm() != 0o600 {
		t.Errorf("WAL after a small load: %d bytes, mode %v; want 1..%d bytes, 0600", st.Size(), st.Mode().Perm(), engine.KeepWALBytes)
	}
	if n, amount := salesOf(t, wh); n != 10 || amount != "997.50" {
		t.Errorf("read-only after the load: %d lines of %s, want 10 of 997.50", n, amount)
	}
	backup := filepath.Join(t.TempDir(), "b.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "backup", "--out", backup); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(backup + ".wal"); !os.IsNotExist(err) {
		t.Errorf("backup left a WAL beside its file (%v): the file is not the whole backup", err)
	}
	if n, amount := salesOf(t, backup); n != 10 || amount != "997.50" {
		t.Errorf("backup: %d lines of %s, want 10 of 997.50", n, amount)
	}
	// `ckm backup` opens the warehouse read-write: it checkpoints as it
	// closes. A second small load leaves a log again, and a load with
	// nothing new checkpoints it.
	if _, err := os.Stat(wh + ".wal"); !os.IsNotExist(err) {
		t.Errorf("ckm backup left the warehouse's WAL (%v), want it checkpointed", err)
	}
	second := strings.ReplaceAll(readFile(t, filepath.Join(dir, "orders_plain.csv")), "O0000000", "O1000000")
	if err := os.WriteFile(filepath.Join(dir, "orders_plain_2.csv"), []byte(second), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCkm(t, "", append(load[:4], "load", filepath.Join(dir, "orders_plain_2.csv"), "--as-of", "2024-12-31")...); code != 0 {
		t.Fatalf("second load: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(wh + ".wal"); err != nil {
		t.Errorf("no WAL after the second small load: %v", err)
	}
	_, stderr, code := runCkm(t, "", load...)
	if code != 0 || !strings.Contains(stderr, "nothing to load") {
		t.Errorf("the same file again: exit %d, %q; want 0 and nothing to load", code, stderr)
	}
	if _, err := os.Stat(wh + ".wal"); !os.IsNotExist(err) {
		t.Errorf("a load with nothing new left the WAL (%v), want it checkpointed", err)
	}
	if n, amount := salesOf(t, wh); n != 20 || amount != "1995.00" {
		t.Errorf("after the checkpoint: %d lines of %s, want 20 of 1995.00", n, amount)
	}
	// Small loads one after another keep the log while it stays within
	// the bound, and one of them checkpoints it before it grows past:
	// the log never ends a load larger than engine.KeepWALBytes.
	var sizes []int64
	for i := 3; i <= 10; i++ {
		name := filepath.Join(dir, fmt.Sprintf("orders_plain_%d.csv", i))
		if err := os.WriteFile(name, []byte(strings.ReplaceAll(second, "O1000000", fmt.Sprintf("Q%07d", i))), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := runCkm(t, "", append(load[:4], "load", name, "--as-of", "2024-12-31")...); code != 0 {
			t.Fatalf("load %d: exit %d: %s", i, code, stderr)
		}
		st, err := os.Stat(wh + ".wal")
		if os.IsNotExist(err) {
			sizes = append(sizes, 0)
			break
		} else if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, st.Size())
		if st.Size() > engine.KeepWALBytes {
			t.Fatalf("WAL of %d bytes after load %d, over the %d kept", st.Size(), i, engine.KeepWALBytes)
		}
	}
	if len(sizes) < 2 || sizes[len(sizes)-1] != 0 || sizes[0] == 0 {
		t.Errorf("WAL sizes after eight more small loads %v: want it kept after the first and checkpointed by a later one (0)", sizes)
	}
	if n, amount := salesOf(t, wh); n != int64(20+10*len(sizes)) || amount != fmt.Sprintf("%.2f", 997.5*float64(2+len(sizes))) {
		t.Errorf("after %d more loads: %d lines of %s, want %d of %.2f", len(sizes), n, amount, 20+10*len(sizes), 997.5*float64(2+len(sizes)))
	}
}

// readFile is path's text.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
