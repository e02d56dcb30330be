package etl

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestSharedLines: a load's staged lines are one row each — so identity's
// records and the load's counts need no DISTINCT — only when no file is
// JSON (items share their order line), raw, joined or read again for a
// join, and the full path is not asked for; short of that, only the JSON
// files' lines are made distinct (sharedLines), unless a file is staged in
// SQL or the full path is asked for.
func TestSharedLines(t *testing.T) {
	csv := func(target string) *fileJob {
		return &fileJob{FileReport: FileReport{Target: target, Format: "csv"}, m: &Mapping{Target: target}}
	}
	json := &fileJob{FileReport: FileReport{Target: "sales", Format: "json"}, m: &Mapping{Target: "sales", Items: "items"}}
	ndjson := &fileJob{FileReport: FileReport{Target: "customers", Format: "ndjson"}, m: &Mapping{Target: "customers"}}
	joined := csv("sales")
	joined.m.Joins = []Join{{Name: "items"}}
	joinFile := csv("sales")
	joinFile.m.joinOf = &Mapping{}
	json.FileID, ndjson.FileID = 7, 9
	for _, tc := range []struct {
		name string
		l    loader
		// sharedLines("f"): which files' lines may have several rows.
		shared string
	}{
		{"delimited sales and customers", loader{jobs: []*fileJob{csv("sales"), csv("customers")}}, "false"},
		{"parquet sales", loader{jobs: []*fileJob{{FileReport: FileReport{Target: "sales", Format: "parquet"}, m: &Mapping{Target: "sales"}}}}, "false"},
		{"JSON orders with items", loader{jobs: []*fileJob{csv("customers"), json}}, "f IN (7)"},
		{"JSON orders and NDJSON customers", loader{jobs: []*fileJob{csv("sales"), json, ndjson}}, "f IN (7, 9)"},
		{"NDJSON customers", loader{jobs: []*fileJob{csv("sales"), ndjson}}, "f IN (9)"},
		{"a mapping with joins", loader{jobs: []*fileJob{joined}}, "true"},
		{"a joined file", loader{jobs: []*fileJob{csv("sales"), joinFile}}, "true"},
		{"a joined file read again", loader{jobs: []*fileJob{csv("sales")}, refs: []*fileJob{csv("sales")}}, "true"},
		{"raw lines staged in SQL", loader{jobs: []*fileJob{csv("sales")}, raws: []rawJob{{job: csv("sales")}}}, "true"},
		{"the full path", loader{jobs: []*fileJob{csv("sales")}, opts: Options{everyStep: true}}, "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.sharedLines("f"); got != tc.shared {
				t.Errorf("sharedLines = %q, want %q", got, tc.shared)
			}
		})
	}
}

// TestRowsStaged: etl_run.rows_staged counts staged lines, not rows — by a
// count where every line is one row (a till export: its short row is
// rejected at extraction, not staged) and by distinct lines where a JSON
// order line has a row per item (two orders of two and one items: 2).
func TestRowsStaged(t *testing.T) {
	ctx := context.Background()
	tills := tillHeader + till("S1", 1, "ST01", 1, "10.00") + till("S1", 2, "ST01", 2, "10.00") +
		"S2,1,ST01\n" + till("S3", 1, "ST01", 3, "10.00")
	orders := `{"order_id":"W1","created_at":"2024-06-01T10:00:00+08:00","customer":{"mobile":"13800138000"},"lines":[` +
		`{"sku":"P1","qty":1,"price":"20.00","discount":"0"},{"sku":"P2","qty":2,"price":"5.00","discount":"0"}]}` + "\n" +
		`{"order_id":"W2","created_at":"2024-06-02T10:00:00+08:00","customer":{"mobile":"13800138000"},"lines":[` +
		`{"sku":"P1","qty":1,"price":"20.00","discount":"0"}]}` + "\n"
	// Past one DuckDB vector of till lines beside the JSON orders: only
	// the orders' lines are made distinct (sharedLines), the tills' counted.
	var many strings.Builder
	many.WriteString(tillHeader)
	for i := 1; i <= 2500; i++ {
		many.WriteString(till(fmt.Sprintf("T%d", i), 1, "ST01", 1, "10.00"))
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
		// lines loaded per file, as etl_file records them
		loaded map[string]int64
	}{
		{"till lines", map[string]string{"pos_sales_1.csv": tills}, 3, map[string]int64{"pos_sales_1.csv": 3}},
		{"order items", map[string]string{"web_orders_1.ndjson": orders}, 2, map[string]int64{"web_orders_1.ndjson": 2}},
		{"order items beside till lines", map[string]string{"web_orders_1.ndjson": orders, "pos_sales_2.csv": many.String()}, 2502,
			map[string]int64{"web_orders_1.ndjson": 2, "pos_sales_2.csv": 2500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := openMem(t)
			dir := t.TempDir()
			for name, content := range tc.files {
				writeFile(t, dir, name, content, false)
			}
			if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()}); err != nil {
				t.Fatal(err)
			}
			if n := queryInt(t, w, `SELECT rows_staged FROM etl_run`); n != tc.want {
				t.Errorf("rows_staged %d, want %d", n, tc.want)
			}
			for name, want := range tc.loaded {
				if n := queryInt(t, w, `SELECT rows_loaded FROM etl_file WHERE path LIKE '%' || ?`, name); n != want {
					t.Errorf("%s: %d lines loaded, want %d", name, n, want)
				}
			}
		})
	}
}
