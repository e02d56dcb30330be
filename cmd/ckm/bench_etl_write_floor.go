package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
)

// The write floor of the 10-line load: raw DuckDB writing the rows that
// load leaves in the warehouse — the same rows, into the same tables, in
// one transaction, with nothing computed, cleaned, checked or sealed —
// timed as a process of its own like the load and 'ckm init' (the open
// floor). What a load of those lines cannot undercut however few
// statements it ran: the open floor plus these writes.

func init() {
	registerCommand(func(a *app) *cobra.Command { return newRawWriteCmd(a, nil) })
}

// rawWriteOptions are what ckm bench-raw-write resolves to.
type rawWriteOptions struct {
	app *app
	dir string // TABLE.parquet files, the rows to write into TABLE
}

// newRawWriteCmd is the write floor side of `ckm bench etl`. Hidden: it is
// a benchmark tool. runF, when not nil, runs instead of rawWriteRun.
func newRawWriteCmd(a *app, runF func(context.Context, *rawWriteOptions) error) *cobra.Command {
	opts := &rawWriteOptions{app: a}
	return &cobra.Command{
		Use:    "bench-raw-write DIR",
		Short:  "Write floor of ckm bench etl: DIR/TABLE.parquet's rows into each TABLE, in one transaction",
		Hidden: true,
		// Not a peer (peerAnnotation): the floor of ckm's own load runs
		// with ckm's malloc settings, as that load and 'ckm init' do.
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.dir = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rawWriteRun(cmd.Context(), opts)
		},
	}
}

// rawWriteRun opens the warehouse as 'ckm init' does, writes DIR's rows and
// prints the rows written per table as JSON.
func rawWriteRun(ctx context.Context, opts *rawWriteOptions) error {
	a := opts.app
	w, err := engine.Open(ctx, a.warehousePath(), a.engineOptions())
	if err != nil {
		return err
	}
	defer w.Close()
	rows, err := rawWrite(ctx, w.DB, opts.dir)
	if err != nil {
		return err
	}
	// As the 10-line load leaves its log (keepSmallLoadWAL): no checkpoint
	// at the close.
	if _, err := w.KeepWALAtClose(ctx, engine.KeepWALBytes); err != nil {
		return err
	}
	return json.NewEncoder(a.stdout).Encode(rows)
}

// rawWrite inserts the rows of each dir/TABLE.parquet into TABLE, and of
// each dir/TABLE.upsert.parquet too, replacing the row of the same primary
// key (rows the load changed), in one transaction, and returns the rows
// written per table.
func rawWrite(ctx context.Context, db *sql.DB, dir string) (map[string]int64, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("bench-raw-write: no TABLE.parquet in %s", dir)
	}
	sort.Strings(files)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	written := map[string]int64{}
	for _, f := range files {
		table, verb := strings.TrimSuffix(filepath.Base(f), ".parquet"), "INSERT INTO "
		if t, ok := strings.CutSuffix(table, ".upsert"); ok {
			table, verb = t, "INSERT OR REPLACE INTO "
		}
		res, err := tx.ExecContext(ctx, verb+engine.QuoteIdent(table)+" SELECT * FROM read_parquet("+engine.QuoteString(f)+")")
		if err != nil {
			return nil, fmt.Errorf("bench-raw-write: %s: %w", table, err)
		}
		if written[table], err = res.RowsAffected(); err != nil {
			return nil, err
		}
	}
	return written, tx.Commit()
}

