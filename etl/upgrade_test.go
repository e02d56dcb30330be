package etl

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
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
	for table, want := range map[string]int64{"dim_customer": 203, "fact_sales": 4320, "etl_reject": 94, "fact_interaction": 175, "fact_campaign": 159} {
		if n := queryInt(t, w, `SELECT count(*) FROM `+table); n != want {
			t.Errorf("%s has %d rows after the upgrade, want %d", table, n, want)
		}
	}
	if err := engine.CheckCustomerHistory(ctx, w.DB); err != nil {
		t.Fatalf("the old history: %v", err)
	}
	// Version 3 added effective_from; the old versions have none (read as valid_from).
	if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE effective_from IS NULL`); n != 203 {
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
