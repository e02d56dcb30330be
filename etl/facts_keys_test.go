package etl

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestFactKeysFromDimensionCopies: the fact insert joins stores and
// salespeople from small copies of their dimensions (ld_store, ld_sp) and
// reads the accepted lines through a view. A salesperson code that is also
// an agent's belongs to the sales member only (an agent's row matched too
// would double the lines), a store without a code matches nothing, a known
// store gives its key and region, an unknown one its inferred member; over
// 2,100 lines (past one 2,048-line vector), each loaded exactly once.
func TestFactKeysFromDimensionCopies(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	const region = 330100 // Hangzhou's GB/T 2260 code, as the store's region
	for _, q := range []string{
		`INSERT INTO dim_salesperson VALUES (900, 'E01', 'Agent E01', 'agent', -2, 0)`,
		`INSERT INTO dim_store VALUES (901, 'ST01', 'Store One', NULL, ` + fmt.Sprint(region) + `, 0)`,
		`INSERT INTO dim_store VALUES (902, NULL, 'No code', NULL, -1, 0)`,
	} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n")
	const lines = 2100
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&b, "S%05d,1,ST%02d,Store %d,E%02d,2024-03-%02d 10:00:00,M%04d,,P%03d,1,12.50,0,12.50\n",
			i, i%2+1, i%2+1, i%2+1, i%28+1, i%300, i%40)
	}
	dir := t.TempDir()
	writeFile(t, dir, "pos_sales_1.csv", b.String(), false)
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loaded != lines {
		t.Fatalf("loaded %d lines, want %d", rep.Loaded, lines)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales`); n != lines {
		t.Fatalf("fact_sales holds %d lines, want %d", n, lines)
	}
	sales := queryInt(t, w, `SELECT salesperson_key FROM dim_salesperson WHERE salesperson_code = 'E01' AND role = 'sales'`)
	if sales == 900 {
		t.Fatal("the sales member of E01 is the agent's row")
	}
	st2 := queryInt(t, w, `SELECT store_key FROM dim_store WHERE store_code = 'ST02'`)
	for _, c := range []struct {
		what string
		q    string
		want int64
	}{
		{"E01 lines with the sales member's key", `SELECT count(*) FROM fact_sales WHERE source_line % 2 = 0 AND salesperson_key = ` + fmt.Sprint(sales), lines / 2},
		{"lines with the agent's key", `SELECT count(*) FROM fact_sales WHERE salesperson_key = 900`, 0},
		{"ST01 lines with its key and region", `SELECT count(*) FROM fact_sales WHERE store_code = 'ST01' AND store_key = 901 AND region_key = ` + fmt.Sprint(region), lines / 2},
		{"ST02 lines with the inferred member's key", `SELECT count(*) FROM fact_sales WHERE store_code = 'ST02' AND store_key = ` + fmt.Sprint(st2) + ` AND region_key = -1`, lines / 2},
		{"lines of the codeless store", `SELECT count(*) FROM fact_sales WHERE store_key = 902`, 0},
		{"lines without a customer", `SELECT count(*) FROM fact_sales WHERE customer_key < 0`, 0},
	} {
		if got := queryInt(t, w, c.q); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
}
