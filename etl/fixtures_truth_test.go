package etl_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
)

// TestLoadMatchesFixtureTruth loads a generated export set and checks it
// against the generator's ground truth: every planted fault rejected (or
// flagged) with its rule on its line and nothing else, per-file counts,
// unified customers and net revenue to the cent.
func TestLoadMatchesFixtureTruth(t *testing.T) {
	for _, seed := range []int64{1, 7} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			w, exp, rep := loadFixtures(t, fixtures.Options{Customers: 600, Days: 365, Seed: seed})
			checkTruth(t, w, exp, rep)
		})
	}
}

// loadFixtures generates an export set into a temporary directory and
// loads it into a new in-memory warehouse as of the export date.
func loadFixtures(t *testing.T, opts fixtures.Options) (*engine.Warehouse, *fixtures.Expected, *etl.Report) {
	t.Helper()
	ctx := context.Background()
	opts.Out = t.TempDir()
	exp, err := fixtures.Generate(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	asOf, _ := time.Parse("2006-01-02", exp.ExportDate)
	rep, err := etl.Load(ctx, w, []string{opts.Out}, etl.Options{AsOf: asOf.Add(24*time.Hour - time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return w, exp, rep
}

func checkTruth(t *testing.T, w *engine.Warehouse, exp *fixtures.Expected, rep *etl.Report) {
	t.Helper()
	// Each record's identifiers are recorded once, and every sales line
	// given a customer by its identifiers has them (a split moves the
	// records by these rows).
	var dups, bare int64
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM (SELECT etl_file_id, source_line, key_hash FROM etl_record_key GROUP BY ALL HAVING count(*) > 1)),
		(SELECT count(*) FROM fact_sales f WHERE f.customer_id > 0 AND NOT EXISTS (
			SELECT 1 FROM etl_record_key r WHERE r.etl_file_id = f.etl_file_id AND r.source_line = f.source_line))`).Scan(&dups, &bare); err != nil {
		t.Fatal(err)
	}
	if dups != 0 || bare != 0 {
		t.Errorf("etl_record_key: %d identifiers recorded twice for one record, %d sales lines with a customer but no identifier recorded", dups, bare)
	}
	seen := map[string]bool{}
	for _, f := range rep.Files {
		name := filepath.Base(f.Path)
		seen[name] = true
		ft, ok := exp.Files[name]
		if !ok {
			t.Errorf("%s loaded but not in expected.json", name)
			continue
		}
		got := [5]int64{f.Read, f.Loaded, f.Rejected, f.Duplicates, f.Warned}
		want := [5]int64{ft.Rows, ft.Loaded, ft.Rejected, ft.Duplicates, ft.Warned}
		if got != want {
			t.Errorf("%s: read/loaded/rejected/duplicates/warned = %v, want %v", name, got, want)
		}
		wantIssues := map[string]bool{}
		for _, is := range append(append(append([]fixtures.Issue{}, ft.Rejects...), ft.Warnings...), ft.DuplicateLines...) {
			wantIssues[fmt.Sprintf("%d %s %s", is.Line, is.Rule, is.Severity)] = true
		}
		rows, err := w.DB.Query(`SELECT DISTINCT line, rule, severity FROM etl_reject WHERE path = ?`, f.Path)
		if err != nil {
			t.Fatal(err)
		}
		gotIssues := map[string]bool{}
		for rows.Next() {
			var line int64
			var rule, sev string
			if err := rows.Scan(&line, &rule, &sev); err != nil {
				t.Fatal(err)
			}
			gotIssues[fmt.Sprintf("%d %s %s", line, rule, sev)] = true
		}
		rows.Close()
		var missing, extra []string
		for k := range wantIssues {
			if !gotIssues[k] {
				missing = append(missing, k)
			}
		}
		for k := range gotIssues {
			if !wantIssues[k] {
				extra = append(extra, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 {
			t.Errorf("%s: planted faults not reported: %v", name, missing)
		}
		if len(extra) > 0 {
			t.Errorf("%s: reported but not planted: %v", name, extra)
		}
	}
	for name := range exp.Files {
		if !seen[name] {
			t.Errorf("%s in expected.json but not loaded", name)
		}
	}
	var customers, salesRows int64
	var revenue string
	if err := w.DB.QueryRow(`SELECT count(DISTINCT customer_id) FROM dim_customer WHERE customer_id > 0`).Scan(&customers); err != nil {
		t.Fatal(err)
	}
	if err := w.DB.QueryRow(`SELECT CAST(sum(amount) AS VARCHAR), count(*) FROM fact_sales`).Scan(&revenue, &salesRows); err != nil {
		t.Fatal(err)
	}
	if customers != exp.DistinctCustomers {
		t.Errorf("unified customers %d, want %d", customers, exp.DistinctCustomers)
	}
	if revenue != exp.NetRevenue {
		t.Errorf("net revenue %s, want %s", revenue, exp.NetRevenue)
	}
	if salesRows != exp.FactSalesRows {
		t.Errorf("fact_sales rows %d, want %d", salesRows, exp.FactSalesRows)
	}
}
