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
	// Nothing changed: the second export rewrites nothing.
	stdout, stderr, code = runCkm(t, "", "export", "lake", "--warehouse", wh, "--dir", dir, "--format", "json")
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
