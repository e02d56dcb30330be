package etl

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestDropKeepsMemoryUntilCommit pins the DuckDB behaviour the load's
// shape rests on: a TEMP table dropped (or replaced) inside a transaction
// keeps its memory until the transaction ends — made in that transaction
// or committed before it (as staging ahead commits the staged lines) — and
// a commit releases it. So a load cannot make room for a later step by
// dropping what an earlier one made; only what it never makes, or what a
// committed transaction dropped, is not held. Should a DuckDB release free
// such a table at once, this fails, and dropping inside the load (which
// loads did until 2026-12, see loadFacts) would pay again.
func TestDropKeepsMemoryUntilCommit(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	held := func() float64 {
		t.Helper()
		var mb float64
		if err := conn.QueryRowContext(ctx, `SELECT coalesce(sum(memory_usage_bytes + temporary_storage_bytes), 0) / 1e6
			FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'`).Scan(&mb); err != nil {
			t.Fatal(err)
		}
		return mb
	}
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// 1,000,000 rows of a BIGINT and a short text: ~28 MB.
	const table = `AS SELECT range AS x, 'k' || range AS y FROM range(1000000)`
	base := held()
	exec(`CREATE TEMP TABLE staged ` + table) // committed, as staging ahead does
	one := held() - base
	if one < 10 {
		t.Fatalf("a million-row table holds %.1f MB: the measure does not see it", one)
	}
	exec("BEGIN")
	exec(`CREATE TEMP TABLE made ` + table)
	exec(`DROP TABLE made`)
	exec(`DROP TABLE staged`)
	exec(`CREATE OR REPLACE TEMP TABLE again ` + table)
	exec(`CREATE OR REPLACE TEMP TABLE again AS SELECT 1 AS x`)
	inTx := held() - base
	exec("COMMIT")
	after := held() - base
	t.Logf("one table %.1f MB; inside the transaction, after two drops and a replace: %.1f MB; after commit %.1f MB", one, inTx, after)
	// Three tables of a million rows, each dropped or replaced by then.
	if inTx < 2.9*one {
		t.Errorf("inside the transaction %.1f MB held for three tables of %.1f MB, all dropped or replaced: DuckDB now frees a dropped table before commit", inTx, one)
	}
	if after > 0.5*one {
		t.Errorf("after commit %.1f MB still held: the commit did not release the dropped tables", after)
	}
}
