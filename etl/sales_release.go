package etl

import (
	"errors"
	"fmt"
	"strings"
)

// releaseStagedSales, at the end of staging ahead, keeps the staged text
// of only the sales lines whose raw records the load's transaction may
// rebuild (classifySales: the lines it decides and those naming a product
// the warehouse does not know), so that staging ahead's commit releases
// the rest. After cleaning, the other lines' staged fields are read for
// their (file_id, _line, _item) only: the ledger's count of staged lines
// and the post-check's lines read. Kept whole to the load's commit, the
// staged text was the largest table a large load holds (the 5 M bench
// set's stg_sales_d: ~1.1 GB of inserts, spilled under the load's memory
// limit): tables dropped inside the load's transaction hold their memory
// to its end (TestDroppedTempTableKeepsMemoryUntilCommit), so only
// staging ahead's own commit can release it.
//
// The candidates (sales_cand) are a superset of the lines the load's
// transaction will need, worked out from what staging ahead can see:
//   - a line whose natural key (salesKey, by a 64-bit hash: a collision
//     only adds candidates) another line of the load repeats or a current
//     line of the warehouse holds — the only lines classifySales decides;
//   - a line whose product is neither a product of the warehouse nor the
//     code of a staged product row that passes the product rules
//     (productRules) — productUnknown's lines, as the products step will
//     leave the warehouse.
//
// stg_sales_keep holds the candidates' staged fields, stg_sales_rest the
// other lines' ids, and the view stg_sales gives both (the others' fields
// NULL). The load's transaction checks that every line it needs is kept
// (classifySales); where one is not — a product row the products step
// rejects for a reason staging ahead does not see (a repeated code whose
// first row fails), a run undone in between — the load stages its files
// again inside its transaction (errSalesReleased; transact), so a raw
// record is never rebuilt from fields that are gone.
//
// Loads without a narrowed sales staging table (small ones, raw or joined
// sources: narrowStaging) and warehouses holding lines of schema version
// 1 (keyed by position: salesV1DuplicatesSQL) keep every line's text.
func (l *loader) releaseStagedSales() error {
	kept, narrow := l.narrowed["sales"]
	if !narrow || l.opts.everyStep || l.opts.keepStagedSales {
		return nil
	}
	// Lines of schema version 1 are keyed by position
	// (salesV1DuplicatesSQL), which the candidates do not cover.
	v1, err := l.count(`SELECT count(*) FROM (SELECT 1 FROM fact_sales WHERE record_hash IS NULL LIMIT 1)`)
	if err != nil {
		return fmt.Errorf("release staged sales: %w", err)
	}
	if v1 > 0 {
		return nil
	}
	// The cleaned lines are read here on one thread, as written in this
	// transaction (stageAhead); committing them first (settle) reads them
	// on both (1 M lines: sales_cand 0.24 → 0.14–0.19 s). That was taken
	// out when TestProtectedLoadMatchesFixtureTruth found raw values in a
	// protected warehouse's file — a test whose loads never reach this
	// code: DuckDB wrote uninitialised slack of its string segments to the
	// file (duckdb/duckdb#23382), which engine's fill_linux.go now clears
	// — and can come back, measured.
	var bad []string
	for _, r := range productRules() {
		if r.Severity == "error" {
			bad = append(bad, "("+r.Cond+")")
		}
	}
	known := `SELECT product_code AS code FROM dim_product WHERE product_code IS NOT NULL AND NOT is_inferred
			UNION SELECT code FROM (` + productsCleanSQL + `) WHERE NOT coalesce(` + strings.Join(bad, " OR ") + `, false)`
	key := "hash(f.source, coalesce(c.store_v, ''), c.k_order, c.line_key)"
	if err := l.exec("stage", `CREATE OR REPLACE TEMP TABLE sales_cand AS
		WITH k AS (SELECT c.file_id, c._line, c._item, c.product_v, `+key+` AS h FROM c_sales c JOIN ld_file f USING (file_id)),
		known AS (`+known+`),
		held AS (
			SELECT h FROM k GROUP BY h HAVING count(*) > 1
			UNION ALL SELECT hash(source, coalesce(store_code, ''), order_id, line_key) FROM fact_sales
				WHERE NOT is_reversal AND restated_by_run IS NULL)
		SELECT file_id, _line, _item FROM k
		WHERE product_v IS NULL OR product_v NOT IN (SELECT code FROM known) OR h IN (SELECT h FROM held)`); err != nil {
		return fmt.Errorf("release staged sales: %w", err)
	}
	keepCols, restCols := stagedColumns(targets["sales"], kept), stagedColumns(targets["sales"], nil)
	on := "c.file_id = s.file_id AND c._line = s._line AND c._item = s._item"
	if err := l.exec("stage", `CREATE OR REPLACE TEMP TABLE stg_sales_keep AS SELECT s.* FROM stg_sales_d s SEMI JOIN sales_cand c ON `+on+`;
		CREATE OR REPLACE TEMP TABLE stg_sales_rest AS SELECT s.file_id, s._line, s._item FROM stg_sales_d s ANTI JOIN sales_cand c ON `+on+`;
		CREATE OR REPLACE TEMP VIEW stg_sales AS
			SELECT `+strings.Join(keepCols, ", ")+` FROM stg_sales_keep
			UNION ALL SELECT `+strings.Join(restCols, ", ")+` FROM stg_sales_rest;
		DROP TABLE sales_cand; DROP TABLE stg_sales_d`); err != nil {
		return fmt.Errorf("release staged sales: %w", err)
	}
	l.salesReleased = true
	return nil
}

// errSalesReleased: a line the load's transaction needs the raw record of
// was not kept by releaseStagedSales; transact stages the files again.
var errSalesReleased = errors.New("the staged text of a sales line it needs was released")

// checkSalesKept fails with errSalesReleased when a line of need (a table
// of file_id, _line, _item) has no staged text kept (releaseStagedSales).
func (l *loader) checkSalesKept(need string) error {
	if !l.salesReleased {
		return nil
	}
	n, err := l.count(`SELECT count(*) FROM ` + need + ` n ANTI JOIN stg_sales_keep k ON k.file_id = n.file_id AND k._line = n._line AND k._item = n._item`)
	if err != nil {
		return fmt.Errorf("sales keys: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w (%d lines)", errSalesReleased, n)
	}
	return nil
}
