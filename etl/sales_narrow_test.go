package etl

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// TestNarrowSalesChangesNothing: a sales load that leaves fields empty
// (no mobile, e-mail, ID number, customer ref, country, status, freight,
// payment, province, city, product name or category) stores c_sales
// without their columns and reads it through a view giving them as NULL
// with their types; the staging tables of sales and products hold only
// the fields their files map (views give the others as NULL); the ledger
// insert of a few duplicate lines scans only their line numbers of
// stg_sales. All give exactly what the full path (everyStep: every column
// stored, every staged line scanned) gives: the same c_sales and staging
// columns and types, reports, runs and tables, over a first load of 3,000
// lines with a repeated line, a bad quantity and a bad date (one
// decision: the listed path) and a product master, then a re-export of
// 2,500 of the lines with one changed amount (2,499 duplicates and a
// correction: more decisions than are listed), then 100 new lines with
// one sent twice. The same three loads staged and cleaned ahead (as a
// load of more than one row group is) give the full path's tables too.
func TestNarrowSalesChangesNothing(t *testing.T) {
	ctx := context.Background()
	defer func(n int64) { narrowStagingBytes = n }(narrowStagingBytes)
	narrowStagingBytes = 0 // the small files of this test narrow too
	const header = "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	line := func(i int, qty, ts, amount string) string {
		order, no := i/2+1, i%2+1
		return fmt.Sprintf("S%06d,%d,ST%02d,Store %d,E%02d,%s,M%04d,,P%03d,%s,12.50,0,%s\n",
			order, no, order%7, order%7, order%5, ts, order%400, i%40, qty, amount)
	}
	var first, second strings.Builder
	first.WriteString(header)
	second.WriteString(header)
	for i := 0; i < 3000; i++ {
		order, q := i/2+1, i%3+1
		qty, ts, amount := fmt.Sprint(q), fmt.Sprintf("2024-%02d-%02d 10:%02d:00", order%12+1, order%28+1, i%60), fmt.Sprintf("%.2f", float64(q)*12.5)
		switch i {
		case 700:
			qty = "two" // quantity_invalid
		case 1500:
			ts = "2024-02-30 10:00:00" // date_invalid
		}
		rec := line(i, qty, ts, amount)
		first.WriteString(rec)
		if i == 2000 {
			first.WriteString(rec) // a duplicate
		}
		if i < 2500 {
			if i == 42 {
				rec = line(i, qty, ts, "99.00") // a correction
			}
			second.WriteString(rec)
		}
	}
	dir1, dir2 := t.TempDir(), t.TempDir()
	writeFile(t, dir1, "pos_sales_1.csv", first.String(), false)
	products := "商品编码,商品名称,品类,品牌,成本,标价\n"
	for p := 0; p < 30; p++ {
		products += fmt.Sprintf("P%03d,Product %d,Home>Kitchen>Item %d,Brand %d,%d.00,%d.50\n", p, p, p%5, p%4, 5+p%9, 12+p%6)
	}
	writeFile(t, dir1, "products.csv", products, false)
	writeFile(t, dir2, "pos_sales_2.csv", second.String(), false)
	// A third export of new orders, of known products only, one line sent
	// twice (a duplicate within the load whose product is known).
	var third strings.Builder
	third.WriteString(header)
	for i := 0; i < 100; i++ {
		rec := fmt.Sprintf("T%06d,1,ST01,Store 1,E01,2024-06-%02d 10:00:00,M%04d,,P%03d,1,12.50,0,12.50\n", i, i%28+1, i%400, i%30)
		third.WriteString(rec)
		if i == 50 {
			third.WriteString(rec)
		}
	}
	dir3 := t.TempDir()
	writeFile(t, dir3, "pos_sales_3.csv", third.String(), false)

	type outcome struct {
		reports []Report
		traces  []string
		columns []string
		tables  map[string]string
		runs    []string
	}
	run := func(every, ahead bool) outcome {
		w := openMem(t)
		var out outcome
		for i, dir := range []string{dir1, dir2, dir3} {
			var trace bytes.Buffer
			var cols []string
			rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Trace: &trace, everyStep: every, stageAhead: ahead,
				tamper: func(ctx context.Context, tx *sql.Tx) error {
					rows, err := tx.QueryContext(ctx, `SELECT 'c_sales.' || column_name || ' ' || column_type FROM (DESCRIBE c_sales)
						UNION ALL SELECT 'stg_sales.' || column_name || ' ' || column_type FROM (DESCRIBE stg_sales)
						UNION ALL SELECT 'stg_products.' || column_name || ' ' || column_type FROM (DESCRIBE stg_products)`)
					if err != nil {
						return err
					}
					defer rows.Close()
					for rows.Next() {
						var c string
						if err := rows.Scan(&c); err != nil {
							return err
						}
						cols = append(cols, c)
					}
					return rows.Err()
				}})
			if err != nil {
				t.Fatalf("load %d (every step %v): %v", i+1, every, err)
			}
			rep.Elapsed = 0
			out.reports = append(out.reports, *rep)
			out.traces = append(out.traces, trace.String())
			out.columns = append(out.columns, strings.Join(cols, ", "))
		}
		out.tables = loadedTables(t, w)
		out.runs = runSummaries(t, w)
		return out
	}
	narrow, every, ahead := run(false, false), run(true, false), run(false, true)
	for i := range narrow.reports {
		if !reportsEqual(narrow.reports[i], every.reports[i]) {
			t.Errorf("load %d: report %+v, the full path's %+v", i+1, narrow.reports[i], every.reports[i])
		}
		if narrow.columns[i] != every.columns[i] {
			t.Errorf("load %d: c_sales\n%s\nthe full path's\n%s", i+1, narrow.columns[i], every.columns[i])
		}
		if i == 2 {
			continue // too few lines to narrow c_sales; there for the path staged ahead
		}
		// The narrow path was taken: the table without the empty columns,
		// and the view.
		for _, made := range []string{"TEMP TABLE c_sales_d AS", "TEMP TABLE stg_sales_d (", "TEMP VIEW stg_sales AS"} {
			if !strings.Contains(narrow.traces[i], made) || strings.Contains(every.traces[i], made) {
				t.Errorf("load %d: %q in the trace %v, on the full path %v; want true, false", i+1, made,
					strings.Contains(narrow.traces[i], made), strings.Contains(every.traces[i], made))
			}
		}
		if made := "TEMP TABLE stg_products_d ("; strings.Contains(narrow.traces[i], made) != (i == 0) {
			t.Errorf("load %d: %q in the trace %v", i+1, made, strings.Contains(narrow.traces[i], made))
		}
	}
	if !strings.Contains(narrow.columns[0], "c_sales.freight_v DECIMAL(18,2)") || !strings.Contains(narrow.columns[0], "c_sales.mobile_v VARCHAR") ||
		!strings.Contains(narrow.columns[0], "stg_sales.email VARCHAR") || !strings.Contains(narrow.columns[0], "stg_products.brand VARCHAR") {
		t.Errorf("c_sales columns: %s", narrow.columns[0])
	}
	// What the loads decided, by hand: the first rejects two lines and
	// finds one duplicate; the second finds 2,499 duplicates and one
	// correction (line 44: its amount changed).
	if r := narrow.reports[0]; r.Read != 3031 || r.Rejected != 2 || r.Duplicates != 1 || r.Loaded != 3028 {
		t.Errorf("first load: read %d rejected %d duplicates %d loaded %d; want 3031, 2, 1, 3028 (30 products)", r.Read, r.Rejected, r.Duplicates, r.Loaded)
	}
	if r := narrow.reports[1]; r.Read != 2500 || r.Rejected != 0 || r.Duplicates != 2499 || r.Loaded != 1 {
		t.Errorf("second load: read %d rejected %d duplicates %d loaded %d; want 2500, 0, 2499, 1", r.Read, r.Rejected, r.Duplicates, r.Loaded)
	}
	if r := narrow.reports[2]; r.Read != 101 || r.Rejected != 0 || r.Duplicates != 1 || r.Loaded != 100 {
		t.Errorf("third load: read %d rejected %d duplicates %d loaded %d; want 101, 0, 1, 100", r.Read, r.Rejected, r.Duplicates, r.Loaded)
	}
	if strings.Join(narrow.runs, "; ") != strings.Join(every.runs, "; ") {
		t.Errorf("etl_run %v, the full path's %v", narrow.runs, every.runs)
	}
	sameTables(t, narrow.tables, every.tables)
	// Staged and cleaned ahead, in a transaction of their own, the lines
	// give the full path's tables too: the ledger's raw records of unknown
	// products and repeated lines (rebuilt from stg_sales in the load's
	// transaction) included.
	for i := range ahead.reports {
		if !reportsEqual(ahead.reports[i], every.reports[i]) {
			t.Errorf("load %d staged ahead: report %+v, the full path's %+v", i+1, ahead.reports[i], every.reports[i])
		}
		if ahead.columns[i] != every.columns[i] {
			t.Errorf("load %d staged ahead: c_sales\n%s\nthe full path's\n%s", i+1, ahead.columns[i], every.columns[i])
		}
		if made := "ALTER TABLE ld_reject RENAME TO ld_reject_ahead"; !strings.Contains(ahead.traces[i], made) {
			t.Errorf("load %d: not staged ahead (no %q in the trace)", i+1, made)
		}
	}
	if strings.Join(ahead.runs, "; ") != strings.Join(every.runs, "; ") {
		t.Errorf("staged ahead: etl_run %v, the full path's %v", ahead.runs, every.runs)
	}
	sameTables(t, ahead.tables, every.tables)
}
