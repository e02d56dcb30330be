package etl

import (
	"bytes"
	"encoding/csv"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStagingWriterIsCSV checks the staging writer against encoding/csv's
// Writer, which it replaces: byte for byte the same file for random
// records of quotes, commas, CR, LF, leading spaces (ASCII and Unicode),
// `\.` and plain text, written plain whenever the record's text allows it
// (as tabularExtractor.plain decides).
func TestStagingWriterIsCSV(t *testing.T) {
	pieces := []string{"a", "中文", `"`, ",", "\r", "\n", " ", "\t", "\u00a0", "\u3000", `\.`, `\`, ".", "x y", "0.50", ""}
	rng := rand.New(rand.NewSource(1))
	dir := t.TempDir()
	var want bytes.Buffer
	cw := csv.NewWriter(&want)
	header := []string{"f1", "f 2", `"q"`}
	if err := cw.Write(append([]string{"_line"}, header...)); err != nil {
		t.Fatal(err)
	}
	sw, err := newStagingWriter(dir, "w-*.csv", header)
	if err != nil {
		t.Fatal(err)
	}
	x := &tabularExtractor{d: Detected{Format: "csv", Delimiter: ','}}
	plainOnes := 0
	for n := 0; n < 20000; n++ {
		rec := make([]string, 1+rng.Intn(6))
		for i := range rec {
			var b strings.Builder
			for k := rng.Intn(4); k > 0; k-- {
				b.WriteString(pieces[rng.Intn(len(pieces))])
			}
			rec[i] = b.String()
		}
		if n%3 == 0 { // many records without any special byte
			for i := range rec {
				rec[i] = strings.NewReplacer(`"`, "", ",", "", "\r", "", "\n", "").Replace(rec[i])
			}
		}
		// The record's text as a CSV source file holds it.
		var src bytes.Buffer
		sc := csv.NewWriter(&src)
		sc.Write(rec)
		sc.Flush()
		plain := x.plain(strings.TrimSuffix(src.String(), "\n"))
		if plain {
			plainOnes++
		}
		if err := cw.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := sw.write(rec, plain); err != nil {
			t.Fatal(err)
		}
	}
	cw.Flush()
	if err := sw.close(); err != nil {
		t.Fatal(err)
	}
	if plainOnes < 5000 {
		t.Fatalf("only %d plain records: the test does not exercise the fast path", plainOnes)
	}
	got, err := os.ReadFile(sw.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && i < len(want.Bytes()) && got[i] == want.Bytes()[i] {
			i++
		}
		lo := max(0, i-40)
		t.Fatalf("staging file differs from encoding/csv's at byte %d:\n got %q\nwant %q", i,
			got[lo:min(len(got), i+40)], want.Bytes()[lo:min(want.Len(), i+40)])
	}
	if filepath.Dir(sw.f.Name()) != dir {
		t.Fatalf("staging file %s not in %s", sw.f.Name(), dir)
	}
}

// TestPlainRecord checks when a record's cells may skip the quote check.
func TestPlainRecord(t *testing.T) {
	csvX := &tabularExtractor{d: Detected{Format: "csv", Delimiter: ','}}
	tsvX := &tabularExtractor{d: Detected{Format: "csv", Delimiter: '\t'}}
	xlsx := &tabularExtractor{d: Detected{Format: "xlsx"}}
	for _, c := range []struct {
		x    *tabularExtractor
		raw  string
		want bool
	}{
		{csvX, "a,b, c", true}, // the commas delimit: no cell holds one
		{csvX, `a,"b,c"`, false},
		{csvX, "a,b\r", false},
		{csvX, "a\nb", false},
		{tsvX, "a\tb", true},
		{tsvX, "a,b\tc", false}, // a cell holds the comma
		{xlsx, "a b", false},    // a sheet's cells are not text of a record
	} {
		if got := c.x.plain(c.raw); got != c.want {
			t.Errorf("plain(%q) with delimiter %q, format %s = %v, want %v", c.raw, c.x.d.Delimiter, c.x.d.Format, got, c.want)
		}
	}
}
