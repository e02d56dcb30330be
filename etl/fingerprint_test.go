package etl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFingerprintInParallel: files are hashed two at a time, each job gets
// its own file's size and SHA-256 (checked against crypto/sha256 here), and
// of several files that cannot be read the first in the jobs' order is
// the one reported.
func TestFingerprintInParallel(t *testing.T) {
	dir := t.TempDir()
	var jobs []*fileJob
	want := map[string]string{}
	size := map[string]int64{}
	for i := 0; i < 7; i++ {
		p := filepath.Join(dir, "f"+string(rune('a'+i))+".csv")
		body := []byte(strings.Repeat("line "+string(rune('a'+i))+"\n", 1000*(i+1)))
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		want[p], size[p] = hex.EncodeToString(sum[:]), int64(len(body))
		jobs = append(jobs, &fileJob{FileReport: FileReport{Path: p}})
	}
	if err := fingerprint(context.Background(), jobs); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.SHA256 != want[j.Path] || j.Size != size[j.Path] {
			t.Errorf("%s: sha256 %s, %d bytes; want %s, %d", j.Path, j.SHA256, j.Size, want[j.Path], size[j.Path])
		}
	}
	bad := append([]*fileJob{jobs[0]}, &fileJob{FileReport: FileReport{Path: filepath.Join(dir, "missing1.csv")}},
		&fileJob{FileReport: FileReport{Path: filepath.Join(dir, "missing2.csv")}}, jobs[1])
	err := fingerprint(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "missing1.csv") {
		t.Errorf("error %v, want the first missing file's", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := fingerprint(ctx, jobs); err == nil {
		t.Error("a cancelled fingerprint returned no error")
	}
}
