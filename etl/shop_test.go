package etl

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// loadShop loads the multi-file export in testdata/shop with its ckm.yaml.
func loadShop(t *testing.T) (*Report, *engine.Warehouse) {
	t.Helper()
	ms, err := LoadMappingFile(filepath.Join("testdata", "shop", "ckm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w := openMem(t)
	rep, err := Load(context.Background(), w, []string{filepath.Join("testdata", "shop")}, Options{AsOf: asOf2024(), Mappings: ms})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return rep, w
}

func TestShopExportJoined(t *testing.T) {
	rep, w := loadShop(t)
	for _, f := range rep.Files {
		t.Logf("%s %s read %d loaded %d rejected %d dup %d warn %d", filepath.Base(f.Path), f.Source, f.Read, f.Loaded, f.Rejected, f.Duplicates, f.Warned)
	}
	rows, _ := w.DB.Query(`SELECT path, line, rule, severity, message FROM etl_reject ORDER BY path, line`)
	for rows.Next() {
		var p, r, s, m string
		var l int64
		rows.Scan(&p, &l, &r, &s, &m)
		t.Logf("%s:%d %s %s %s", filepath.Base(p), l, r, s, m)
	}
	rows.Close()
	t.Logf("revenue %s", queryString(t, w, `SELECT CAST(sum(amount) AS VARCHAR) FROM fact_sales_current`))
}
