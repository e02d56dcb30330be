package etl

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
)

// TestSalesGroupsSameAsLines: grouping the sales lines that carry the same
// keys into one record of the identifier graph (identityGraphSQL) changes
// nothing a user sees. A world of 1,200 persons with the hard cases (shared
// and recycled mobiles, ID typos, web orders by mobile or e-mail alone,
// JSON orders whose items share a line) is loaded in two loads — CRM and
// the first half year of till lines, then the rest and the web orders, so
// the second meets the first's customers — once grouped and once with a
// record per line. Every source record gets the same customer, and
// etl_identity, identity_link (records counted, first and last seen,
// channels), etl_record_key, customer_merge and the fact lines' customers
// are the same row for row. The grouped graph has fewer records than the
// load has lines (it grouped), and the per-line one as many. The second
// load also brings a till file of two lines giving only a recycled mobile,
// in one store, each in the time of a different earlier holder: one group,
// whose only key is conflicted, so it is split into its lines and each goes
// to the holder of its time. And three web orders of one new mobile, to
// two provinces: two groups alike but for their region.
func TestSalesGroupsSameAsLines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: 1200, Days: 365, Seed: 11, HardCases: true})
	if err != nil {
		t.Fatal(err)
	}
	asOf, err := time.Parse(time.DateOnly, exp.ExportDate)
	if err != nil {
		t.Fatal(err)
	}
	first, second := twoLoads(t, dir)
	recycled := filepath.Join(t.TempDir(), "pos_sales_209901.csv")
	const recycledQuery = `SELECT DISTINCT customer_id FROM fact_sales WHERE order_id IN ('SX01', 'SX02') AND customer_id > 0`
	// Web orders by one new mobile shipped to two provinces and a third to
	// the first again: two groups alike but for their region (the lines
	// join to their group on every grouping column, region included).
	regions := filepath.Join(t.TempDir(), "web_orders_209901.ndjson")
	const regionsQuery = `SELECT count(DISTINCT customer_id) || ' ' || count(*) AS n FROM fact_sales WHERE order_id LIKE 'WR0%' AND customer_id > 0`
	order := `{"order_id":"WR0%d","created_at":"2024-0%d-02T10:00:00+08:00","customer":{"mobile":"13999990001"},"shipping":{"province":"%s","city":"%s"},"lines":[{"sku":"P00021","qty":1,"price":"28.90","discount":"0.00"}]}` + "\n"
	body := fmt.Sprintf(order, 1, 3, "四川省", "成都市") + fmt.Sprintf(order, 2, 4, "广东省", "广州市") + fmt.Sprintf(order, 3, 5, "四川省", "成都市")
	if err := os.WriteFile(regions, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	second = append(second, recycled, regions)
	type graphSize struct{ records, lines, grouped, badCount, badLine int64 }
	run := func(group bool) (recs [][]IdentityRecord, sizes []graphSize, tables map[string][]string) {
		defer func(old bool) { groupSales = old }(groupSales)
		groupSales = group
		w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for i, paths := range [][]string{first, second} {
			var got []IdentityRecord
			var size graphSize
			_, err := Load(ctx, w, paths, Options{AsOf: asOf.Add(24*time.Hour - time.Second), AfterIdentity: func(ctx context.Context, tx *sql.Tx) (err error) {
				if got, err = IdentityRecords(ctx, tx); err != nil {
					return err
				}
				return tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM id_src WHERE rec > 0),
					(SELECT count(*) FROM (SELECT DISTINCT file_id, _line FROM ok_sales)) + (SELECT count(*) FROM ok_customers),
					(SELECT count(*) FROM (SELECT grp FROM id_member GROUP BY grp HAVING count(*) > 1)),
					-- every record's count of lines is its lines in id_member, and
					-- every line of the load is in one record
					(SELECT count(*) FROM id_src s LEFT JOIN (SELECT grp, count(*) AS k FROM id_member GROUP BY grp) m ON m.grp = s.rec
						WHERE s.sales AND m.k IS DISTINCT FROM s.n),
					(SELECT count(*) FROM (SELECT DISTINCT `+recID+` AS line FROM ok_sales) l LEFT JOIN
						(SELECT line, count(*) AS k FROM id_member GROUP BY line) m USING (line) WHERE m.k IS DISTINCT FROM 1)`).Scan(&size.records, &size.lines, &size.grouped, &size.badCount, &size.badLine)
			}})
			if err != nil {
				t.Fatalf("load %d: %v", i+1, err)
			}
			recs, sizes = append(recs, got), append(sizes, size)
			if i == 0 && group {
				writeRecycledTill(t, w, recycled)
			}
		}
		tables = sortedTables(t, w, []string{
			`SELECT key_type, key_value, customer_id, first_run FROM etl_identity`,
			`SELECT run_id, customer_id, key_type, key_value, rule, coalesce(detail, ''), records, first_seen, last_seen, channels FROM identity_link`,
			`SELECT etl_file_id, source_line, key_hash FROM etl_record_key`,
			`SELECT merge_id, kind, survivor, other FROM customer_merge`,
			`SELECT etl_file_id, source_line, line_key, customer_id, customer_key FROM fact_sales`,
			recycledQuery,
			regionsQuery,
		})
		return recs, sizes, tables
	}
	gRecs, gSizes, gTables := run(true)
	if got := gTables[recycledQuery]; len(got) != 2 {
		t.Errorf("the recycled mobile's two till lines went to customers %v: want one holder each", got)
	}
	if got := gTables[regionsQuery]; !slices.Equal(got, []string{"{'n': 1 3}"}) {
		t.Errorf("the three web orders of one mobile: customers and lines %v, want one customer of 3 lines", got)
	}
	lRecs, lSizes, lTables := run(false)
	for i := range gRecs {
		if len(gRecs[i]) == 0 || !slices.Equal(gRecs[i], lRecs[i]) {
			t.Errorf("load %d: the records' customers differ grouped and per line (%d and %d records)", i+1, len(gRecs[i]), len(lRecs[i]))
		}
		if g, l := gSizes[i], lSizes[i]; g.badCount+g.badLine+l.badCount+l.badLine != 0 {
			t.Errorf("load %d: records whose count is not their lines' %d/%d, lines not in one record %d/%d (grouped/per line)", i+1, g.badCount, l.badCount, g.badLine, l.badLine)
		}
		if g, l := gSizes[i], lSizes[i]; g.grouped == 0 || g.records >= g.lines || l.records != l.lines || l.grouped != 0 {
			t.Errorf("load %d: grouped graph %+v, per-line graph %+v: want fewer records than lines grouped, as many per line", i+1, g, l)
		}
	}
	for q, g := range gTables {
		if len(g) == 0 && q != `SELECT merge_id, kind, survivor, other FROM customer_merge` {
			t.Errorf("%s: no rows", q)
		}
		sameRows(t, q, "grouped", g, "per line", lTables[q])
	}
}

// writeRecycledTill writes a till export of two lines giving only a mobile
// that two customers of the warehouse held one after the other: one line
// on the earlier holder's first day with it, one on the later holder's
// last, both in store S04.
func writeRecycledTill(t *testing.T, w *engine.Warehouse, path string) {
	t.Helper()
	var mobile string
	var early, late time.Time
	err := w.DB.QueryRowContext(context.Background(), `WITH h AS (
			SELECT key_value, customer_id, min(first_seen) AS t0, max(last_seen) AS t1 FROM identity_link
			WHERE key_type = 'mobile' GROUP BY ALL)
		SELECT a.key_value, a.t0, b.t1 FROM h a JOIN h b ON a.key_value = b.key_value AND a.t1 < b.t0
		ORDER BY a.key_value LIMIT 1`).Scan(&mobile, &early, &late)
	if err != nil {
		t.Fatalf("a mobile two customers held one after the other: %v", err)
	}
	mobile = strings.TrimPrefix(mobile, "+86")
	body := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n" +
		fmt.Sprintf("SX01,1,S04,深圳福田店,E0404,%s,,%s,P00038,1,219.00,0.00,219.00\n", early.Format("2006-01-02 15:04:05"), mobile) +
		fmt.Sprintf("SX02,1,S04,深圳福田店,E0404,%s,,%s,P00038,1,219.00,0.00,219.00\n", late.Format("2006-01-02 15:04:05"), mobile)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSalesGroupsPastRowGroup: grouped past a DuckDB row group, the load
// is the one a record per line gives. A till export of 130,000 lines
// (more than the 122,880 of a row group): ~3,000 cards shopping in four
// stores over a year, 500 mobiles alone (5 % of the lines) and 5 % of the
// lines without a key. The grouped graph holds a few thousand records;
// identity_link, etl_record_key and every fact line's customer are the
// ones of a record per line. Counted apart from the load's code: the
// cards' explanations count every card line, and the lines name one
// customer per card and per mobile written.
func TestSalesGroupsPastRowGroup(t *testing.T) {
	const lines, cards, mobiles = 130000, 2999, 500
	path := filepath.Join(t.TempDir(), "pos_sales_202401.csv")
	var b strings.Builder
	b.WriteString("单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n")
	day := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
	cardLines, keys := 0, map[string]bool{}
	for i := range lines {
		card, mobile := "", ""
		switch i % 20 {
		case 0:
			mobile = fmt.Sprintf("1380000%04d", i/20%mobiles)
			keys[mobile] = true
		case 1:
		default:
			card, cardLines = fmt.Sprintf("M%05d", i%cards), cardLines+1
			keys[card] = true
		}
		fmt.Fprintf(&b, "SX%06d,1,S0%d,店%d,E01,%s,%s,%s,P00001,1,10.00,0.00,10.00\n", i, i%4+1, i%4+1,
			day.Add(time.Duration(i%360)*24*time.Hour+time.Duration(i%600)*time.Minute).Format("2006-01-02 15:04:05"), card, mobile)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	queries := []string{
		`SELECT customer_id, key_type, key_value, rule, records, first_seen, last_seen, channels FROM identity_link`,
		`SELECT etl_file_id, source_line, key_hash FROM etl_record_key`,
		`SELECT etl_file_id, source_line, customer_id, customer_key FROM fact_sales`,
	}
	run := func(group bool) (records int64, tables map[string][]string, w *engine.Warehouse) {
		defer func(old bool) { groupSales = old }(groupSales)
		groupSales = group
		w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		rep, err := Load(ctx, w, []string{path}, Options{AsOf: asOf, AfterIdentity: func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT count(*) FROM id_src`).Scan(&records)
		}})
		if err != nil {
			t.Fatal(err)
		}
		if f := rep.Files[0]; f.Loaded != lines {
			t.Fatalf("loaded %d of %d lines (%d rejected)", f.Loaded, lines, f.Rejected)
		}
		return records, sortedTables(t, w, queries), w
	}
	gRecords, gTables, w := run(true)
	lRecords, lTables, _ := run(false)
	if lRecords != lines || gRecords > lines/10 {
		t.Errorf("graph records: %d grouped, %d per line; want at most %d grouped, %d per line", gRecords, lRecords, lines/10, lines)
	}
	for _, q := range queries {
		if !slices.Equal(gTables[q], lTables[q]) {
			t.Errorf("%s: %d rows grouped, %d per line, or the rows differ", q, len(gTables[q]), len(lTables[q]))
		}
	}
	var cardRecords, customers int64
	if err := w.DB.QueryRow(`SELECT (SELECT sum(records) FROM identity_link WHERE key_type = 'member_card'),
		(SELECT count(DISTINCT customer_id) FROM fact_sales WHERE customer_id > 0)`).Scan(&cardRecords, &customers); err != nil {
		t.Fatal(err)
	}
	if cardRecords != int64(cardLines) || customers != int64(len(keys)) {
		t.Errorf("identity_link counts %d card lines (want %d); the lines name %d customers (want %d)", cardRecords, cardLines, customers, len(keys))
	}
}
