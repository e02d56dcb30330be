package export

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	icebergio "github.com/apache/iceberg-go/io"
)

// countingFS is iceberg-go's local file IO counting the reads of table
// metadata files (…/<table>/metadata/*.metadata.json) by table.
type countingFS struct {
	icebergio.LocalFS
	mu    *sync.Mutex
	reads map[string]int
}

func (c countingFS) count(name string) {
	if strings.HasSuffix(name, ".metadata.json") {
		c.mu.Lock()
		c.reads[filepath.Base(filepath.Dir(filepath.Dir(name)))]++
		c.mu.Unlock()
	}
}

func (c countingFS) Open(name string) (icebergio.File, error) {
	c.count(name)
	return c.LocalFS.Open(name)
}

func (c countingFS) ReadFile(name string) ([]byte, error) {
	c.count(name)
	return c.LocalFS.ReadFile(name)
}

// countMetadataReads makes every file:// read of iceberg-go go through a
// countingFS until the test ends, and returns a function giving the reads
// so far (and resetting them).
func countMetadataReads(t *testing.T) func() map[string]int {
	var mu sync.Mutex
	reads := map[string]int{}
	fs := countingFS{mu: &mu, reads: reads}
	factory := func(ctx context.Context, parsed *url.URL, props map[string]string) (icebergio.IO, error) {
		return fs, nil
	}
	plain := func(ctx context.Context, parsed *url.URL, props map[string]string) (icebergio.IO, error) {
		return icebergio.LocalFS{}, nil
	}
	for _, s := range []string{"file", ""} {
		icebergio.Unregister(s)
		icebergio.Register(s, factory)
	}
	t.Cleanup(func() {
		for _, s := range []string{"file", ""} {
			icebergio.Unregister(s)
			icebergio.Register(s, plain)
		}
	})
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range reads {
			out[k] = v
			delete(reads, k)
		}
		return out
	}
}

// TestLakeReadsMetadataOnce: an export reads each table's metadata file
// once — checking, committing, expiring and tidying all start from that
// read (they used to read it again, up to five times for a changed table)
// — whether it rewrites everything, some tables, or nothing, and when it
// also expires snapshots. Counted at iceberg-go's file IO, which every
// read of the lake goes through.
func TestLakeReadsMetadataOnce(t *testing.T) {
	ctx := context.Background()
	w, dir := smallLake(t)
	reads := countMetadataReads(t)
	for _, c := range []struct {
		name string
		prep func()
		opts LakeOptions
	}{
		{"one-day load", func() { addDay(t, w, 8, "20250315") }, LakeOptions{Dir: dir}},
		{"nothing changed", func() {}, LakeOptions{Dir: dir}},
		{"full, expiring every older snapshot", func() {}, LakeOptions{Dir: dir, Full: true, Retain: -1}},
	} {
		c.prep()
		res, err := Lake(ctx, w, c.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := reads()
		changed := 0
		for _, tr := range res.Tables {
			if n := got[tr.Name]; n != 1 {
				t.Errorf("%s: %s's metadata read %d times, want once", c.name, tr.Name, n)
			}
			if tr.Changed {
				changed++
			}
		}
		if len(got) != len(res.Tables) {
			t.Errorf("%s: metadata of %d tables read, the export has %d: %v", c.name, len(got), len(res.Tables), got)
		}
		if c.name == "one-day load" && (changed == 0 || changed == len(res.Tables)) {
			t.Errorf("%s: %d of %d tables changed; the case wants some of each", c.name, changed, len(res.Tables))
		}
		if c.opts.Retain < 0 && res.SnapshotsExpired == 0 {
			t.Errorf("%s: no snapshot expired", c.name)
		}
	}
}
