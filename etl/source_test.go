package etl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sparseFile makes a file of size bytes that takes no disk space (all NUL).
func sparseFile(t *testing.T, path string, size int64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}

// withTimeout runs f and fails the test if it has not returned within d:
// a hang is a failure, not a stuck test run.
func withTimeout(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: still running after %s", what, d)
	}
}

// TestReadsStopWhenCancelled cancels the context while a source is being
// fingerprinted or extracted: both must stop within a second with the
// context's error.
func TestReadsStopWhenCancelled(t *testing.T) {
	dir := t.TempDir()
	// 64 GiB of nothing: no full read finishes in the test's time.
	huge := sparseFile(t, filepath.Join(dir, "pos_sales_huge.csv"), 64<<30)
	// A CSV whose head is text, then a sparse tail: extraction reads on.
	csv := filepath.Join(dir, "pos_sales_tail.csv")
	if err := os.WriteFile(csv, lines(posHeader, strings.Repeat(pos("S1")+"\n", 2000)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(csv, 64<<30); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(csv)
	if err != nil {
		t.Fatal(err)
	}
	m := mappingNamed(t, "pos_sales")
	cases := []struct {
		name string
		read func(ctx context.Context) error
	}{
		{"fingerprint", func(ctx context.Context) error {
			_, err := fingerprintFile(ctx, huge)
			return err
		}},
		{"extract", func(ctx context.Context) error {
			j := &fileJob{FileReport: FileReport{Path: csv}, m: m, stamp: fileStamp{size: st.Size(), modTime: st.ModTime()}}
			return extractFile(ctx, j, t.TempDir())
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- c.read(ctx) }()
			time.Sleep(200 * time.Millisecond)
			cancel()
			t0 := time.Now()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", err)
				}
				t.Logf("stopped %s after the cancel", time.Since(t0).Round(time.Microsecond))
			case <-time.After(time.Second):
				t.Fatal("still reading a second after the cancel")
			}
		})
	}
}

// TestFileChangedWhileLoading changes a file between its fingerprint and
// its extraction: the extraction fails with ErrFileChanged.
func TestFileChangedWhileLoading(t *testing.T) {
	content := string(lines(posHeader, pos("S1")))
	cases := []struct {
		name   string
		change func(path string) error
	}{
		{"grown", func(path string) error {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteString(pos("S2") + "\n")
			return err
		}},
		{"same size and time, other bytes", func(path string) error {
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(path, []byte(strings.Replace(content, "S1,", "S9,", 1)), 0o644); err != nil {
				return err
			}
			return os.Chtimes(path, st.ModTime(), st.ModTime())
		}},
	}
	m := mappingNamed(t, "pos_sales")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "pos_sales_1.csv", content, false)
			j := &fileJob{FileReport: FileReport{Path: path}, m: m}
			if err := fingerprint(context.Background(), []*fileJob{j}); err != nil {
				t.Fatal(err)
			}
			if err := c.change(path); err != nil {
				t.Fatal(err)
			}
			err := extractFile(context.Background(), j, t.TempDir())
			if !errors.Is(err, ErrFileChanged) || !strings.Contains(err.Error(), "file changed while loading") {
				t.Fatalf("err = %v, want ErrFileChanged", err)
			}
		})
	}
}

func compareTables(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for n, v := range want {
		if got[n] != v {
			t.Errorf("%s: table %s changed: %s -> %s", what, n, v, got[n])
		}
	}
}

func mappingNamed(t *testing.T, name string) *Mapping {
	t.Helper()
	ms := mustDefaultMappings(t)
	for i := range ms {
		if ms[i].Name == name {
			return &ms[i]
		}
	}
	t.Fatalf("no built-in mapping %s", name)
	return nil
}

// TestFingerprintGrowingFile fingerprints a file another writer keeps
// appending to: it reads only the size seen at open and then fails with
// ErrFileChanged, promptly, instead of chasing the end.
func TestFingerprintGrowingFile(t *testing.T) {
	path := sparseFile(t, filepath.Join(t.TempDir(), "pos_sales_growing.csv"), 64<<20)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	growing := make(chan struct{})
	go func() {
		line := []byte(pos("G1") + "\n")
		for i := 0; ; i++ {
			if _, err := f.Write(line); err != nil {
				return
			}
			if i == 0 {
				close(growing)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	defer close(stop)
	<-growing
	var fpErr error
	withTimeout(t, 5*time.Second, "fingerprint", func() {
		_, fpErr = fingerprintFile(context.Background(), path)
	})
	if !errors.Is(fpErr, ErrFileChanged) || !strings.Contains(fpErr.Error(), "its size went from") {
		t.Fatalf("err = %v, want ErrFileChanged", fpErr)
	}
}
