package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/export"
)

func TestExportLakeCommand(t *testing.T) {
	wh := sqlWarehouse(t)
	dir := filepath.Join(t.TempDir(), "lake")
	stdout, stderr, code := runCkm(t, "", "export", "lake", "--warehouse", wh, "--dir", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res export.LakeResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not the result: %v\n%s", err, stdout)
	}
	if res.Mode != "full" || res.ExportID != 1 || res.PII != "masked" || len(res.Tables) == 0 {
		t.Errorf("first export: mode %s, export %d, pii %s, %d tables", res.Mode, res.ExportID, res.PII, len(res.Tables))
	}
	// Nothing changed: the second export rewrites nothing; it also writes
	// the Parquet folder from its snapshot.
	folder := filepath.Join(t.TempDir(), "folder")
	stdout, stderr, code = runCkm(t, "", "export", "lake", "--warehouse", wh, "--dir", dir, "--parquet", folder, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	json.Unmarshal([]byte(stdout), &res)
	for _, tr := range res.Tables {
		if tr.Changed && tr.Name != "kb_model_status" {
			t.Errorf("second export rewrote %s without a change", tr.Name)
		}
	}
	if res.Mode != "incremental" || res.ExportID != 2 {
		t.Errorf("second export: mode %s, export %d", res.Mode, res.ExportID)
	}
	snap, err := export.OpenLakeSnapshot(context.Background(), dir)
	if err != nil || snap.ExportID != 2 {
		t.Fatalf("lake snapshot %v, %v", snap, err)
	}
	var m export.Manifest
	if b, err := os.ReadFile(filepath.Join(folder, export.ManifestFile)); err != nil {
		t.Error(err)
	} else if err := json.Unmarshal(b, &m); err != nil || m.LakeExportID != 2 || m.DataVersion != snap.DataVersion || len(m.Tables) != len(snap.Tables) || res.ParquetDir != folder {
		t.Errorf("Parquet folder manifest: export %d, version %d, %d tables (lake: 2, %d, %d), result %q; %v",
			m.LakeExportID, m.DataVersion, len(m.Tables), snap.DataVersion, len(snap.Tables), res.ParquetDir, err)
	}
	// The DuckDB catalog reads back through ckm sql.
	q := "ATTACH '" + filepath.Join(dir, export.LakeDuckDBFile) + "' AS l (READ_ONLY); SELECT count(*) AS n FROM l.dim_product"
	admin := asAdmin(t)
	stdout, _, code = runCkm(t, "", append(append([]string{"sql", "--warehouse", wh, "--format", "csv"}, admin...), "--reveal", "check the lake", "-c", q)...)
	var want string
	if code == 0 {
		want = stdout
	}
	stdout2, _, _ := runCkm(t, "", append(append([]string{"sql", "--warehouse", wh, "--format", "csv"}, admin...), "--reveal", "check", "-c", "SELECT count(*) AS n FROM dim_product")...)
	if want == "" || want != stdout2 {
		t.Errorf("lake.duckdb dim_product count %q, warehouse %q", want, stdout2)
	}

	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no --dir", nil, 2, "--dir DIR is required"},
		{"bad mode", []string{"--dir", dir, "--dir-mode", "rwx"}, 2, "--dir-mode"},
		{"unknown table", []string{"--dir", dir, "--tables", "dim_nosuch"}, 2, "dim_nosuch"},
		{"not a lake", []string{"--dir", filepath.Dir(wh)}, 1, "not a ckm lake"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCkm(t, "", append([]string{"export", "lake", "--warehouse", wh}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, export.LakeCatalogFile)); err != nil {
		t.Error(err)
	}
}

// TestForgetExpiresLake: ckm forget --lake re-exports the lake and expires
// every snapshot that still held the customer, removing its files.
func TestForgetExpiresLake(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	exports, wh, kf, lake := filepath.Join(dir, "exports"), filepath.Join(dir, "w.duckdb"), filepath.Join(dir, "k"), filepath.Join(dir, "lake")
	if _, stderr, code := runCkm(t, "", "fixtures", "generate", "--out", exports, "--customers", "60", "--days", "20", "--seed", "3", "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "init"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "load", exports); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "export", "lake", "--dir", lake); code != 0 {
		t.Fatalf("export lake: %s", stderr)
	}
	before, err := export.OpenLakeSnapshot(ctx, lake)
	if err != nil {
		t.Fatal(err)
	}
	oldFiles := lakeDataFiles(t, before, "dim_customer")
	// A customer with a name in the lake.
	stdout, _, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "sql", "--format", "csv", "-c",
		"SELECT min(customer_id) AS id FROM dim_customer WHERE customer_id > 0 AND name IS NOT NULL")
	id := strings.TrimSpace(strings.TrimPrefix(stdout, "id\n"))
	if code != 0 || id == "" {
		t.Fatalf("no customer: %q", stdout)
	}
	if _, stderr, code := runCkm(t, "", append([]string{"--warehouse", wh, "--key-file", kf, "forget", id, "--reason", "request 7", "--lake", lake}, asAdmin(t)...)...); code != 0 {
		t.Fatalf("forget: exit %d: %s", code, stderr)
	}
	after, err := export.OpenLakeSnapshot(ctx, lake)
	if err != nil {
		t.Fatal(err)
	}
	if after.ExportID != before.ExportID+1 {
		t.Errorf("forget made export %d, want %d", after.ExportID, before.ExportID+1)
	}
	for name, tbl := range after.Tables {
		if n := len(tbl.Metadata().Snapshots()); n > 1 {
			t.Errorf("%s keeps %d snapshots after forget", name, n)
		}
	}
	for _, f := range oldFiles {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("dim_customer file %s from before forget survives", f)
		}
	}
	q := "SELECT count(*) AS n FROM read_parquet('" + filepath.Join(lake, "ckm", "dim_customer", "data", "**", "*.parquet") + "') WHERE customer_id = " + id + " AND (name IS NOT NULL OR mobile IS NOT NULL OR id_number IS NOT NULL)"
	stdout, stderr, code := runCkm(t, "", append(append([]string{"--warehouse", wh, "sql", "--format", "csv"}, asAdmin(t)...), "--reveal", "check", "-c", q)...)
	if code != 0 || stdout != "n\n0\n" {
		t.Errorf("lake rows still holding customer %s: exit %d %q %s", id, code, stdout, stderr)
	}
}

// lakeDataFiles lists a table's data files in a lake snapshot.
func lakeDataFiles(t *testing.T, s *export.LakeSnapshot, name string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(strings.TrimPrefix(s.Tables[name].Location(), "file://"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	if len(out) == 0 {
		t.Fatalf("%s has no data files", name)
	}
	return out
}
