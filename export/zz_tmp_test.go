package export

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

func TestZZCopy(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, cost_amount, is_return, etl_run_id, source_line)
			SELECT 'O' || (i // 3), CAST(i % 3 + 1 AS INTEGER), CAST(strftime(d, '%Y%m%d') AS INTEGER), d + INTERVAL (i % 86400) SECOND,
			       CAST(1 + i % 20000 AS INTEGER), 100001 + i % 20000, CAST(1 + i % 1000 AS INTEGER), CAST(1 + i % 4 AS INTEGER),
			       CAST(1 + i % 5 AS INTEGER), CAST(20 + i % 900 AS DECIMAL(18,2)), CAST((1 + i % 5) * (20 + i % 900) AS DECIMAL(18,2)),
			       CAST((1 + i % 5) * (10 + i % 500) AS DECIMAL(18,2)), false, 1 + datediff('month', DATE '2023-01-01', d), i
			FROM (SELECT i, DATE '2023-01-01' + CAST(i * 1095 // 1000000 AS INTEGER) AS d FROM range(0, 1000000) t(i))`); err != nil {
		t.Fatal(err)
	}
	conn, _ := w.DB.Conn(ctx)
	defer conn.Close()
	d := t.TempDir()
	sel := `SELECT *, CAST(CASE WHEN date_key > 0 THEN date_key // 10000 ELSE 0 END AS INTEGER) AS "year", CAST(CASE WHEN date_key > 0 THEN date_key // 100 % 100 ELSE 0 END AS INTEGER) AS "month" FROM main.fact_sales`
	inner := "SELECT * FROM (" + sel + " WHERE (date_key BETWEEN 20251200 AND 20251299)) WHERE (\"year\", \"month\") IN ((2025, 12))"
	for i, q := range []string{
		"COPY (" + inner + ") TO '" + d + "/b%d.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)",
		"COPY (" + inner + ") TO '" + d + "/s%d.parquet' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)",
		"COPY (" + inner + ") TO '" + d + "/u%d.parquet' (FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 122880)",
		"COPY (" + inner + ") TO '/dev/shm/zz%d.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)",
		"COPY (" + inner + ") TO '" + d + "/c%d.csv' (FORMAT csv)",
		"SELECT count(*) FROM (" + inner + ")",
	} {
		for r := 0; r < 3; r++ {
			os.RemoveAll(d + "/a")
			st := time.Now()
			qq := q
			if i < 5 {
				qq = fmtR(q, r)
			}
			if _, err := conn.ExecContext(ctx, qq); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d %6.1f ms", i, float64(time.Since(st).Microseconds())/1000)
		}
	}
}

func fmtR(q string, r int) string {
	out := []byte{}
	for i := 0; i < len(q); i++ {
		if q[i] == '%' && i+1 < len(q) && q[i+1] == 'd' {
			out = append(out, byte('0'+r))
			i++
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}
