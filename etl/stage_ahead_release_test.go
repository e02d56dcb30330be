package etl

import (
	"bytes"
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/fixtures"
)

// TestStageAheadReleasesCleaningTables: the tables only the cleaning of
// the sales lines reads — the memo tables of distinct raw values (md_*)
// and the positions of lines without a line number (sales_pos) — are
// dropped before staging ahead commits, so that its commit releases them
// (TestDroppedTempTableKeepsMemoryUntilCommit: dropped later, inside the load's
// transaction, they would hold their memory to its end). The load's
// transaction makes no use of them, and the load loads what the same
// set staged inside its transaction loads.
func TestStageAheadReleasesCleaningTables(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: 500, Days: 120, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var trace bytes.Buffer
	var left, kept string
	ahead, err := Load(ctx, openMem(t), []string{dir}, Options{AsOf: asOf2024(), stageAhead: true, Trace: &trace,
		stagedOn: func(ctx context.Context, conn *sql.Conn) error {
			return conn.QueryRowContext(ctx, `SELECT
				coalesce(string_agg(table_name, ' ' ORDER BY table_name) FILTER (WHERE table_name = 'sales_pos' OR starts_with(table_name, 'md_')), ''),
				coalesce(string_agg(table_name, ' ' ORDER BY table_name) FILTER (WHERE starts_with(table_name, 'c_sales')), '')
				FROM duckdb_tables() WHERE temporary`).Scan(&left, &kept)
		}})
	if err != nil {
		t.Fatal(err)
	}
	text := trace.String()
	end := strings.Index(text, "s stage ahead cpu")
	if end < 0 {
		t.Fatalf("no stage-ahead step in the trace:\n%.2000s", text)
	}
	made := map[string]bool{}
	for _, m := range regexp.MustCompile(`CREATE OR REPLACE TEMP TABLE (md_\w+|sales_pos) AS`).FindAllStringSubmatch(text[:end], -1) {
		made[m[1]] = true
	}
	// The set's lines are cleaned through memos (more than
	// inlineSalesLines), some without a line number (the web orders).
	if !made["sales_pos"] || len(made) < 5 {
		t.Fatalf("staging ahead of %d lines made %v: want sales_pos and memo tables", ahead.Read, made)
	}
	if left != "" {
		t.Errorf("staging ahead committed with %q of %d cleaning tables left for the load's transaction", left, len(made))
	}
	if kept == "" {
		t.Error("staging ahead left no cleaned lines (c_sales) for the load's transaction")
	}
	// The same set staged inside the load's transaction, where the
	// cleaning tables stay to its end, loads the same.
	w := openMem(t)
	inside, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), stageInLoad: true})
	if err != nil {
		t.Fatal(err)
	}
	if ahead.Loaded == 0 || ahead.Loaded != inside.Loaded || ahead.Rejected != inside.Rejected || ahead.Duplicates != inside.Duplicates || ahead.Warned != inside.Warned {
		t.Errorf("staged ahead: %d loaded, %d rejected, %d duplicates, %d warned; inside the load: %d, %d, %d, %d",
			ahead.Loaded, ahead.Rejected, ahead.Duplicates, ahead.Warned, inside.Loaded, inside.Rejected, inside.Duplicates, inside.Warned)
	}
}
