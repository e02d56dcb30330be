package etl

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/fixtures"
)

// TestReleaseStagedSales: staging ahead of more lines than a row group keeps the staged text of the
// candidate sales lines only (releaseStagedSales), and a load so released
// writes what the same load keeping every line's text writes — every
// ledger entry with its raw record, every fact — on a first load (lines
// repeated within it, products it does not know) and on a second one
// re-sending lines of the first, some changed (duplicates and
// corrections decided against the warehouse). Each side is checked
// against the other, not against counts the release computes.
func TestReleaseStagedSales(t *testing.T) {
	defer func(n int64) { narrowStagingBytes = n }(narrowStagingBytes)
	narrowStagingBytes = 0 // the fixture's small files narrow (and release) too
	ctx := context.Background()
	dir := t.TempDir()
	// More sales lines than a row group (122,880), where DuckDB scans and
	// joins in parallel and in several row groups.
	if _, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: 6000, Days: 365, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	second := t.TempDir()
	writeResent(t, filepath.Join(dir, "pos_sales_202401.csv"), filepath.Join(second, "pos_sales_202499.csv"))

	released, kept := openMem(t), openMem(t)
	for i, paths := range [][]string{{dir}, {second}} {
		var keep, rest, lines int64
		var log strings.Builder
		rep, err := Load(ctx, released, paths, Options{AsOf: asOf2024(), stageAhead: true,
			Log: func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) },
			stagedOn: func(ctx context.Context, conn *sql.Conn) error {
				return conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM stg_sales_keep), (SELECT count(*) FROM stg_sales_rest),
					(SELECT count(*) FROM c_sales)`).Scan(&keep, &rest, &lines)
			}})
		if err != nil {
			t.Fatalf("load %d, released: %v", i+1, err)
		}
		if strings.Contains(log.String(), "staged again") {
			t.Errorf("load %d staged its files again: %s", i+1, log.String())
		}
		// Most lines of the first load repeat no key and name a known
		// product: their text goes with staging ahead's commit; of the
		// second, the new lines'.
		if keep+rest != lines || rest == 0 || (i == 0 && (keep*5 > lines || lines <= 122880)) {
			t.Errorf("load %d: %d lines kept with their text, %d without, of %d cleaned: want every line in one of them, most without", i+1, keep, rest, lines)
		}
		full, err := Load(ctx, kept, paths, Options{AsOf: asOf2024(), stageAhead: true, keepStagedSales: true})
		if err != nil {
			t.Fatalf("load %d, kept: %v", i+1, err)
		}
		if rep.Loaded != full.Loaded || rep.Rejected != full.Rejected || rep.Duplicates != full.Duplicates || rep.Warned != full.Warned {
			t.Errorf("load %d: released %d loaded, %d rejected, %d duplicates, %d warned; kept %d, %d, %d, %d", i+1,
				rep.Loaded, rep.Rejected, rep.Duplicates, rep.Warned, full.Loaded, full.Rejected, full.Duplicates, full.Warned)
		}
	}
	// Every table the same, the ledger's raw records and the facts
	// included (the runs' and files' rows hold times).
	sameTables(t, loadedTables(t, released), loadedTables(t, kept))
	// What the check needs is there: decisions of both kinds, unknown
	// products, each with its raw record.
	var decided, unknown, noRaw int64
	if err := released.DB.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE rule IN ('duplicate', 'correction')),
		count(*) FILTER (WHERE rule = 'product_unknown'), count(*) FILTER (WHERE raw_record IS NULL AND rule <> 'duplicate')
		FROM etl_reject WHERE run_id = 2`).Scan(&decided, &unknown, &noRaw); err != nil {
		t.Fatal(err)
	}
	if decided == 0 || unknown == 0 || noRaw != 0 {
		t.Errorf("second load: %d decisions, %d unknown products, %d entries without a raw record: want some, some, none", decided, unknown, noRaw)
	}
}

// TestReleaseStagedSalesStagesAgain: where a line the load's transaction
// needs was not kept — a product code whose first row the products step
// rejects and whose repeat it skips, which staging ahead took for known —
// the load stages its files again inside its transaction and writes what
// a load keeping every line's text writes, the raw records of the
// product's lines included.
func TestReleaseStagedSalesStagesAgain(t *testing.T) {
	defer func(n int64) { narrowStagingBytes = n }(narrowStagingBytes)
	narrowStagingBytes = 0
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: 300, Days: 60, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	// P00021's row gets a negative list price, and a valid copy of it
	// follows at the end: the products step rejects the first and skips
	// the second as its duplicate, so P00021 stays unknown.
	path := filepath.Join(dir, "products.csv")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "P00021,") {
			row = l
		}
	}
	if row == "" {
		t.Fatal("no product P00021 in the fixture")
	}
	cells := strings.Split(row, ",")
	cells[len(cells)-1] = "-5.00"
	out := strings.Replace(string(b), row+"\n", strings.Join(cells, ",")+"\n", 1)
	out = strings.TrimRight(out, "\n") + "\n" + row + "\n"
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	released, kept := openMem(t), openMem(t)
	rep, err := Load(ctx, released, []string{dir}, Options{AsOf: asOf2024(), stageAhead: true,
		Log: func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) }})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "files staged again: "+errSalesReleased.Error()) {
		t.Errorf("the load did not stage its files again; its log:\n%s", log.String())
	}
	full, err := Load(ctx, kept, []string{dir}, Options{AsOf: asOf2024(), stageAhead: true, keepStagedSales: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loaded != full.Loaded || rep.Rejected != full.Rejected || rep.Warned != full.Warned {
		t.Errorf("released: %d loaded, %d rejected, %d warned; kept: %d, %d, %d", rep.Loaded, rep.Rejected, rep.Warned, full.Loaded, full.Rejected, full.Warned)
	}
	sameTables(t, loadedTables(t, released), loadedTables(t, kept))
	var unknown int64
	if err := released.DB.QueryRowContext(ctx, `SELECT count(*) FROM etl_reject WHERE rule = 'product_unknown' AND raw_value = 'P00021' AND raw_record LIKE '%P00021%'`).Scan(&unknown); err != nil {
		t.Fatal(err)
	}
	if unknown == 0 {
		t.Error("no product_unknown entry with its raw record for P00021's lines")
	}
}

// writeResent writes to out a re-export of the first 400 lines of the
// GBK export in: lines 1–150 as they were (duplicates), 151–300 with
// their product changed to one nobody knows (corrections naming an
// unknown product), 301–400 under new order ids (new lines).
func writeResent(t *testing.T, in, out string) {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(b, []byte("\n"))
	var w bytes.Buffer
	w.Write(lines[0])
	w.WriteByte('\n')
	for i := 1; i <= 400 && i < len(lines); i++ {
		// A comma never occurs inside a GBK character (its bytes are
		// 0x81–0xFE and 0x40–0xFE): the fields split on bytes.
		cells := bytes.Split(lines[i], []byte(","))
		switch {
		case i > 300:
			cells[0] = append([]byte("X"), cells[0]...)
		case i > 150:
			cells[8] = []byte("P99999")
		}
		w.Write(bytes.Join(cells, []byte(",")))
		w.WriteByte('\n')
	}
	if err := os.WriteFile(out, w.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
