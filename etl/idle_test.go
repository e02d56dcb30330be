package etl

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestSalesOnlyLoadSkipsIdleTargets: a load of only sales files runs no
// rule, repeat, dimension or fact step of the targets it has nothing of
// (products, campaigns, customers, interactions, responses), and leaves
// the warehouse exactly as the path that runs every target's steps does:
// the same reports, the same ledger (rejects, duplicates, repeats of an
// earlier run's rejects), the same etl_run counts and the same content of
// every table but the load times.
func TestSalesOnlyLoadSkipsIdleTargets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir) // products, the POS file with planted faults, web orders
	first := filepath.Join(dir, "first")
	if err := os.Mkdir(first, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"products.csv", "web_orders.ndjson"} {
		if err := os.Rename(filepath.Join(dir, p), filepath.Join(first, p)); err != nil {
			t.Fatal(err)
		}
	}
	pos := filepath.Join(dir, "pos_sales_202401.csv")
	// A second POS file: its line 2 repeats the first file's date_invalid
	// line (a repeat of an earlier run's reject), line 3 is new, line 4 is a
	// duplicate of a loaded sales line.
	pos2 := writeFile(t, dir, "pos_sales_202402.csv", "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"S2,1,ST01,北京朝阳店,张三,2023-02-30 10:00,,,P001,1,399,0,399\n"+
		"S6,1,ST03,广州店,王五,2024/2/1 09:00,M00000002,,P002,1,499,0,499\n"+
		"S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,M00000001,,P001,1,￥399.00,0,￥399.00\n", true)

	type outcome struct {
		reports []*Report
		traces  []string
		tables  map[string]string
		runs    []string
	}
	run := func(every bool) outcome {
		w := openMem(t)
		var out outcome
		for _, paths := range [][]string{{first}, {pos}, {pos2}} {
			var trace bytes.Buffer
			rep, err := Load(ctx, w, paths, Options{AsOf: asOf2024(), Trace: &trace, everyTarget: every})
			if err != nil && !errors.Is(err, ErrNothingToLoad) {
				t.Fatal(err)
			}
			rep.Elapsed = 0
			out.reports = append(out.reports, rep)
			out.traces = append(out.traces, trace.String())
		}
		out.tables = tableChecksums(t, w)
		// The load times differ from run to run.
		delete(out.tables, "etl_run")
		delete(out.tables, "etl_file")
		delete(out.tables, "schema_version")
		delete(out.tables, "etl_watermark")
		out.tables["etl_watermark but updated_at"] = queryString(t, w, `SELECT count(*) || ':' || sum(hash(source, watermark, run_id)) FROM etl_watermark`)
		out.tables["etl_file but loaded_at"] = queryString(t, w, `SELECT count(*) || ':' || sum(hash(file_id, run_id, source, path, size,
			sha256, format, encoding, rows_read, rows_loaded, rows_rejected, rows_duplicate)) FROM etl_file`)
		out.runs = runSummaries(t, w)
		return out
	}
	skip, every := run(false), run(true)

	count := func(trace, what string) int {
		n := 0
		for _, line := range strings.Split(trace, "\n") {
			if strings.Contains(line, what) {
				n++
			}
		}
		return n
	}
	// The first load has products and web orders: every target's checks
	// of repeated rejects run on both paths for products and sales; the
	// sales-only loads run them for sales alone, the full path for all six.
	for i, want := range []struct{ skip, every int }{{2, 6}, {1, 6}, {1, 6}} {
		if got := count(skip.traces[i], "TEMP TABLE ld_rep AS"); got != want.skip {
			t.Errorf("load %d: %d checks of repeated rejects, want %d (one per target with something to load)", i+1, got, want.skip)
		}
		if got := count(every.traces[i], "TEMP TABLE ld_rep AS"); got != want.every {
			t.Errorf("load %d on the full path: %d checks of repeated rejects, want %d", i+1, got, want.every)
		}
	}
	for i := 1; i < 3; i++ {
		for _, step := range []string{"UPDATE dim_product", "UPDATE dim_campaign", "INSERT INTO fact_interaction", "INSERT INTO fact_campaign", "TEMP TABLE ld_rep"} {
			if n := count(every.traces[i], step); n == 0 {
				t.Errorf("load %d on the full path: no %q", i+1, step)
			}
		}
		for _, step := range []string{"UPDATE dim_product", "UPDATE dim_campaign", "INSERT INTO fact_interaction", "INSERT INTO fact_campaign"} {
			if n := count(skip.traces[i], step); n != 0 {
				t.Errorf("sales-only load %d runs %q %d times, want none", i+1, step, n)
			}
		}
		if s, e := count(skip.traces[i], `"`), count(every.traces[i], `"`); s >= e-20 {
			t.Errorf("sales-only load %d: %d statements, the full path %d: want at least 20 fewer", i+1, s, e)
		}
	}
	for i := range skip.reports {
		a, b := *skip.reports[i], *every.reports[i]
		if !reportsEqual(a, b) {
			t.Errorf("load %d: report %+v, the full path's %+v", i+1, a, b)
		}
	}
	// Hand-checked outcome (run, status, files seen/loaded/skipped, rows
	// read/staged/cleaned/loaded/rejected/duplicate/warned): run 1 the
	// products (2) and web orders (3 read, 1 loaded, 2 rejected); run 2 the
	// POS file as in TestLoadSmallSet; run 3 reads 3 lines, loads S6, and
	// its other two are duplicates (a repeat of run 2's reject, a line
	// loaded in run 2).
	if got := strings.Join(skip.runs, "; "); got != "1 committed 2 2 0 5 4 5 3 2 0 0; 2 committed 1 1 0 7 6 6 4 2 1 1; 3 committed 1 1 0 3 3 1 1 0 2 0" {
		t.Errorf("etl_run: %s", got)
	}
	if strings.Join(skip.runs, "; ") != strings.Join(every.runs, "; ") {
		t.Errorf("etl_run %v, the full path's %v", skip.runs, every.runs)
	}
	sameTables(t, skip.tables, every.tables)
}

func reportsEqual(a, b Report) bool {
	if a.RunID != b.RunID || a.Read != b.Read || a.Loaded != b.Loaded || a.Rejected != b.Rejected ||
		a.Duplicates != b.Duplicates || a.Warned != b.Warned || a.Customers != b.Customers || len(a.Files) != len(b.Files) {
		return false
	}
	for i := range a.Files {
		if a.Files[i] != b.Files[i] {
			return false
		}
	}
	return true
}

// runSummaries are the etl_run rows but their times, one line each, by run.
func runSummaries(t *testing.T, w *engine.Warehouse) []string {
	t.Helper()
	return queryLines(t, w, `SELECT concat_ws(' ', run_id, status, files_seen, files_loaded, files_skipped, rows_read, rows_staged, rows_cleaned,
		rows_loaded, rows_rejected, rows_duplicate, rows_warned, message) FROM etl_run ORDER BY run_id`)
}

// sameTables reports every table whose checksum differs from the full
// path's (every), and a different number of tables.
func sameTables(t *testing.T, got, every map[string]string) {
	t.Helper()
	for name, sum := range every {
		if got[name] != sum {
			t.Errorf("table %s: %s, the full path's %s", name, got[name], sum)
		}
	}
	if len(got) != len(every) {
		t.Errorf("%d tables, the full path %d", len(got), len(every))
	}
}
