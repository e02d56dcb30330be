package export

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// duckRowGroup is DuckDB's row group size (rows); its vector size is 2,048.
const duckRowGroup = 122880

// appendSales appends n sales lines of one month (yyyymm, days 1..28) as
// run: order ids prefix0.., varied quantities, amounts, customers,
// products and channels, so a row lost, doubled or changed shows in sums
// and in a multiset difference.
func appendSales(t *testing.T, w *engine.Warehouse, run int, prefix string, month, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO etl_run (run_id, started_at, finished_at, status, rows_read, rows_loaded)
		VALUES (?, TIMESTAMP '2025-03-01', TIMESTAMP '2025-03-01', 'committed', ?, ?)`, run, n, n); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, etl_run_id)
		SELECT ? || i, 1 + i % 3, ? * 100 + 1 + i % 28, CAST(1 + i % 2 AS INTEGER), 1001 + i % 2, CAST(1 + i % 2 AS INTEGER), CAST(1 + i % 3 AS INTEGER),
			CAST(1 + i % 7 AS INTEGER), CAST(10 + i % 97 AS DECIMAL(18, 2)), CAST((1 + i % 7) * (10 + i % 97) AS DECIMAL(18, 2)), false, ?
		FROM range(0, ?) t(i)`, prefix, month, run, n); err != nil {
		t.Fatal(err)
	}
}

