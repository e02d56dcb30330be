package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestWriteFloorWritesWhatTheLoadWrote: the write floor of ckm bench etl
// writes exactly the rows the 10-line load leaves. A 10-line load into a
// copy of an initialised warehouse, its rows taken against the original
// (writeFloorRows) and written by 'ckm bench-raw-write' into another copy
// of it: every table of that copy equals the loaded warehouse's, compared
// both ways with EXCEPT ALL by a DuckDB of this test's own — the load's
// sales lines, customers, identity, ledger and rollups, and the rollup
// state the load changed (written over its keys).
func TestWriteFloorWritesWhatTheLoadWrote(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(keyDirEnv, filepath.Join(dir, "keys"))
	small := filepath.Join(dir, "small")
	if _, err := writePlainOrders(small, 10, false); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(small, "products.csv"))
	base, loaded, written := filepath.Join(dir, "base.duckdb"), filepath.Join(dir, "loaded.duckdb"), filepath.Join(dir, "written.duckdb")
	if _, errOut, code := runCkm(t, "", "--warehouse", base, "init"); code != 0 {
		t.Fatalf("init: %s", errOut)
	}
	for _, wh := range []string{loaded, written} {
		if err := copyWarehouse(base, wh); err != nil {
			t.Fatal(err)
		}
	}
	if _, errOut, code := runCkm(t, "", "--warehouse", loaded, "--config", filepath.Join(small, "ckm.yaml"), "load",
		filepath.Join(small, "orders_plain.csv"), "--as-of", "2024-12-31"); code != 0 && code != exitRejected {
		t.Fatalf("load: %s", errOut)
	}
	ctx := context.Background()
	rows := filepath.Join(dir, "rows")
	counts, err := writeFloorRows(ctx, loaded, base, rows)
	if err != nil {
		t.Fatal(err)
	}
	if counts["fact_sales"] != 10 || counts["olap_rollup_state"] == 0 || counts["etl_run"] != 1 {
		t.Fatalf("rows of the load %v: want its 10 sales lines, its run and the rollup state it changed", counts)
	}
	out, errOut, code := runCkm(t, "", "--warehouse", written, "bench-raw-write", rows)
	if code != 0 {
		t.Fatalf("bench-raw-write: %s", errOut)
	}
	var wrote map[string]int64
	if err := json.Unmarshal([]byte(out), &wrote); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(wrote) != len(counts) {
		t.Errorf("wrote %v, want %v", wrote, counts)
	}
	for tbl, n := range counts {
		if wrote[tbl] != n {
			t.Errorf("%s: wrote %d rows, want %d", tbl, wrote[tbl], n)
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for alias, path := range map[string]string{"ld": loaded, "wr": written} {
		if _, err := db.Exec("ATTACH " + engine.QuoteString(path) + " AS " + alias + " (READ_ONLY)"); err != nil {
			t.Fatal(err)
		}
	}
	tables, err := stringsOf(ctx, db, `SELECT table_name FROM duckdb_tables() WHERE database_name = 'ld' AND schema_name = 'main' ORDER BY 1`)
	if err != nil || len(tables) < 20 {
		t.Fatalf("tables %v: %v", tables, err)
	}
	for _, tbl := range tables {
		q := engine.QuoteIdent(tbl)
		var extra, missing int64
		if err := db.QueryRow(`SELECT (SELECT count(*) FROM (FROM wr.main.`+q+` EXCEPT ALL FROM ld.main.`+q+`)),
			(SELECT count(*) FROM (FROM ld.main.`+q+` EXCEPT ALL FROM wr.main.`+q+`))`).Scan(&extra, &missing); err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		if extra != 0 || missing != 0 {
			t.Errorf("%s: %d rows the load did not leave, %d it left missing", tbl, extra, missing)
		}
	}
}
