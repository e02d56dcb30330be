package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
)

// TestNewBenchIdentityCmd checks what ckm bench identity parses its flags
// and environment into, without generating anything.
func TestNewBenchIdentityCmd(t *testing.T) {
	cases := []parseCase[benchIdentityOptions]{
		{"defaults", nil, nil, benchIdentityOptions{persons: 50000, days: 365, seed: 1, loads: 1}, ""},
		{"flags", nil, []string{"--persons", "100", "--days", "30", "--seed", "5", "--dir", "d", "--keep"},
			benchIdentityOptions{persons: 100, days: 30, seed: 5, dir: "d", keep: true, loads: 1}, ""},
		{"environment", map[string]string{"CKM_BENCH_IDENTITY_DAYS": "60", "CKM_PERSONS": "500"}, nil, benchIdentityOptions{persons: 500, days: 60, seed: 1, loads: 1}, ""},
		{"zero persons", nil, []string{"--persons", "0"}, benchIdentityOptions{}, "--persons 0"},
		{"too many persons", nil, []string{"--persons", "2000000"}, benchIdentityOptions{}, "--persons 2000000"},
		{"zero days", nil, []string{"--days", "0"}, benchIdentityOptions{}, "--days 0"},
		{"two loads", nil, []string{"--loads", "2"}, benchIdentityOptions{persons: 50000, days: 365, seed: 1, loads: 2}, ""},
		{"three loads", nil, []string{"--loads", "3"}, benchIdentityOptions{}, "--loads 3"},
	}
	checkParse(t, []string{"bench"}, newBenchIdentityCmd, []string{"bench", "identity"}, func(o *benchIdentityOptions) { o.app = nil }, cases)
}

// TestSplitWorld cuts a small world with hard cases in two and checks the
// cut against the files themselves: every line lands in one load with its
// true person, web orders and CRM rows are on the side of the cut their
// dates say, re-registrations are in the second load, and till files go
// whole by month.
func TestSplitWorld(t *testing.T) {
	dir := t.TempDir()
	exp, err := fixtures.Generate(context.Background(), fixtures.Options{Out: filepath.Join(dir, "data"), Customers: 300, Days: 365, Seed: 3, HardCases: true})
	if err != nil {
		t.Fatal(err)
	}
	const cut = "2024-07-01"
	s, err := splitWorld(filepath.Join(dir, "data"), filepath.Join(dir, "split"), cut, exp.RecordPersons)
	if err != nil {
		t.Fatal(err)
	}
	count := func(truth []int32) map[int32]int {
		m := map[int32]int{}
		for _, p := range truth {
			m[p]++
		}
		return m
	}
	for name, truth := range exp.RecordPersons {
		want := count(truth)
		got := count(s.truth[0][name])
		for p, n := range count(s.truth[1][name]) {
			got[p] += n
		}
		if name == "crm_customers.xlsx" {
			got[-1]-- // each part has its own header line
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: persons of the split lines differ from the original's", name)
		}
	}
	for i, d := range s.dirs {
		web, err := os.ReadFile(filepath.Join(d, "web_orders.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(web)), "\n") {
			if k := strings.Index(line, `"created_at":"`); k >= 0 && len(line) > k+24 && line[k+18] == '-' {
				if after := line[k+14:k+24] >= cut; after != (i == 1) {
					t.Errorf("load %d has a web order of %s", i+1, line[k+14:k+24])
				}
			}
		}
		f, err := excelize.OpenFile(filepath.Join(d, "crm_customers.xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows("客户")
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		dated := 0
		for n, r := range rows[1:] {
			day, ok := parseDay(r[crmRegistered])
			if ok {
				dated++
			}
			p := s.truth[i]["crm_customers.xlsx"][n+1]
			second := false
			for _, hc := range exp.HardCases {
				second = second || hc.Person == p && (hc.Kind == fixtures.HardIDTypo || hc.Kind == fixtures.HardID15 || hc.Kind == fixtures.HardNameVariant)
			}
			if ok && !second && (day >= cut) != (i == 1) {
				t.Errorf("load %d has a CRM row registered %s", i+1, day)
			}
		}
		if dated == 0 {
			t.Errorf("load %d: no CRM row with a registration date read", i+1)
		}
		if _, err := os.Stat(filepath.Join(d, []string{"pos_sales_202406.csv", "pos_sales_202407.csv"}[i])); err != nil {
			t.Errorf("load %d: %v", i+1, err)
		}
	}
}

// TestFollowLaterLoads checks how bench identity gives records of an
// earlier load the customers they have now, against a history written by
// hand: merge 1 (load_merge) takes customer 2 into 1; merge 2 (load_split)
// moves record (10, 2) — by then customer 1's — to customer 3; merge 3
// (load_merge) takes 3 into 1 but is undone; merge 4 (load_split) moves
// record (10, 4) from customer 5, which it is not in, so it stays.
func TestFollowLaterLoads(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, q := range []string{
		`INSERT INTO customer_merge (merge_id, kind, run_id, survivor, other, merged_at, undone_run) VALUES
			(1, 'load_merge', 2, 1, 2, TIMESTAMP '2024-01-01', NULL),
			(2, 'load_split', 2, 1, 3, TIMESTAMP '2024-01-01', NULL),
			(3, 'load_merge', 3, 1, 3, TIMESTAMP '2024-02-01', 4),
			(4, 'load_split', 3, 5, 6, TIMESTAMP '2024-02-01', NULL)`,
		`INSERT INTO etl_customer_merge VALUES (2, 'fact_sales', 10, 2, 1, 1, 3, 1), (4, 'fact_sales', 10, 4, 5, 1, 6, 1)`,
	} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	recs := []etl.IdentityRecord{
		{FileID: 10, Line: 1, Customer: 1}, {FileID: 10, Line: 2, Customer: 2}, {FileID: 10, Line: 3, Customer: 2},
		{FileID: 10, Line: 4, Customer: 4}, {FileID: 11, Line: 1, Customer: 5},
	}
	if err := followLaterLoads(ctx, w, recs); err != nil {
		t.Fatal(err)
	}
	want := []int64{1, 3, 1, 4, 5}
	for i, r := range recs {
		if r.Customer != want[i] {
			t.Errorf("record (%d, %d): customer %d, want %d", r.FileID, r.Line, r.Customer, want[i])
		}
	}
}

// TestOverMerged counts, by hand, the households whose two members have
// records in one group: households (0, 1) and (2, 3); the resolver puts a
// record of 1 with 0's (one over-merged household), the baseline groups
// everyone together (two).
func TestOverMerged(t *testing.T) {
	exp := &fixtures.Expected{HardCases: []fixtures.HardCase{
		{Person: 0, Kind: fixtures.HardHousehold, Other: 1}, {Person: 1, Kind: fixtures.HardHousehold, Other: 0},
		{Person: 2, Kind: fixtures.HardHousehold, Other: 3}, {Person: 3, Kind: fixtures.HardHousehold, Other: 2},
		{Person: 4, Kind: fixtures.HardMobileChange, Other: -1},
	}}
	person := []int32{0, 0, 1, 1, 2, 3, 4, -1}
	pred := []int64{10, 10, 10, 11, 12, 13, 14, 0}
	base := []int64{1, 1, 1, 1, 1, 1, 1, 0}
	households, merged, baseMerged := overMerged(exp, person, pred, base)
	if households != 2 || merged != 1 || baseMerged != 2 {
		t.Errorf("households %d, over-merged %d, baseline %d; want 2, 1, 2", households, merged, baseMerged)
	}
}
