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
// transaction makes no use of them, and loads the same lines.
func TestStageAheadReleasesCleaningTables(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: 500, Days: 120, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var trace bytes.Buffer
	var left, kept []string
	rep, err := Load(ctx, openMem(t), []string{dir}, Options{AsOf: asOf2024(), stageAhead: true, Trace: &trace,
		stagedOn: func(ctx context.Context, conn *sql.Conn) error {
			rows, err := conn.QueryContext(ctx, `SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY ALL`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					return err
				}
				if name == "sales_pos" || strings.HasPrefix(name, "md_") {
					left = append(left, name)
				} else {
					kept = append(kept, name)
				}
			}
			return rows.Err()
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
		t.Fatalf("staging ahead of %d lines made %v: want sales_pos and memo tables", rep.Read, made)
	}
	if len(left) > 0 {
		t.Errorf("staging ahead committed with %v of %d cleaning tables left for the load's transaction", left, len(made))
	}
	if !strings.Contains(" "+strings.Join(kept, " ")+" ", " c_sales") {
		t.Errorf("what staging ahead left: %v, want the cleaned lines (c_sales)", kept)
	}
	if rep.Loaded == 0 || rep.Loaded+rep.Rejected+rep.Duplicates > rep.Read {
		t.Errorf("loaded %d, rejected %d, duplicates %d of %d read", rep.Loaded, rep.Rejected, rep.Duplicates, rep.Read)
	}
}
