package etl

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestPostconditionCatchesEarlierCurrentLine restates a line of an earlier
// load and then, before the post-conditions, makes the earlier line
// current again: its key has two current lines, one of this run and one of
// run 1, among earlier lines whose order ids lie below and above the
// run's. The check reads only the lines whose order id lies between the
// run's least and greatest; it must still find the earlier one, fail the
// load and leave the warehouse as it was. Untampered, the restatement
// loads.
func TestPostconditionCatchesEarlierCurrentLine(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	first := t.TempDir()
	writeFile(t, first, "pos_sales_1.csv", tillHeader+till("S1", 1, "ST01", 1, "10.00")+till("S5", 1, "ST01", 2, "10.00")+
		till("S9", 1, "ST01", 3, "10.00"), false)
	if _, err := Load(ctx, w, []string{first}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	second := t.TempDir()
	writeFile(t, second, "pos_sales_2.csv", tillHeader+till("S5", 1, "ST01", 4, "10.00"), false)
	tamperedLoadFails(t, w, []string{second}, "1 fact_sales keys with more than one current line",
		`UPDATE fact_sales SET restated_by_run = NULL WHERE order_id = 'S5' AND etl_run_id = 1`)
	if _, err := Load(ctx, w, []string{second}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	// S5 of run 1 restated by run 2: one current line a key.
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales_current`); n != 3 {
		t.Errorf("%d current lines, want 3", n)
	}
	if n := queryInt(t, w, `SELECT quantity FROM fact_sales_current WHERE order_id = 'S5'`); n != 4 {
		t.Errorf("S5's current quantity %d, want 4", n)
	}
}

// TestPostconditionKeysOfTheRunOnly: the check of keys with more than one
// current line counts the keys of the run's lines. A key of an earlier
// run made current twice before the post-conditions (S5, whose order id
// lies between the run's S1 and S9, so its lines are read) is none of the
// run's: the load commits. The same tamper on a key of the run (S1) fails
// it, naming one key.
func TestPostconditionKeysOfTheRunOnly(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		order string
		fails bool
	}{{"S5", false}, {"S1", true}} {
		t.Run(tc.order, func(t *testing.T) {
			w := openMem(t)
			first := t.TempDir()
			writeFile(t, first, "pos_sales_1.csv", tillHeader+till("S5", 1, "ST01", 2, "10.00"), false)
			if _, err := Load(ctx, w, []string{first}, Options{AsOf: asOf2024()}); err != nil {
				t.Fatal(err)
			}
			second := t.TempDir()
			writeFile(t, second, "pos_sales_2.csv", tillHeader+till("S1", 1, "ST01", 1, "10.00")+till("S9", 1, "ST01", 3, "10.00"), false)
			tamper := func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO fact_sales SELECT * FROM fact_sales WHERE order_id = ?`, tc.order)
				return err
			}
			_, err := Load(ctx, w, []string{second}, Options{AsOf: asOf2024(), tamper: tamper})
			if !tc.fails {
				if err != nil {
					t.Fatalf("load: %v, want it committed (S5's key is not of this run)", err)
				}
				if n := queryInt(t, w, `SELECT count(*) FROM fact_sales_current WHERE order_id = 'S5'`); n != 2 {
					t.Errorf("%d current S5 lines, want the 2 the tamper made", n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "1 fact_sales keys with more than one current line") {
				t.Fatalf("load: %v, want a post-condition failure naming 1 key with more than one current line", err)
			}
		})
	}
}

// tamperedLoadFails loads dirs into w with tamperSQL (and args) run just
// before the post-conditions: the load must fail with a post-condition
// error holding want, and leave every table of w as it was.
func tamperedLoadFails(t *testing.T, w *engine.Warehouse, dirs []string, want, tamperSQL string, args ...any) {
	t.Helper()
	tamperedLoadFailsWith(t, w, dirs, Options{AsOf: asOf2024()}, want, tamperSQL, args...)
}

// tamperedLoadFailsWith is tamperedLoadFails with the load's options.
func tamperedLoadFailsWith(t *testing.T, w *engine.Warehouse, dirs []string, opts Options, want, tamperSQL string, args ...any) {
	t.Helper()
	before := tableChecksums(t, w)
	opts.tamper = func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, tamperSQL, args...)
		return err
	}
	_, err := Load(context.Background(), w, dirs, opts)
	if err == nil || !strings.Contains(err.Error(), "post-condition failed") || !strings.Contains(err.Error(), want) {
		t.Fatalf("load: %v, want a post-condition failure naming %q", err, want)
	}
	after := tableChecksums(t, w)
	for n, v := range before {
		if after[n] != v {
			t.Errorf("table %s changed by the failed load", n)
		}
	}
}
