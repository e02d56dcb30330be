//go:build unix

package etl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadRefusesNonRegular loads a FIFO and /dev/zero behind a symlink,
// named and inside a directory: named, the load fails naming the path and
// what it is; in a directory they are refused with a reason and never read.
// Either way the warehouse is unchanged and nothing hangs.
func TestLoadRefusesNonRegular(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	ctx := context.Background()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pos_sales_fifo.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	zero := filepath.Join(dir, "pos_sales_zero.csv")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	w := openMem(t)
	if err := Register(ctx, w); err != nil {
		t.Fatal(err)
	}
	before := tableChecksums(t, w)
	cases := []struct {
		name    string
		path    string
		err     string // "" for a directory: no error, the entries refused
		refused int
	}{
		{"named FIFO", fifo, "pos_sales_fifo.csv is a FIFO (named pipe), not a regular file", 0},
		{"named symlink to /dev/zero", zero, "pos_sales_zero.csv is a symbolic link to /dev/zero, a character device, not a regular file", 0},
		{"directory", dir, "", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rep *Report
			var err error
			withTimeout(t, 5*time.Second, "load", func() {
				rep, err = Load(ctx, w, []string{c.path}, Options{AsOf: asOf2024()})
			})
			if c.err != "" {
				if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
			} else {
				if !errors.Is(err, ErrNothingToLoad) {
					t.Fatalf("err = %v, want ErrNothingToLoad", err)
				}
				if len(rep.Refused) != c.refused {
					t.Fatalf("refused %q, want %d entries", rep.Refused, c.refused)
				}
				for _, r := range rep.Refused {
					if !strings.Contains(r, "not a regular file") {
						t.Errorf("refused %q: no reason", r)
					}
				}
			}
			compareTables(t, c.name, before, tableChecksums(t, w))
		})
	}
	// A regular file next to them still loads; a symbolic link to one too.
	good := t.TempDir()
	smallSet(t, good)
	if err := os.Symlink(fifo, filepath.Join(good, "pos_sales_fifo.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(good, "products.csv"), filepath.Join(dir, "products.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "products.csv"), filepath.Join(good, "products.csv")); err != nil {
		t.Fatal(err)
	}
	var rep *Report
	var err error
	withTimeout(t, 10*time.Second, "load", func() {
		rep, err = Load(ctx, w, []string{good}, Options{AsOf: asOf2024()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 3 || len(rep.Refused) != 1 {
		t.Errorf("loaded %d files (want 3), refused %q (want the FIFO)", len(rep.Files), rep.Refused)
	}
}
