package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestV22DropsPrimaryKeysKeepingRows upgrades a warehouse of schema
// version 21, with more than a row group of rows in every table v22
// rebuilds, to 22 (made by the migrations: the template is of 22): every
// row is kept (each table's rows hashed apart from ckm, before and after), no
// primary key is left on the five tables, their key columns stay NOT
// NULL, the analyst's dim_customer still shows its masks, and a key held
// twice is now the check's to find (DuplicateKeys).
func TestV22DropsPrimaryKeysKeepingRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	all := Migrations
	Migrations = all[:len(all)-1]
	if Migrations[len(Migrations)-1].Version != 21 || all[len(all)-1].Version != 22 {
		Migrations = all
		t.Fatalf("the migrations end at %d, want 22 after 21", all[len(all)-1].Version)
	}
	w, err := Open(ctx, path, Options{})
	Migrations = all
	if err != nil {
		t.Fatal(err)
	}
	tables := []string{"dim_customer", "etl_identity", "vault_customer_key", "vault_display", "vault_value"}
	// More than a row group (122,880 rows): the rebuild's INSERT …
	// SELECT is where DuckDB's batch insert lost rows (warehouse.go).
	const nRows = 130_000
	for _, q := range []string{
		`INSERT INTO dim_customer (customer_key, customer_id, id_number, name, mobile, email, valid_from, valid_to, is_current, etl_run_id, marketing_consent)
			SELECT 100 + i, i, 'tid' || i, 'tname' || i, 'tmob' || i, NULL, TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true, 1, i % 2 = 0 FROM range(1, $1) r(i)`,
		`INSERT INTO etl_identity SELECT 'mobile', 'tmob' || i, i, 1 FROM range(1, $1) r(i)`,
		`INSERT INTO vault_customer_key SELECT i, encode('k' || i), 1 FROM range(1, $1) r(i)`,
		`INSERT INTO vault_value SELECT 'tmob' || i, i, 'mobile', encode('s' || i), 1 FROM range(1, $1) r(i)`,
		`INSERT INTO vault_display SELECT 'tmob' || i, 'mobile', '138****' || i FROM range(1, $1) r(i)`,
	} {
		if _, err := w.DB.ExecContext(ctx, q, nRows+1); err != nil {
			t.Fatal(err)
		}
	}
	hashes := func(w *Warehouse) map[string]string {
		out := map[string]string{}
		for _, tbl := range tables {
			out[tbl] = rowsHash(t, w, tbl)
		}
		return out
	}
	before := hashes(w)
	for _, tbl := range tables {
		var n int
		if err := w.DB.QueryRow(`SELECT count(*) FROM ` + tbl).Scan(&n); err != nil || n < nRows {
			t.Fatalf("%s has %d rows (%v), want %d or more", tbl, n, err, nRows)
		}
	}
	view := func(w *Warehouse) string {
		var mobile string
		if err := w.DB.QueryRowContext(ctx, `SELECT mobile FROM analyst.dim_customer WHERE customer_id = 7`).Scan(&mobile); err != nil {
			t.Fatal(err)
		}
		return mobile
	}
	if m := view(w); m != "138****7" {
		t.Fatalf("analyst's mobile %q at v21, want the display 138****7", m)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if v, err := w.Version(ctx); err != nil || v != 22 {
		t.Fatalf("version %d (%v), want 22", v, err)
	}
	after := hashes(w)
	for _, tbl := range tables {
		if after[tbl] != before[tbl] {
			t.Errorf("%s: rows changed by the upgrade (%s, before %s)", tbl, after[tbl], before[tbl])
		}
	}
	if m := view(w); m != "138****7" {
		t.Errorf("analyst's mobile %q after the upgrade, want 138****7", m)
	}
	rows, err := w.DB.QueryContext(ctx, `SELECT table_name, constraint_type, array_to_string(constraint_column_names, ',')
		FROM duckdb_constraints() WHERE table_name IN ('`+strings.Join(tables, "','")+`') AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'NOT NULL')`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var tbl, kind, cols string
		if err := rows.Scan(&tbl, &kind, &cols); err != nil {
			t.Fatal(err)
		}
		got = append(got, tbl+" "+kind+" "+cols)
	}
	rows.Close()
	sort.Strings(got)
	want := []string{
		"dim_customer NOT NULL customer_key",
		"etl_identity NOT NULL key_type", "etl_identity NOT NULL key_value",
		"vault_customer_key NOT NULL customer_id", "vault_customer_key NOT NULL wrapped_key",
		"vault_display NOT NULL kind", "vault_display NOT NULL token",
		"vault_value NOT NULL customer_id", "vault_value NOT NULL kind", "vault_value NOT NULL sealed", "vault_value NOT NULL token",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("constraints after v22:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A key twice: the table takes it, the check finds it.
	if bad, err := DuplicateKeys(ctx, w.DB, 0); err != nil || len(bad) != 0 {
		t.Fatalf("duplicate keys after the upgrade: %q %v", bad, err)
	}
	// x1 twice by run 2, tmob5 again by run 3 (run 1 has it).
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO etl_identity VALUES ('mobile', 'x1', 9, 2), ('mobile', 'x1', 9, 2), ('mobile', 'tmob5', 5, 3)`); err != nil {
		t.Fatal(err)
	}
	for run, want := range map[int64]string{0: "2", 1: "1", 2: "1", 3: "1", 4: ""} {
		bad, err := DuplicateKeys(ctx, w.DB, run)
		if err != nil {
			t.Fatal(err)
		}
		wantBad := []string{}
		if want != "" {
			wantBad = append(wantBad, "etl_identity: "+want+" keys (key_type, key_value) held twice or more")
		}
		if fmt.Sprint(bad) != fmt.Sprint(wantBad) {
			t.Errorf("run %d's duplicate keys: %q, want %q", run, bad, wantBad)
		}
	}
	err = CheckKeysHeldOnce(ctx, w.DB, 0)
	if err == nil || err.Error() != "keys held twice: etl_identity: 2 keys (key_type, key_value) held twice or more" {
		t.Errorf("CheckKeysHeldOnce: %v, want etl_identity's 2 keys named", err)
	}
	if err := CheckKeysHeldOnce(ctx, w.DB, 4); err != nil {
		t.Errorf("CheckKeysHeldOnce of run 4: %v, want nil", err)
	}
}

// rowsHash is the row count of from (a table or a parenthesised query)
// and the sum of its rows' hashes, each row as JSON (its columns by name):
// equal for the same rows in any order.
func rowsHash(t *testing.T, w *Warehouse, from string) string {
	t.Helper()
	return queryLines(t, w, `SELECT count(*) || ' rows, hash ' ||
		CAST(coalesce(sum(CAST(hash(CAST(to_json(t) AS VARCHAR)) AS HUGEINT)), 0) AS VARCHAR) FROM `+from+` t`)[0]
}
