package mining

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// sale is one hand-made fact_sales line.
type sale struct {
	customer int64
	day      string // yyyy-mm-dd
	amount   float64
	cost     float64
}

// handWarehouse opens an in-memory warehouse whose fact_sales holds the
// given lines, loaded by ETL run 1 (committed).
func handWarehouse(t *testing.T, sales []sale) *engine.Warehouse {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO etl_run (run_id, started_at, finished_at, status) VALUES (1, now()::TIMESTAMP, now()::TIMESTAMP, 'committed')`); err != nil {
		t.Fatal(err)
	}
	insertSales(t, w, sales)
	return w
}

func insertSales(t *testing.T, w *engine.Warehouse, sales []sale) {
	t.Helper()
	if len(sales) == 0 {
		return
	}
	var vals []string
	for i, s := range sales {
		vals = append(vals, fmt.Sprintf("('o%d', 1, CAST(strftime(DATE '%s', '%%Y%%m%%d') AS INTEGER), TIMESTAMP '%s 10:00:00', %d, %v, %v, %v, 1)",
			i, s.day, s.day, s.customer, s.amount, s.cost, s.amount < 0))
	}
	if _, err := w.DB.Exec(`INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_id, amount, cost_amount, is_return, etl_run_id) VALUES ` + strings.Join(vals, ", ")); err != nil {
		t.Fatal(err)
	}
}