// rowGroups is a table's DuckDB row groups, as the export sees them.
func rowGroups(t *testing.T, w *engine.Warehouse, name string) []storageGroup {
	t.Helper()
	ctx := context.Background()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	g, err := storageGroups(ctx, conn, name)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// appendedLayout describes where rows [from, to) of a table lie among its
// row groups: whether the first shares its row group with older rows
// (mid), and how many row groups end inside the range (crossed).
func appendedLayout(t *testing.T, w *engine.Warehouse, name string, from, to int64) (mid bool, crossed int, layout string) {
	t.Helper()
	var gs []string
	for _, g := range rowGroups(t, w, name) {
		gs = append(gs, fmt.Sprintf("%d+%d", g.start, g.rows))
		if g.start < from && from < g.start+g.rows {
			mid = true
		}
		if end := g.start + g.rows; from < end && end < to {
			crossed++
		}
	}
	return mid, crossed, strings.Join(gs, " ")
}

// sameLakeRows checks, with DuckDB over the Parquet files alone (not the
// export's fingerprints), that a table's current files in lake inc hold
// the same rows as those in lake full: every row by its line (order_id,
// line_no) — lines matched by a full join with no row's hash differing,
// and as many join rows as rows on each side, is the same multiset of rows
// (no line twice on either side; EXCEPT ALL both ways, or the rows
// compared as structs, say the same at three to five times the cost) — and
// the same count and sums of plain columns as the warehouse's table.
func sameLakeRows(t *testing.T, w *engine.Warehouse, what, name, inc, full string) {
	t.Helper()
	ctx := context.Background()
	si, err := OpenLakeSnapshot(ctx, inc)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := OpenLakeSnapshot(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	cols := plainColumns(si.Tables[name])
	if got := plainColumns(sf.Tables[name]); !slices.Equal(cols, got) {
		t.Fatalf("%s: %s columns %v, full export %v", what, name, cols, got)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = engine.QuoteIdent(c)
	}
	list := strings.Join(quoted, ", ")
	rels := map[string]string{"incremental lake": overFiles(t, si.Tables[name]), "full lake": overFiles(t, sf.Tables[name]), "warehouse": "main." + engine.QuoteIdent(name)}
	sums := map[string]string{}
	for src, rel := range rels {
		var s string
		if err := w.DB.QueryRowContext(ctx, `SELECT concat_ws(' ', count(*), sum(amount), sum(quantity), count(DISTINCT order_id), sum(date_key), sum(etl_run_id)) FROM `+rel).Scan(&s); err != nil {
			t.Fatal(err)
		}
		sums[src] = s
	}
	if sums["incremental lake"] != sums["warehouse"] || sums["full lake"] != sums["warehouse"] {
		t.Errorf("%s: %s rows, amount, quantity, orders, date keys, runs: %v", what, name, sums)
	}
	var joined, differ, n1, n2 int64
	q := `WITH a AS (SELECT order_id, line_no, hash(` + list + `) AS r FROM ` + rels["incremental lake"] + `),
		b AS (SELECT order_id, line_no, hash(` + list + `) AS r FROM ` + rels["full lake"] + `)
		SELECT count(*), count(*) FILTER (a.r IS DISTINCT FROM b.r), (SELECT count(*) FROM a), (SELECT count(*) FROM b)
		FROM a FULL JOIN b ON a.order_id = b.order_id AND a.line_no = b.line_no`
	if err := w.DB.QueryRowContext(ctx, q).Scan(&joined, &differ, &n1, &n2); err != nil {
		t.Fatal(err)
	}
	if differ != 0 || joined != n1 || joined != n2 {
		t.Errorf("%s: %s: incremental lake %d rows, full %d: %d lines joined, %d differ", what, name, n1, n2, joined, differ)
	}
}

// TestLakeAppendedPartitionsAtScale: lakeAppend at DuckDB's sizes (row
// groups of 122,880 rows, vectors of 2,048). March 2024 of fact_sales
// gains lines that start inside the row group of its last kept lines, at
// no vector boundary, and cross that row group's end (it then holds more
// than a row group); then lines after its kept lines, which a row group
// boundary splits, with January gaining lines after a checkpoint (a row
// group of their own) in the same export; last, more than a row group of
// lines at once. Each time the month keeps its files and gets one more
// (fact_sales and fact_sales_current), every partition not rewritten
// keeps its files, and the lake equals a full export — over the Parquet
// files with DuckDB, line by line, and in counts and sums against the
// warehouse (sameLakeRows), not with the export's fingerprints. Lines
// appended with an old line of the month updated (March) or deleted
// (January) do not take the append path, nor do lines appended after a
// checkpoint that vacuumed a deleted line and so moved every later row's
// rowid: the month is rewritten whole and still equals a full export.
// Where the rows lie is checked, not assumed: DuckDB 1.5.6 appends to the
// last row group while it is not checkpointed, starts a new one after a
// checkpoint, writes a bulk append of a row group or more as row groups
// of its own, and at a checkpoint may merge small row groups, leaving
// their deleted rows out; the test holds automatic checkpoints off, so a
// large insert does not checkpoint.
func TestLakeAppendedPartitionsAtScale(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	if _, err := w.DB.ExecContext(ctx, `SET checkpoint_threshold = '1GB'`); err != nil {
		t.Fatal(err)
	}
	tables := []string{"fact_sales", "fact_sales_current"}
	dir := filepath.Join(t.TempDir(), "lake")
	full := filepath.Join(t.TempDir(), "full")
	count := func(q string) (n int64) {
		t.Helper()
		if err := w.DB.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// 5 lines of the small warehouse, 4,875 over 2023, 113,000 of March
	// 2024: 117,880 rows (57 vectors and 1,144 rows), one row group.
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, etl_run_id)
		SELECT 'Y' || i, 1, CAST(strftime(DATE '2023-01-01' + CAST(i * 365 // 4875 AS INTEGER), '%Y%m%d') AS INTEGER),
			1, 1001, 1, 1, 1, 10.00, 10.00, false, 7
		FROM range(0, 4875) t(i)`); err != nil {
		t.Fatal(err)
	}
	appendSales(t, w, 8, "M", 202403, 113000)
	if g := rowGroups(t, w, "fact_sales"); len(g) != 1 || g[0].rows != 117880 || g[0].storage != "" {
		t.Fatalf("row groups %+v to start with, want one of 117,880 rows, not checkpointed", g)
	}
	start := time.Now()
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: tables}); err != nil {
		t.Fatal(err)
	}
	t.Logf("first export %v", time.Since(start).Round(time.Millisecond))

	// step exports incrementally and checks which partitions were
	// rewritten and which of those appended to, that every other
	// partition kept its files, and that the lake equals a full export.
	step := func(what string, rewritten, appended []string) {
		t.Helper()
		var old [2]map[string][]string
		for i, name := range tables {
			old[i] = lakePartFiles(t, dir, name)
		}
		start := time.Now()
		res, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: tables})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: incremental export %v", what, time.Since(start).Round(time.Millisecond))
		for i, name := range tables {
			var tr LakeTableResult
			for _, r := range res.Tables {
				if r.Name == name {
					tr = r
				}
			}
			if !slices.Equal(tr.Partitions, rewritten) || !slices.Equal(tr.Appended, appended) {
				t.Errorf("%s: %s rewrote %v, appended to %v; want %v, %v", what, name, tr.Partitions, tr.Appended, rewritten, appended)
			}
			now := lakePartFiles(t, dir, name)
			for k, files := range old[i] {
				switch {
				case slices.Contains(appended, k):
					kept := 0
					for _, f := range files {
						if slices.Contains(now[k], f) {
							kept++
						}
					}
					if kept != len(files) || len(now[k]) != len(files)+1 {
						t.Errorf("%s: %s %s: %d files before, %d kept, %d now; want every one kept and one more", what, name, k, len(files), kept, len(now[k]))
					}
				case slices.Contains(rewritten, k):
					for _, f := range files {
						if slices.Contains(now[k], f) {
							t.Errorf("%s: %s %s rewritten whole but kept %s", what, name, k, f)
						}
					}
				default:
					if !slices.Equal(files, now[k]) {
						t.Errorf("%s: %s %s untouched, but its files %v became %v", what, name, k, files, now[k])
					}
				}
			}
		}
		start = time.Now()
		if _, err := Lake(ctx, w, LakeOptions{Dir: full, Tables: tables, Full: true}); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: full export %v", what, time.Since(start).Round(time.Millisecond))
		start = time.Now()
		for _, name := range tables {
			sameLakeRows(t, w, what, name, dir, full)
		}
		t.Logf("%s: compared %v", what, time.Since(start).Round(time.Millisecond))
	}
	// stored is the rows fact_sales stores, deleted ones too: the next
	// rowid.
	stored := func() (n int64) {
		for _, g := range rowGroups(t, w, "fact_sales") {
			n = g.start + g.rows
		}
		return n
	}
	// appendRows appends lines as appendSales does and checks where they
	// lie: starting in a row group of older rows or not (mid), and across
	// how many row groups' ends.
	appendRows := func(run int, prefix string, month, n int, mid bool, crossed int) {
		t.Helper()
		from := stored()
		appendSales(t, w, run, prefix, month, n)
		if m, c, layout := appendedLayout(t, w, "fact_sales", from, from+int64(n)); m != mid || c != crossed {
			t.Fatalf("%d lines appended from rowid %d: after older rows in their row group %v, across %d row group ends; want %v, %d (row groups %s)", n, from, m, c, mid, crossed, layout)
		}
	}

	// 10,000 lines from rowid 117,880, in the first row group, across its
	// end: March now holds 123,000 lines, a row group boundary in them.
	appendRows(9, "N", 202403, 10000, true, 1)
	step("lines across the end of their row group", []string{"2024-3"}, []string{"2024-3"})
	if n := count(`SELECT count(*) FROM fact_sales WHERE date_key BETWEEN 20240301 AND 20240331`); n <= duckRowGroup {
		t.Fatalf("March 2024 holds %d lines, want more than a row group", n)
	}

	// 3,000 more lines to March, after its kept lines in the second row
	// group; after a checkpoint, 500 to January in a row group of their
	// own.
	appendRows(10, "P", 202403, 3000, true, 0)
	checkpoint(t, w)
	appendRows(11, "J", 202401, 500, false, 0)
	step("lines after kept ones a row group boundary splits, and lines after a checkpoint to another month", []string{"2024-1", "2024-3"}, []string{"2024-1", "2024-3"})

	// Not an append: lines appended to March and an old line of it
	// updated (in the first row group); lines appended to January and an
	// old line of it deleted (a checkpointed one).
	checkpoint(t, w)
	appendRows(12, "Q", 202403, 2000, false, 0)
	appendRows(13, "K", 202401, 300, true, 0)
	if _, err := w.DB.ExecContext(ctx, `UPDATE fact_sales SET amount = amount + 1 WHERE order_id = 'M100';
		DELETE FROM fact_sales WHERE order_id = 'J100'`); err != nil {
		t.Fatal(err)
	}
	step("lines appended, an old line updated or deleted", []string{"2024-1", "2024-3"}, nil)

	// A checkpoint merges the small row groups and drops the deleted
	// line from them: every row after it moves down one rowid, so the
	// rows from the end the lake's kept state recorded are not the rows
	// appended since (one of them falls before it) and March, which gains
	// 1,000 lines, is rewritten whole.
	was := stored()
	checkpoint(t, w)
	if n := stored(); n != was-1 {
		t.Fatalf("%d rows stored after the checkpoint, %d before; want the deleted line vacuumed (row groups %s)", n, was, func() string { _, _, l := appendedLayout(t, w, "fact_sales", 0, 0); return l }())
	}
	appendRows(14, "S", 202403, 1000, false, 0)
	step("lines appended after a checkpoint moved rowids", []string{"2024-3"}, nil)

	// 125,000 lines to March at once, more than a row group: DuckDB's bulk
	// append writes them as row groups of their own.
	appendRows(15, "L", 202403, 125000, false, 1)
	step("more than a row group of lines at once", []string{"2024-3"}, []string{"2024-3"})
}
