package etl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestScheduledLoadWithEmptyExports is the nightly load where some channels
// exported nothing: a 0-byte POS file, a header-only callcenter file, a
// workbook without rows and an empty web file load beside a real product
// list. Every file is in the manifest with 0 lines read; the products load.
func TestScheduledLoadWithEmptyExports(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "products.csv", "商品编码,商品名称\nP001,电饭锅A\nP002,连衣裙B\n", false)
	writeFile(t, dir, "pos_sales_20240105.csv", "", false)
	writeFile(t, dir, "callcenter_contacts_20240105.csv", "来电号码,来电时间,类别\r\n", false)
	writeFile(t, dir, "web_orders_20240105.ndjson", "\n\n", false)
	writeXLSX(t, dir, "crm_customers_20240105.xlsx", "客户", nil)
	w := openMem(t)
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if rep.Read != 2 || rep.Loaded != 2 || rep.Rejected != 0 {
		t.Errorf("read/loaded/rejected = %d/%d/%d, want 2/2/0", rep.Read, rep.Loaded, rep.Rejected)
	}
	got := map[string]string{}
	for _, f := range rep.Files {
		got[filepath.Base(f.Path)] = f.Format + " " + strconv.FormatInt(f.Read, 10) + " " + f.Skipped
	}
	want := map[string]string{
		"products.csv":                     "csv 2 ",
		"pos_sales_20240105.csv":           "csv 0 ",
		"callcenter_contacts_20240105.csv": "csv 0 ",
		"web_orders_20240105.ndjson":       "ndjson 0 ",
		"crm_customers_20240105.xlsx":      "xlsx 0 ",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}
	expectCount(t, w, 5, `SELECT count(*) FROM etl_file WHERE run_id = ?`, rep.RunID)
	expectCount(t, w, 0, `SELECT count(*) FROM etl_file WHERE rows_read <> 0 AND source <> 'products'`)
	expectCount(t, w, 2, `SELECT count(*) FROM dim_product WHERE product_code IN ('P001', 'P002')`)

	// The next night nothing changed: nothing to load, still no error
	// beyond ErrNothingToLoad (which the CLI reports and exits 0 on).
	if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()}); !errors.Is(err, ErrNothingToLoad) {
		t.Errorf("second load: %v, want ErrNothingToLoad", err)
	}
}

// TestUnidentifiableFileStaysAnError: a named file no mapping claims, and
// an image named like a POS export, fail the load naming the file.
func TestUnidentifiableFileStaysAnError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	unknown := writeFile(t, dir, "export_20240105.dat", "", false)
	png := filepath.Join(dir, "pos_sales_20240105.csv")
	if err := os.WriteFile(png, minimalPNG(), 0o644); err != nil {
		t.Fatal(err)
	}
	w := openMem(t)
	for _, c := range []struct{ path, says string }{
		{unknown, "no source mapping matches"},
		{png, "a PNG image, not CSV text"},
	} {
		_, err := Load(ctx, w, []string{c.path}, Options{AsOf: asOf2024()})
		if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("load %s: %v, want an error naming it and saying %q", c.path, err, c.says)
		}
	}
	expectCount(t, w, 0, `SELECT count(*) FROM etl_file`)
}
