package etl

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// joinMapping joins items to orders; the join is named "out", a name the
// load's own staging tables might take (src_out).
const joinMapping = `sources:
  - name: j
    target: sales
    channel: pos
    pattern: "items*.csv"
    guests: %s
    joins:
      - {name: out, pattern: "orders*.csv", on: {oid: id}%s}
    columns:
      order_id: oid
      product_code: sku
      quantity: {value: 2}
      unit_price: price
      ts: out.ts
      customer_ref: out.cust
`

func joinMappings(t *testing.T, guests, joinOpts string) []Mapping {
	t.Helper()
	text := strings.Replace(strings.Replace(joinMapping, "%s", guests, 1), "%s", joinOpts, 1)
	ms, err := ParseMappings("ckm.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestJoinLedger: a key repeated in a joined file rejects the later line
// (the first is joined); an item whose order is missing is rejected; a
// line without a customer is rejected when guests: reject; every line of
// both files has one outcome.
func TestJoinLedger(t *testing.T) {
	// Staged in the load's transaction (a small load) and ahead of it (a
	// large one: the raw files committed before they are joined, settle).
	for _, ahead := range []bool{false, true} {
		t.Run(fmt.Sprintf("ahead=%v", ahead), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			writeFile(t, dir, "orders.csv", "id,ts,cust\n"+
				"A,2024-01-02 10:00,7\n"+ // 2
				"B,2024-01-03 10:00,\n"+ // 3: no customer
				"A,2024-01-09 10:00,8\n"+ // 4: A again: rejected, A joins line 2
				"C,2024-01-04 10:00,9\n"+ // 5: no items: noted
				",2024-01-05 10:00,9\n"+ // 6: no key: noted
				" ,2024-01-06 10:00,9\n", false) // 7: a blank key, again: noted
			writeFile(t, dir, "items.csv", "oid,sku,price\n"+
				"A,P1,1.50\n"+ // 2: loaded, customer 7, 2024-01-02
				"B,P1,2.00\n"+ // 3: rejected: no customer (guests: reject)
				"Z,P1,3.00\n"+ // 4: rejected: no order Z
				" a ,P2,4.00\n", false) // 5: order " a " is not A: rejected
			w := openMem(t)
			rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Mappings: joinMappings(t, "reject", ""), stageAhead: ahead})
			if err != nil {
				t.Fatal(err)
			}
			got := fileCounts(rep)
			if c := got["items.csv"]; [4]int64{c[0], c[1], c[2], c[3]} != [4]int64{4, 1, 3, 0} {
				t.Errorf("items read/loaded/rejected/duplicates %v, want 4/1/3/0", c[:4])
			}
			if c := got["orders.csv"]; c != [5]int64{6, 5, 1, 0, 3} {
				t.Errorf("orders read/loaded/rejected/duplicates/warned %v, want 6/5/1/0/3", c)
			}
			expectValue(t, w, "items.csv:3 no_customer_key|items.csv:4 join_missing|items.csv:5 join_missing|orders.csv:4 join_key_repeated|orders.csv:5 join_unused|orders.csv:6 join_unused|orders.csv:7 join_unused",
				`SELECT string_agg(regexp_extract(path, '[^/]+$') || ':' || line || ' ' || rule, '|' ORDER BY path, line)
				FROM etl_reject WHERE rule <> 'product_unknown'`)
			expectValue(t, w, "A|2|3.00|2024-01-02 10:00:00", `SELECT order_id || '|' || quantity || '|' || amount || '|' || order_ts FROM fact_sales`)
			expectValue(t, w, "error|key already on line 2 of this file: the first line is joined", `SELECT severity || '|' || message FROM etl_reject WHERE rule = 'join_key_repeated'`)
			// A line rejected for its join keeps its own record, as read.
			expectValue(t, w, `4 {"file_id":1,"_line":4,"oid":"Z","sku":"P1","price":"3.00"}|5 {"file_id":1,"_line":5,"oid":" a ","sku":"P2","price":"4.00"}`,
				`SELECT string_agg(line || ' ' || raw_record, '|' ORDER BY line) FROM etl_reject WHERE rule = 'join_missing'`)
		})
	}
}

// TestJoinWithoutFiles: a required join whose files are not in the load
// fails it naming the join; an optional one loads the lines without it.
func TestJoinWithoutFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "items.csv", "oid,sku,price\nA,P1,1.50\n", false)
	w := openMem(t)
	_, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Mappings: joinMappings(t, "guest", "")})
	if err == nil || !strings.Contains(err.Error(), "join out: no file matching orders*.csv") {
		t.Fatalf("load without the orders: %v", err)
	}
	expectCount(t, w, 0, `SELECT count(*) FROM etl_file`)
	// Optional: the line loads, but without a time (from the orders) it is rejected by its rule.
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Mappings: joinMappings(t, "guest", ", optional: true")})
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Files[0]; f.Read != 1 || f.Rejected != 1 {
		t.Errorf("read %d rejected %d, want 1 and 1", f.Read, f.Rejected)
	}
	expectValue(t, w, "date_missing", `SELECT string_agg(DISTINCT rule) FROM etl_reject WHERE rule LIKE 'date%'`)
}

// TestJoinEmptyFile: a joined file that is an export of nothing is 0
// lines read; the lines that needed it are rejected (join_missing).
func TestJoinEmptyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "items.csv", "oid,sku,price\nA,P1,1.50\n", false)
	writeFile(t, dir, "orders.csv", "", false)
	w := openMem(t)
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Mappings: joinMappings(t, "guest", "")})
	if err != nil {
		t.Fatal(err)
	}
	got := fileCounts(rep)
	if c := got["items.csv"]; c[0] != 1 || c[2] != 1 {
		t.Errorf("items %v, want 1 read, 1 rejected", c)
	}
	if c := got["orders.csv"]; c[0] != 0 {
		t.Errorf("orders %v, want 0 read", c)
	}
	expectValue(t, w, "join_missing", `SELECT rule FROM etl_reject WHERE rule <> 'product_unknown'`)
}

// TestExpressionDivisionExact: dividing by 100 in an expression is exact
// decimal arithmetic (rewritten as × 0.01), rounded half up: a 10%
// discount on 161.15 is 16.115 → 16.12 (binary division gives 16.11, the
// line 145.04), on 1.05 it is 0.105 → 0.11; 12.5% of 8.1234 is 1.0154250
// → 1.02, the line round(8.1234 − 1.02, 2) = 7.10.
func TestExpressionDivisionExact(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "lines.csv", "oid,sku,price,pct,ts\nA,P1,161.15,10,2024-01-02\nB,P1,1.05,10,2024-01-02\nC,P1,8.1234,12.5,2024-01-02\n", false)
	ms, err := ParseMappings("ckm.yaml", []byte(`sources:
  - name: d
    target: sales
    channel: pos
    pattern: "lines*.csv"
    columns:
      order_id: oid
      product_code: sku
      quantity: {value: 1}
      unit_price: price
      ts: ts
      discount: {sql: "round(price * pct / 100, 2)"}
`))
	if err != nil {
		t.Fatal(err)
	}
	w := openMem(t)
	if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), Mappings: ms}); err != nil {
		t.Fatal(err)
	}
	expectValue(t, w, "A 161.1500 145.03|B 1.0500 0.94|C 8.1234 7.10", `SELECT string_agg(order_id || ' ' || unit_price || ' ' || amount, '|' ORDER BY order_id) FROM fact_sales`)
}