// writeFloorRows writes into dir, as TABLE.parquet, the rows each table of
// the warehouse loaded has and the warehouse base (the same warehouse
// before the load) lacks: the rows the load wrote, new or changed (as
// TABLE.upsert.parquet where base has rows loaded lacks: rows it
// changed). It returns their counts per table.
func writeFloorRows(ctx context.Context, loaded, base, dir string) (map[string]int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for alias, path := range map[string]string{"ld": loaded, "bs": base} {
		if _, err := db.ExecContext(ctx, "ATTACH "+engine.QuoteString(path)+" AS "+alias+" (READ_ONLY)"); err != nil {
			return nil, fmt.Errorf("write floor: %w", err)
		}
	}
	tables, err := stringsOf(ctx, db, `SELECT table_name FROM duckdb_tables() WHERE database_name = 'ld' AND schema_name = 'main' ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("write floor: %w", err)
	}
	counts := map[string]int64{}
	for _, t := range tables {
		q := engine.QuoteIdent(t)
		// Rows the load changed (or removed) are those of base loaded
		// lacks (a scan of base, which is small): its rows are written
		// over their keys.
		var changed bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT * FROM bs.main.`+q+` EXCEPT ALL SELECT * FROM ld.main.`+q+`)`).Scan(&changed); err != nil {
			return nil, fmt.Errorf("write floor: %s: %w", t, err)
		}
		out := filepath.Join(dir, t+".parquet")
		if changed {
			out = filepath.Join(dir, t+".upsert.parquet")
		}
		// The rows loaded has and base lacks, written once: COPY counts
		// them (counting first computed the difference twice, 4.6–6.9 s
		// more for the 5 M set's fact_sales).
		res, err := db.ExecContext(ctx, `COPY (SELECT * FROM ld.main.`+q+` EXCEPT ALL SELECT * FROM bs.main.`+q+`) TO `+engine.QuoteString(out)+` (FORMAT parquet)`)
		if err != nil {
			return nil, fmt.Errorf("write floor: %s: %w", t, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("write floor: %s: %w", t, err)
		}
		if n == 0 {
			if err := os.Remove(out); err != nil {
				return nil, err
			}
			continue
		}
		counts[t] = n
	}
	return counts, nil
}

// stringsOf reads a query's one text column.
func stringsOf(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// benchWriteFloor times the full load's write floor: the rows the last
// ckm run left (ckm.duckdb in the bench's directory) that an initialised
// warehouse lacks, written by ckm bench-raw-write into an initialised
// warehouse; they must hold every sales line of the set.
func benchWriteFloor(ctx context.Context, b *benchChildren, res *benchETLResult) error {
	base := filepath.Join(b.dir, "write-floor-base.duckdb")
	if err := b.initialise(base); err != nil {
		return err
	}
	rowsDir := filepath.Join(b.dir, "ckm-rows")
	written, err := writeFloorRows(ctx, filepath.Join(b.dir, "ckm.duckdb"), base, rowsDir)
	if err != nil {
		return err
	}
	defer os.RemoveAll(rowsDir)
	if written["fact_sales"] != res.SalesLines {
		return fmt.Errorf("write floor: the load left %d sales lines, want %d", written["fact_sales"], res.SalesLines)
	}
	var total int64
	for _, n := range written {
		total += n
	}
	s := spec("ckm-write-floor", total, "bench-raw-write", rowsDir)
	s.prepare = b.initialise
	side, out, err := b.side(s)
	if err != nil {
		return err
	}
	if err := checkWritten(out, written); err != nil {
		return fmt.Errorf("the load's %w", err)
	}
	res.WriteFloor, res.WriteFloorRows = side, total
	res.WriteFloorShare = side.Seconds / res.CKM.Seconds
	return nil
}

// initialise runs 'ckm init' on the warehouse wh (a bench side's prepare).
func (b *benchChildren) initialise(wh string) error {
	_, _, err := b.child(wh, []string{"init"})
	return err
}

// checkWritten tells whether bench-raw-write's output out (the rows it
// wrote per table) is the rows it was given.
func checkWritten(out []byte, written map[string]int64) error {
	var wrote map[string]int64
	if err := json.Unmarshal(out, &wrote); err != nil {
		return fmt.Errorf("write floor: %w", err)
	}
	if fmt.Sprint(wrote) != fmt.Sprint(written) { // maps print in key order
		return fmt.Errorf("write floor wrote %v, want the rows taken %v", wrote, written)
	}
	return nil
}
