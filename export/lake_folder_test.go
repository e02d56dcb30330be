package export

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ckm export lake --parquet DIR: the hive-partitioned folder of ckm export
// parquet, made of the lake snapshot's own files, read back by DuckDB as a
// folder (hive partitioning) equal to the warehouse and to what ckm export
// parquet writes.
func TestLakeParquetFolder(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	root := t.TempDir()
	dir, folder := filepath.Join(root, "lake"), filepath.Join(root, "folder")
	check := func(label string, wantVersion int64) {
		t.Helper()
		snap, err := OpenLakeSnapshot(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(folder, ManifestFile))
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		var m Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.DataVersion != wantVersion || m.LakeExportID != snap.ExportID || m.Format != LakeFormat || m.PII != "masked" {
			t.Errorf("%s: manifest version %d export %d format %s pii %s; want %d, %d", label, m.DataVersion, m.LakeExportID, m.Format, m.PII, wantVersion, snap.ExportID)
		}
		if len(m.Tables) != len(snap.Tables) {
			t.Errorf("%s: manifest has %d tables, lake %d", label, len(m.Tables), len(snap.Tables))
		}
		for _, tm := range m.Tables {
			tbl := snap.Tables[tm.Name]
			// Every file of the snapshot is in the folder, as the same file.
			lf := lakeFiles(t, tbl)
			if len(lf) > 0 && len(tm.Files) != len(lf) {
				t.Errorf("%s: %s has %d files, its snapshot %d", label, tm.Name, len(tm.Files), len(lf))
			}
			var rows int64
			for _, f := range tm.Files {
				st, err := os.Stat(filepath.Join(folder, filepath.FromSlash(f.Path)))
				if err != nil {
					t.Errorf("%s: %v", label, err)
					continue
				}
				if st.Size() != f.Bytes {
					t.Errorf("%s: %s is %d bytes, manifest %d", label, f.Path, st.Size(), f.Bytes)
				}
				rows += f.Rows
				if len(lf) > 0 && !slices.ContainsFunc(lf, func(p string) bool {
					ls, err := os.Stat(p)
					return err == nil && os.SameFile(ls, st)
				}) {
					t.Errorf("%s: %s is not one of the snapshot's files", label, f.Path)
				}
				if tm.PartitionedBy != nil && !strings.HasPrefix(f.Path, tm.Name+"/year=") {
					t.Errorf("%s: %s not under year=/month=", label, f.Path)
				}
			}
			if rows != tm.Rows {
				t.Errorf("%s: %s files hold %d rows, manifest %d", label, tm.Name, rows, tm.Rows)
			}
			// DuckDB reading the folder as a folder sees the warehouse.
			cols := plainColumns(tbl)
			wn, ws := checksum(t, w, warehouseRelation(tm.Name), cols)
			from := "read_parquet(" + quote(filepath.Join(folder, tm.Name, "**", "*.parquet")) + ", hive_partitioning = true)"
			fn, fs := checksum(t, w, from, cols)
			if wn != fn || ws != fs {
				t.Errorf("%s: folder %s %d rows (%s), warehouse %d (%s)", label, tm.Name, fn, fs, wn, ws)
			}
		}
		// The same as ckm export parquet of the same data, month by month.
		plain := filepath.Join(root, "plain")
		os.RemoveAll(plain)
		if _, err := Parquet(ctx, w, ParquetOptions{Out: plain}); err != nil {
			t.Fatal(err)
		}
		q := func(d string) string {
			var s string
			w.DB.QueryRowContext(ctx, `SELECT string_agg(year || '-' || month || ':' || n || ':' || amt, ',' ORDER BY year, month) FROM (
				SELECT year, month, count(*) AS n, sum(amount) AS amt FROM read_parquet(`+quote(filepath.Join(d, "fact_sales", "**", "*.parquet"))+`, hive_partitioning = true) GROUP BY ALL)`).Scan(&s)
			return s
		}
		if a, b := q(folder), q(plain); a != b || a == "" {
			t.Errorf("%s: fact_sales by month from the lake's folder %q, from ckm export parquet %q", label, a, b)
		}
	}
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, ParquetDir: folder}); err != nil {
		t.Fatal(err)
	}
	check("first export", 7)
	addDay(t, w, 8, "20250315")
	res, err := Lake(ctx, w, LakeOptions{Dir: dir, ParquetDir: folder})
	if err != nil {
		t.Fatal(err)
	}
	if res.ParquetDir != folder {
		t.Errorf("result parquet dir %q", res.ParquetDir)
	}
	check("after a one-day load", 8)
	// No temporaries left beside the folder.
	if left, _ := filepath.Glob(filepath.Join(root, ".folder.tmp-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	// A folder that is neither empty nor a Parquet folder is refused
	// before anything is exported.
	other := filepath.Join(root, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o644)
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, ParquetDir: other}); err == nil || !strings.Contains(err.Error(), "no manifest.json") {
		t.Errorf("non-folder target: %v", err)
	}
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, ParquetDir: filepath.Join(dir, "inside")}); err == nil || !strings.Contains(err.Error(), "must not contain each other") {
		t.Errorf("folder inside the lake: %v", err)
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
