package etl

import (
	"context"
	"testing"
)

// TestProductMasterStampsOnlyChanges: a product master re-sent whole
// stamps with the run only the products it changed — the rollups are
// refreshed in the periods of the run's products' sales, so stamping an
// unchanged product would recompute every period it sold in.
func TestProductMasterStampsOnlyChanges(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	header := "商品编码,商品名称,品类,品牌,成本,标价\n"
	dir := t.TempDir()
	writeFile(t, dir, "products.csv", header+"P001,电饭锅A,家电>厨房电器>电饭锅,美的,200.00,399.00\nP002,连衣裙B,服饰>女装>连衣裙,ONLY,150,499\n", false)
	first, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	writeFile(t, dir2, "products_2.csv", header+"P001,电饭锅A,家电>厨房电器>电饭锅,美的,200.00,399.00\nP002,连衣裙B,服饰>女装>连衣裙,ONLY,160,499\n", false)
	second, err := Load(ctx, w, []string{dir2}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	got := queryLines(t, w, `SELECT product_code || ':' || etl_run_id || ':' || cost FROM dim_product WHERE product_code IN ('P001', 'P002') ORDER BY 1`)
	want := []string{
		"P001:" + itoa64(first.RunID) + ":200.00",
		"P002:" + itoa64(second.RunID) + ":160.00",
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("products after a master that changed P002's cost only: %v, want %v", got, want)
	}
}
