package etl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
)

// TestUpgradeV1Warehouse opens a warehouse written by the ckm of commit
// 1d5777b (testdata/upgrade/README.md says how it was made), checks it
// migrated with its data intact, and loads a change file on top of it: the
// new versions start at the change dates and the old sales move to them.
func TestUpgradeV1Warehouse(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.duckdb")
	copyFile(t, filepath.Join("testdata", "upgrade", "v1.duckdb"), path)
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if v, err := w.Version(ctx); err != nil || v != engine.SchemaVersion() {
		t.Fatalf("schema version %d (%v), want %d", v, err, engine.SchemaVersion())
	}
	// Counted by the old binary right after its load (README.md).
	// Version 6 adds one member, the guest (customer -5).
	for table, want := range map[string]int64{"dim_customer": 203 + 1, "fact_sales": 4320, "etl_reject": 94, "fact_interaction": 175, "fact_campaign": 159} {
		if n := queryInt(t, w, `SELECT count(*) FROM `+table); n != want {
			t.Errorf("%s has %d rows after the upgrade, want %d", table, n, want)
		}
	}
	if err := engine.CheckCustomerHistory(ctx, w.DB); err != nil {
		t.Fatalf("the old history: %v", err)
	}
	// Version 3 added effective_from; the old versions have none (read as valid_from).
	if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE effective_from IS NULL AND customer_key <> -5`); n != 203 {
		t.Errorf("%d old versions without effective_from, want all 203", n)
	}

	// M10000108 (customer 38, 钻石) is downgraded from 2024-11-15;
	// M10000051 (customer 95, 银卡) goes up with no change date, so at the
	// as-of; M10000116 (customer 23, 金卡) gets a back-dated 钻石 period in
	// front of the one from 2024-11-15.
	dir := t.TempDir()
	writeXLSX(t, dir, "crm_customers_changes.xlsx", "客户", [][]any{
		{"会员卡号", "会员等级", "更新时间"},
		{"M10000108", "金卡", "2024-11-15"},
		{"M10000051", "金卡", ""},
		{"M10000116", "普通", "2024-11-15 09:00:00"},
		{"M10000116", "钻石", "2024-06-01"},
	})
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: day(t, "2025-01-31")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loaded != 4 || rep.Rejected != 0 {
		t.Errorf("change file: %d loaded, %d rejected; want 4 and 0", rep.Loaded, rep.Rejected)
	}
	for card, want := range map[string][]string{
		"M10000108": {
			"钻石 [" + start + ", 2024-11-15 00:00:00) false",
			"金卡 [2024-11-15 00:00:00, " + open + ") true"},
		"M10000051": {
			"银卡 [" + start + ", 2025-01-31 23:59:59) false",
			"金卡 [2025-01-31 23:59:59, " + open + ") true"},
		"M10000116": {
			"金卡 [" + start + ", 2024-06-01 00:00:00) false",
			"钻石 [2024-06-01 00:00:00, 2024-11-15 09:00:00) false",
			"普通 [2024-11-15 09:00:00, " + open + ") true"},
	} {
		if got := history(t, w, card); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("history of %s:\n%s\nwant:\n%s", card, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// The old sales of customer 38 after 2024-11-15 (18 of its 72) moved to the new version.
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales f JOIN dim_customer d USING (customer_key)
		WHERE f.customer_id = 38 AND d.member_level = '金卡'`); n != 18 {
		t.Errorf("%d sales of customer 38 on the 金卡 version, want 18", n)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales f JOIN dim_customer d USING (customer_key)
		WHERE f.customer_id > 0 AND NOT (d.customer_id = f.customer_id AND f.order_ts >= d.valid_from AND f.order_ts < d.valid_to)`); n != 0 {
		t.Errorf("%d sales point at a version not in force at their time", n)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales`); n != 4320 {
		t.Errorf("fact_sales has %d rows, want 4320", n)
	}
}

// TestUpgradeV1ReExport: after the upgrade, a till export the version 1 load
// saw (regenerated: the generator writes the same bytes for the same seed)
// comes again under another name. Every line must be a duplicate — of the
// loaded line, compared by key only since version 1 kept no content hash,
// or of the earlier reject — with one ledger entry each, and nothing loaded.
func TestUpgradeV1ReExport(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.duckdb")
	copyFile(t, filepath.Join("testdata", "upgrade", "v1.duckdb"), path)
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	gen := t.TempDir()
	if _, err := fixtures.Generate(ctx, fixtures.Options{Out: gen, Customers: 200, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(gen, "pos_sales_202403.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var read, loaded, rejected, dups int64
	if err := w.DB.QueryRowContext(ctx, `SELECT rows_read, rows_loaded, rows_rejected, rows_duplicate FROM etl_file
		WHERE path LIKE '%pos_sales_202403.csv'`).Scan(&read, &loaded, &rejected, &dups); err != nil {
		t.Fatal(err)
	}
	if rejected == 0 {
		t.Fatal("the version 1 load rejected nothing in pos_sales_202403.csv: pick a file with rejects")
	}
	dir := t.TempDir()
	writeFile(t, dir, "pos_sales_202403_again.csv", string(data)+"\n", false)
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Files[0]
	if f.Read != read || f.Loaded != 0 || f.Rejected != 0 || f.Duplicates != read {
		t.Errorf("re-export: read %d loaded %d rejected %d duplicates %d, want %d 0 0 %d", f.Read, f.Loaded, f.Rejected, f.Duplicates, read, read)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE run_id = ? AND rule = 'duplicate' AND message LIKE '%rejected in run 1%'`, rep.RunID); n != rejected {
		t.Errorf("%d lines are duplicates of a version 1 reject, want %d", n, rejected)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM etl_reject WHERE run_id = ? AND rule = 'duplicate' AND message LIKE '%schema version 1%'`, rep.RunID); n != loaded {
		t.Errorf("%d lines are key-only duplicates of version 1 lines, want %d", n, loaded)
	}
}
