package etl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// memberTill is a till line of a member (card and mobile), one unit at 10.
func memberTill(order, card, mobile string) string {
	return fmt.Sprintf("%s,1,ST01,北京朝阳店,张三,2024/1/5 14:22,%s,%s,P001,1,10.00,0,\n", order, card, mobile)
}

// TestPostconditionKeysHeldOnce: the identity and vault tables and
// dim_customer hold each key once, with no primary key since schema
// version 22; the load's post-check counts the keys held twice of which a
// row is the run's. A second load of a new member writes a row of every
// such table; a copy of one of them, made before the post-conditions,
// fails the load naming the table, and leaves the warehouse as it was.
// A copy of a row of the first load is none of the run's: the load
// commits, and the whole-table check (DuplicateKeys with run 0, as
// protecting a warehouse runs it) finds it.
func TestPostconditionKeysHeldOnce(t *testing.T) {
	ctx := context.Background()
	// The run's rows of each table (run $1): vault_display keeps no run,
	// its rows are those of the tokens the run sealed.
	rowsOf := map[string]string{
		"etl_identity":       "first_run = $1",
		"vault_customer_key": "run_id = $1",
		"vault_value":        "run_id = $1",
		"vault_display":      "token IN (SELECT token FROM vault_value WHERE run_id = $1)",
		"dim_customer":       "etl_run_id = $1",
	}
	if len(rowsOf) != len(engine.UniqueKeys) {
		t.Fatalf("%d tables here, %d unique keys in engine", len(rowsOf), len(engine.UniqueKeys))
	}
	for _, k := range engine.UniqueKeys {
		for _, run := range []int{2, 1} {
			t.Run(fmt.Sprintf("%s/run%d", k.Table, run), func(t *testing.T) {
				w, v := ProtectedWarehouse(t, "")
				first := t.TempDir()
				writeFile(t, first, "pos_sales_1.csv", tillHeader+memberTill("S1", "M0001", "13800000001"), false)
				if _, err := Load(ctx, w, []string{first}, Options{AsOf: asOf2024(), Vault: v}); err != nil {
					t.Fatal(err)
				}
				second := t.TempDir()
				writeFile(t, second, "pos_sales_2.csv", tillHeader+memberTill("S2", "M0002", "13900000002"), false)
				where := strings.ReplaceAll(rowsOf[k.Table], "$1", fmt.Sprint(run))
				if n := queryInt(t, w, "SELECT count(*) FROM "+k.Table+" WHERE "+strings.ReplaceAll(rowsOf[k.Table], "$1", "1")); n == 0 {
					t.Fatalf("run 1 wrote no row of %s", k.Table)
				}
				tamperSQL := "INSERT INTO " + k.Table + " SELECT * FROM " + k.Table + " WHERE " + where + " LIMIT 1"
				if run == 2 {
					tamperedLoadFailsWith(t, w, []string{second}, Options{AsOf: asOf2024(), Vault: v},
						k.Table+": 1 keys ("+k.Columns+") held twice or more", tamperSQL)
					// Untampered, the load commits, with rows of the table.
					if _, err := Load(ctx, w, []string{second}, Options{AsOf: asOf2024(), Vault: v}); err != nil {
						t.Fatal(err)
					}
					if n := queryInt(t, w, "SELECT count(*) FROM "+k.Table+" WHERE "+where); n == 0 {
						t.Fatalf("run 2 wrote no row of %s", k.Table)
					}
					return
				}
				tamper := func(ctx context.Context, tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, tamperSQL)
					return err
				}
				if _, err := Load(ctx, w, []string{second}, Options{AsOf: asOf2024(), Vault: v, tamper: tamper}); err != nil {
					t.Fatalf("load: %v, want it committed (the key held twice is run 1's)", err)
				}
				bad, err := engine.DuplicateKeys(ctx, w.DB, 0)
				if err != nil {
					t.Fatal(err)
				}
				want := k.Table + ": 1 keys (" + k.Columns + ") held twice or more"
				if len(bad) != 1 || bad[0] != want {
					t.Errorf("whole-table check: %q, want [%q]", bad, want)
				}
				if bad, err := engine.DuplicateKeys(ctx, w.DB, 2); err != nil || len(bad) != 0 {
					t.Errorf("run 2's check: %q %v, want none", bad, err)
				}
			})
		}
	}
}
