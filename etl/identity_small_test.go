package etl

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
)

// TestLabelsInGoSameAsSQL: the components labelComponents finds in Go are
// the ones the rounds of SQL converge to, and the shortcuts for
// empty inputs (no earlier holder of a key: the first load; no conflicted
// key: a world without hard cases) make what the full path makes. Each
// world is loaded in two loads (CRM and the first half year of till lines,
// then the rest and the web orders) twice: with the Go path and the
// shortcuts, and with labelsInSQL (every propagation in SQL rounds) and
// no shortcut. Every record gets the same customer, and etl_identity,
// identity_link and customer_merge are the same row for row. The worlds:
// 1,500 persons with the hard cases, 300 without.
func TestLabelsInGoSameAsSQL(t *testing.T) {
	for _, world := range []struct {
		persons int
		hard    bool
	}{{1500, true}, {300, false}} {
		t.Run(fmt.Sprintf("persons=%d,hard=%v", world.persons, world.hard), func(t *testing.T) {
			sameWithAndWithoutShortcuts(t, world.persons, world.hard)
		})
	}
}

func sameWithAndWithoutShortcuts(t *testing.T, persons int, hard bool) {
	ctx := context.Background()
	dir := t.TempDir()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: persons, Days: 365, Seed: 7, HardCases: hard})
	if err != nil {
		t.Fatal(err)
	}
	asOf, err := time.Parse(time.DateOnly, exp.ExportDate)
	if err != nil {
		t.Fatal(err)
	}
	run := func(inSQL, shortcuts bool) (recs [][]IdentityRecord, tables map[string][]string) {
		defer func(old, sc bool) { labelsInSQL, identityShortcuts = old, sc }(labelsInSQL, identityShortcuts)
		labelsInSQL, identityShortcuts = inSQL, shortcuts
		w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		first, second := twoLoads(t, dir)
		for i, paths := range [][]string{first, second} {
			var got []IdentityRecord
			_, err := Load(ctx, w, paths, Options{AsOf: asOf.Add(24*time.Hour - time.Second), AfterIdentity: func(ctx context.Context, tx *sql.Tx) (err error) {
				got, err = IdentityRecords(ctx, tx)
				return err
			}})
			if err != nil {
				t.Fatalf("load %d: %v", i+1, err)
			}
			recs = append(recs, got)
		}
		tables = map[string][]string{}
		for _, q := range []string{
			`SELECT key_type, key_value, customer_id, first_run FROM etl_identity`,
			`SELECT run_id, customer_id, key_type, key_value, rule, coalesce(detail, ''), records, first_seen, last_seen, channels FROM identity_link`,
			`SELECT merge_id, kind, survivor, other FROM customer_merge`,
		} {
			out := queryLines(t, w, `SELECT CAST(x AS VARCHAR) FROM (`+q+`) x`)
			slices.Sort(out)
			tables[q] = out
		}
		return recs, tables
	}
	goRecs, goTables := run(false, true)
	sqlRecs, sqlTables := run(true, false)
	for i := range goRecs {
		if len(goRecs[i]) == 0 || !slices.Equal(goRecs[i], sqlRecs[i]) {
			t.Errorf("load %d: the records' customers differ between the Go and the SQL propagation (%d and %d records)", i+1, len(goRecs[i]), len(sqlRecs[i]))
		}
	}
	for q, g := range goTables {
		if !slices.Equal(g, sqlTables[q]) {
			t.Errorf("%s: %d rows with Go labels, %d with SQL, or the rows differ", q, len(g), len(sqlTables[q]))
		}
	}
	if len(goTables[`SELECT key_type, key_value, customer_id, first_run FROM etl_identity`]) < persons {
		t.Errorf("etl_identity has %d rows: the world did not load", len(goTables[`SELECT key_type, key_value, customer_id, first_run FROM etl_identity`]))
	}
}

// twoLoads splits a generated world's exports in dir into two loads: the
// CRM, products, campaigns, contacts and the first half year of till
// files, then the second half year and the web orders (which meet the
// first load's customers).
func twoLoads(t *testing.T, dir string) (first, second []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if b := filepath.Base(f); b >= "pos_sales_202407" && b < "pos_sales_3" || b == "web_orders.ndjson" {
			second = append(second, f)
		} else if filepath.Ext(f) != ".json" {
			first = append(first, f)
		}
	}
	if len(second) < 2 {
		t.Fatalf("second load: %v", second)
	}
	return first, second
}
