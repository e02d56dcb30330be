package export

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
)

// TestLakeAppendedPartitions: an incremental export keeps the files of a
// partition that only gained appended rows and adds one file of those
// rows (fact_sales_current links fact_sales's); a partition whose rows
// were also updated or deleted, whose appended rows the view does not
// keep, or whose rows the warehouse lost after the export (a backup
// restored, other rows appended since) is rewritten whole; a partition
// with lakeAppendFiles files is rewritten into one. fact_sales_current's
// fingerprints of such a month come from its rows as exported plus the
// appended rows its filter keeps (filterFingerprints): the reversal step
// fails if the filter is left out. After each step the incremental lake
// equals a full export.
func TestLakeAppendedPartitions(t *testing.T) {
	ctx := context.Background()
	w, dir := smallLake(t)
	exec := func(q string) {
		t.Helper()
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// partFiles are a table's data files of one partition in the current
	// snapshot.
	partFiles := func(name, part string) []string {
		t.Helper()
		return lakePartFiles(t, dir, name)[part]
	}
	// step exports, checks what fact_sales and fact_sales_current
	// appended to (the other rewritten partitions are rewritten whole:
	// their old files are gone) and that the lake equals a full export.
	step := func(what, part string, sales, current bool) {
		t.Helper()
		old := [2][]string{partFiles("fact_sales", part), partFiles("fact_sales_current", part)}
		res, err := Lake(ctx, w, LakeOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		now := [2][]string{partFiles("fact_sales", part), partFiles("fact_sales_current", part)}
		for i, name := range []string{"fact_sales", "fact_sales_current"} {
			want := []bool{sales, current}[i]
			var tr *LakeTableResult
			for j := range res.Tables {
				if res.Tables[j].Name == name {
					tr = &res.Tables[j]
				}
			}
			if !slices.Contains(tr.Partitions, part) {
				t.Errorf("%s: %s did not rewrite %s (%v)", what, name, part, tr.Partitions)
			}
			if got := slices.Contains(tr.Appended, part); got != want {
				t.Errorf("%s: %s appended to %s: %v, want %v (appended %v)", what, name, part, got, want, tr.Appended)
			}
			kept := 0
			for _, f := range old[i] {
				if slices.Contains(now[i], f) {
					kept++
				}
			}
			if want && (kept != len(old[i]) || len(now[i]) != len(old[i])+1) {
				t.Errorf("%s: %s %s: %d files before, %d kept, %d now; want every one kept and one more", what, name, part, len(old[i]), kept, len(now[i]))
			}
			if !want && kept != 0 {
				t.Errorf("%s: %s %s rewritten whole but kept %d of its files", what, name, part, kept)
			}
		}
		if sales && current {
			// The view's new file is fact_sales's, linked.
			added := func(i int) os.FileInfo {
				for _, f := range now[i] {
					if !slices.Contains(old[i], f) {
						st, err := os.Stat(f)
						if err != nil {
							t.Fatal(err)
						}
						return st
					}
				}
				t.Fatalf("%s: no new file", what)
				return nil
			}
			if !os.SameFile(added(0), added(1)) {
				t.Errorf("%s: fact_sales_current's appended file is not fact_sales's", what)
			}
		}
		sameAsFull(t, w, dir, what)
	}

	addDay(t, w, 8, "20240120")
	step("a day appended to a month the lake holds", "2024-1", true, true)
	addDay(t, w, 9, "20240121")
	exec(`UPDATE fact_sales SET amount = 2899.00 WHERE order_id = 'O1' AND line_no = 2`)
	step("an appended day and a restatement in the month", "2024-1", false, false)
	addDay(t, w, 10, "20240122")
	exec(`DELETE FROM fact_sales WHERE order_id = 'R9'`)
	step("an appended day and a line deleted in the month", "2024-1", false, false)
	addDay(t, w, 11, "20240123")
	exec(`INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, is_reversal, etl_run_id)
		VALUES ('R11', 2, 20240123, 1, 1001, 1, 1, -1, 199.00, -199.00, false, true, 11)`)
	step("an appended day with a reversal line (not a current line)", "2024-1", true, false)

	// A backup from before the last export restored (its appended rows
	// gone) and another day appended: the lake's rows of the month are
	// not the warehouse's, whatever the new rows are.
	addDay(t, w, 12, "20240124")
	step("another day", "2024-1", true, true)
	exec(`DELETE FROM fact_sales WHERE order_id = 'R12'; DELETE FROM etl_run WHERE run_id = 12`)
	checkpoint(t, w)
	addDay(t, w, 12, "20240125")
	addDay(t, w, 13, "20240126")
	step("a restored backup, then two days", "2024-1", false, false)

	// Appends up to lakeAppendFiles files, then one file again.
	for i := 0; ; i++ {
		n := len(partFiles("fact_sales", "2024-1"))
		addDay(t, w, 20+i, fmt.Sprintf("202401%02d", 1+i))
		if n >= lakeAppendFiles {
			step("a day appended to a month of many files", "2024-1", false, false)
			if n := len(partFiles("fact_sales", "2024-1")); n != 1 {
				t.Errorf("a month of many files rewritten into %d files, want 1", n)
			}
			break
		}
		step(fmt.Sprintf("day %d appended", i+1), "2024-1", true, true)
	}
}
