package engine

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDataVersionTxSeesTheLoad checks that inside a load's transaction the
// data version is the run being committed, while other connections still
// see the previous one until it commits.
func TestDataVersionTxSeesTheLoad(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if v, err := w.DataVersion(ctx); err != nil || v != 0 {
		t.Fatalf("empty warehouse: data version %d (%v), want 0", v, err)
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO etl_run (run_id, status) VALUES (6, 'failed'), (7, 'committed')`); err != nil {
		t.Fatal(err)
	}
	if v, err := DataVersionTx(ctx, tx); err != nil || v != 7 {
		t.Fatalf("inside the load: data version %d (%v), want 7", v, err)
	}
	if v, err := w.DataVersion(ctx); err != nil || v != 0 {
		t.Fatalf("outside the load before it commits: data version %d (%v), want 0", v, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, err := w.DataVersion(ctx); err != nil || v != 7 {
		t.Fatalf("after the load: data version %d (%v), want 7", v, err)
	}
}

// TestOneDataVersionQuery checks that no package but engine computes the
// data version itself (the last committed etl_run): every other caller asks
// DataVersion or DataVersionTx.
func TestOneDataVersionQuery(t *testing.T) {
	dataVersion := regexp.MustCompile(`(?i)max\(run_id\)[^` + "`" + `]*FROM etl_run WHERE status = 'committed'`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == filepath.Join("..", "engine") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if dataVersion.Match(src) {
			t.Errorf("%s computes the data version itself; call engine.DataVersion or engine.DataVersionTx", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDataVersionsTx: the data version and the committed run before it,
// failed runs left out; 0 for none.
func TestDataVersionsTx(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if v, p, err := DataVersionsTx(ctx, w.DB); err != nil || v != 0 || p != 0 {
		t.Fatalf("empty warehouse: %d, %d (%v), want 0, 0", v, p, err)
	}
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO etl_run (run_id, status) VALUES (3, 'committed')`); err != nil {
		t.Fatal(err)
	}
	if v, p, err := DataVersionsTx(ctx, w.DB); err != nil || v != 3 || p != 0 {
		t.Fatalf("one run: %d, %d (%v), want 3, 0", v, p, err)
	}
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO etl_run (run_id, status) VALUES (4, 'failed'), (5, 'committed')`); err != nil {
		t.Fatal(err)
	}
	if v, p, err := DataVersionsTx(ctx, w.DB); err != nil || v != 5 || p != 3 {
		t.Fatalf("runs 3, 4 (failed), 5: %d, %d (%v), want 5, 3", v, p, err)
	}
}
