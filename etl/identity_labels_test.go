package etl

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestLabelComponentsAtScale: labelComponents labels a graph whose edges
// fill several row groups, which DuckDB may hand to ckm_label_edge on both
// threads at once (the test cannot see whether it did), and whose
// components are chains of records in
// shuffled order, the worst order for rounds of propagation. 300,000 keys
// in components of seven, each key but a component's first joined to the
// one before it by a record (half of them an earlier load's, with a
// negative id), then 50,000 keys in no edge: every key's label must be the
// least key of its component (made by construction, not by the code under
// test), and the keys in no edge keep their own. Both the Go path and the
// rounds of SQL are checked against it, so the test also holds labelRound.
func TestLabelComponentsAtScale(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := Register(ctx, w); err != nil {
		t.Fatal(err)
	}
	for _, inSQL := range []bool{false, true} {
		tx, err := w.DB.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		l := &loader{ctx: ctx, tx: tx}
		for _, q := range []string{
			`CREATE OR REPLACE TEMP TABLE id_key AS SELECT range AS kid FROM range(1, 350001)`,
			`CREATE OR REPLACE TEMP TABLE id_rk AS
			WITH r AS (SELECT kid, CASE WHEN kid % 2 = 0 THEN -kid ELSE kid * 1000 + 3 END AS rec
				FROM id_key WHERE kid <= 300000 AND (kid - 1) % 7 <> 0)
			SELECT rec, kid FROM (SELECT rec, kid FROM r UNION ALL SELECT rec, kid - 1 FROM r) ORDER BY hash(rec, kid)`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		defer func(old bool) { labelsInSQL = old }(labelsInSQL)
		labelsInSQL = inSQL
		if err := l.propagateLabels(); err != nil {
			t.Fatalf("labelsInSQL=%v: %v", inSQL, err)
		}
		var edges, keys, wrong, chained int64
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM id_rk), (SELECT count(*) FROM id_lab),
			count(*) FILTER (WHERE lab <> CASE WHEN kid <= 300000 THEN (kid - 1) // 7 * 7 + 1 ELSE kid END),
			count(*) FILTER (WHERE lab <> kid)
			FROM id_lab`).Scan(&edges, &keys, &wrong, &chained); err != nil {
			t.Fatal(err)
		}
		// Of keys 1…300,000, 42,858 are a component's first (kid − 1 a
		// multiple of 7): the other 257,142 each have a record of two edges.
		const joined = 257142
		if edges != 2*joined || keys != 350000 || wrong != 0 || chained != joined {
			t.Errorf("labelsInSQL=%v: %d edges, %d keys labelled, %d with a label other than their component's least key, %d not their own (want %d, 350000, 0, %d)",
				inSQL, edges, keys, wrong, chained, 2*joined, joined)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
	// The graph is dropped after use: a handle of no graph is an error.
	if _, err := w.DB.ExecContext(ctx, `SELECT ckm_label_of(12345, 1)`); err == nil || !strings.Contains(err.Error(), "no identity graph") {
		t.Errorf("ckm_label_of of a handle of no graph: %v, want an error naming it", err)
	}
	n := 0
	labelGraphs.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d identity graphs left behind", n)
	}
}
