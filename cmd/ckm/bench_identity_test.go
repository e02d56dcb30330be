package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestBenchIdentityJSON runs ckm bench identity --format json on a world
// of 300 persons and checks its figures against ones computed here
// independently: the world (kept with --keep) is loaded again into a
// warehouse of the test's own, every record is given its true person from
// expected.json, and precision and recall are counted pair by pair over
// all pairs of records (no cells, no group sizes), overall and per case
// type, for the resolver and for linking on any shared key (its groups
// computed here with a map from key to group, merged by relabelling).
// Households and their members come from expected.json's hard cases.
func TestBenchIdentityJSON(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := runCkm(t, "", "--format", "json", "bench", "identity", "--persons", "300", "--seed", "3", "--dir", dir, "--keep")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	for _, k := range []string{"persons", "loads", "records", "pair_precision", "pair_recall", "baseline_pair_precision", "baseline_pair_recall",
		"households", "over_merged_households", "baseline_over_merged_households", "customers", "true_persons", "by_case",
		"generate_seconds", "load_seconds", "load_cpu_seconds", "per_load", "load_average_before", "load_average_after"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	var got identityScores
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	exp, err := fixtures.ReadExpected(data)
	if err != nil {
		t.Fatal(err)
	}
	// The records and the customers a load of the same files gives them.
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	asOf, err := time.Parse(time.DateOnly, exp.ExportDate)
	if err != nil {
		t.Fatal(err)
	}
	var recs []etl.IdentityRecord
	rep, err := etl.Load(ctx, w, []string{data}, etl.Options{AsOf: asOf.Add(24*time.Hour - time.Second),
		AfterIdentity: func(ctx context.Context, tx *sql.Tx) (err error) {
			recs, err = etl.IdentityRecords(ctx, tx)
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	names := map[int64]string{}
	for _, f := range rep.Files {
		names[f.FileID] = filepath.Base(f.Path)
	}
	type rec struct {
		person   int32
		customer int64
		base     int
	}
	var rs []rec
	// Any shared key: each key's group; a record meeting several groups
	// relabels them all to the first.
	keyGroup := map[string]int{}
	var group []int // per record kept
	for _, r := range recs {
		if r.Customer == 0 {
			continue
		}
		p := exp.RecordPersons[names[r.FileID]][r.Line-1]
		if p < 0 {
			t.Fatalf("%s line %d: a customer but no true person", names[r.FileID], r.Line)
		}
		g := len(rs)
		var met []int
		for _, k := range []string{"c" + r.Card, "i" + r.IDNumber, "m" + r.Mobile, "e" + r.Email} {
			if len(k) == 1 {
				continue
			}
			if h, ok := keyGroup[k]; ok {
				met = append(met, h)
			}
		}
		for _, h := range met {
			g = min(g, h)
		}
		for i := range group {
			if len(met) == 0 {
				break
			}
			for _, h := range met {
				if group[i] == h {
					group[i] = g
				}
			}
		}
		for k, h := range keyGroup {
			for _, m := range met {
				if h == m {
					keyGroup[k] = g
				}
			}
		}
		for _, k := range []string{"c" + r.Card, "i" + r.IDNumber, "m" + r.Mobile, "e" + r.Email} {
			if len(k) > 1 {
				keyGroup[k] = g
			}
		}
		group = append(group, g)
		rs = append(rs, rec{person: p, customer: r.Customer})
	}
	for i := range rs {
		rs[i].base = group[i]
	}
	// Case types of each person.
	cases := map[int32][]string{}
	persons := map[string]map[int32]bool{}
	addCase := func(kind string, p int32) {
		if persons[kind] == nil {
			persons[kind] = map[int32]bool{}
		}
		if !persons[kind][p] {
			persons[kind][p] = true
			cases[p] = append(cases[p], kind)
		}
	}
	households := 0
	for _, hc := range exp.HardCases {
		addCase(hc.Kind, hc.Person)
		if hc.Kind == fixtures.HardRecycled && hc.Other >= 0 {
			addCase(hc.Kind, hc.Other)
		}
		if hc.Kind == fixtures.HardHousehold && hc.Person < hc.Other {
			households++
		}
	}
	for _, r := range rs {
		if len(cases[r.person]) == 0 {
			addCase("none", r.person)
		}
	}
	type tally struct{ pred, truth, both, bpred, bboth int64 }
	all := tally{}
	byCase := map[string]*tally{}
	for k := range persons {
		byCase[k] = &tally{}
	}
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			a, b := rs[i], rs[j]
			sameP, sameT, sameB := a.customer == b.customer, a.person == b.person, a.base == b.base
			if !sameP && !sameT && !sameB {
				continue
			}
			add := func(t *tally) {
				if sameP {
					t.pred++
				}
				if sameT {
					t.truth++
				}
				if sameP && sameT {
					t.both++
				}
				if sameB {
					t.bpred++
				}
				if sameB && sameT {
					t.bboth++
				}
			}
			add(&all)
			seen := map[string]bool{}
			for _, k := range append(append([]string(nil), cases[a.person]...), cases[b.person]...) {
				if !seen[k] {
					seen[k] = true
					add(byCase[k])
				}
			}
		}
	}
	ratio := func(n, d int64) float64 {
		if d == 0 {
			return 1
		}
		return float64(n) / float64(d)
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	near("pair_precision", got.PairPrecision, ratio(all.both, all.pred))
	near("pair_recall", got.PairRecall, ratio(all.both, all.truth))
	near("baseline_pair_precision", got.BaselinePairPrecision, ratio(all.bboth, all.bpred))
	near("baseline_pair_recall", got.BaselinePairRecall, ratio(all.bboth, all.truth))
	for k, tl := range byCase {
		c, ok := got.ByCase[k]
		if !ok {
			t.Errorf("by_case lacks %q", k)
			continue
		}
		if c.Persons != len(persons[k]) {
			t.Errorf("by_case %s: %d persons, want %d", k, c.Persons, len(persons[k]))
		}
		near("by_case "+k+" pair_precision", c.PairPrecision, ratio(tl.both, tl.pred))
		near("by_case "+k+" pair_recall", c.PairRecall, ratio(tl.both, tl.truth))
		near("by_case "+k+" baseline_pair_precision", c.BaselinePairPrecision, ratio(tl.bboth, tl.bpred))
	}
	for _, k := range []string{fixtures.HardHousehold, fixtures.HardMobileChange, fixtures.HardRecycled, fixtures.HardIDTypo,
		fixtures.HardID15, fixtures.HardNameVariant, fixtures.HardCardReissue, "none"} {
		if _, ok := got.ByCase[k]; !ok {
			t.Errorf("by_case lacks %q", k)
		}
	}
	if len(got.ByCase) != len(byCase) {
		t.Errorf("by_case has %d case types, want %d", len(got.ByCase), len(byCase))
	}
	if got.Households != households || households == 0 {
		t.Errorf("households %d, want %d from expected.json", got.Households, households)
	}
	// Linking on any shared key puts every household together (a shared
	// number links them); the resolver keeps them apart at this size.
	if got.BaselineOverMerged != households || got.OverMergedHouseholds != 0 {
		t.Errorf("households merged: %d (baseline %d), want 0 (%d)", got.OverMergedHouseholds, got.BaselineOverMerged, households)
	}
	if len(got.PerLoad) != 1 || got.PerLoad[0].IdentityStatements < 10 || got.PerLoad[0].IdentitySeconds <= 0 ||
		got.PerLoad[0].IdentitySeconds > got.PerLoad[0].Seconds || got.LoadCPUSeconds <= 0 {
		t.Errorf("per load %+v, load CPU seconds %v: want one load with its identity step's statements and seconds", got.PerLoad, got.LoadCPUSeconds)
	}
	if got.Persons != 300 || got.Loads != 1 || got.Records != len(recs) {
		t.Errorf("persons %d loads %d records %d, want 300, 1, %d", got.Persons, got.Loads, got.Records, len(recs))
	}
	truePersons, customers := map[int32]bool{}, map[int64]bool{}
	for _, r := range rs {
		truePersons[r.person], customers[r.customer] = true, true
	}
	if got.TruePersons != len(truePersons) || got.Customers != len(customers) {
		t.Errorf("true persons %d, customers %d; want %d, %d", got.TruePersons, got.Customers, len(truePersons), len(customers))
	}
	// The goal figures hold at this size too, and the baseline is worse.
	if got.PairPrecision < 0.995 || got.PairRecall < 0.98 || got.BaselinePairPrecision >= got.PairPrecision {
		t.Errorf("precision %v recall %v baseline precision %v", got.PairPrecision, got.PairRecall, got.BaselinePairPrecision)
	}
}
