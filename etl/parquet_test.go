package etl

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestParquetLinesAreFilePositions loads a Parquet export of 130,000 lines
// (several row groups, read in parallel) and checks that every line number
// in the ledger and the facts is the row's position in the file: row i
// (from 0) is line i+1.
func TestParquetLinesAreFilePositions(t *testing.T) {
	ctx := context.Background()
	const n = 130_000
	dir := t.TempDir()
	path := filepath.Join(dir, "pq_sales.parquet")
	w := openMem(t)
	// Every 1,000th row has a quantity that does not parse.
	if _, err := w.DB.ExecContext(ctx, fmt.Sprintf(`COPY (
		SELECT 'P' || range AS "单号", '1' AS "行号", 'ST01' AS "门店编号", '2024/1/5 14:22' AS "销售时间",
			'M0001' AS "会员卡号", 'P001' AS "商品编码",
			CASE WHEN range %% 1000 = 999 THEN 'x' ELSE CAST(1 + range %% 3 AS VARCHAR) END AS "数量",
			'10.00' AS "单价"
		FROM range(%d) ORDER BY range) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 20000)`, n, path)); err != nil {
		t.Fatal(err)
	}
	m := sourceLike(t, "pos_sales", "pq", "pq_*.parquet", "")
	m.Format = "parquet"
	rep, err := Load(ctx, w, []string{path}, Options{AsOf: asOf2024(), Mappings: []Mapping{m}})
	if err != nil && rep == nil {
		t.Fatal(err)
	}
	if rep.Read != n || rep.Rejected != n/1000 || rep.Loaded != n-n/1000 {
		t.Fatalf("read %d rejected %d loaded %d, want %d %d %d", rep.Read, rep.Rejected, rep.Loaded, n, n/1000, n-n/1000)
	}
	if bad := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE rule = 'quantity_invalid' AND line % 1000 <> 0`); bad != 0 {
		t.Errorf("%d rejects not on lines 1000, 2000, …", bad)
	}
	if bad := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE 'P' || (source_line - 1) <> order_id`); bad != 0 {
		t.Errorf("%d fact lines whose source_line is not their row's position", bad)
	}
}
