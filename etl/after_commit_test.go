package etl

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestAfterCommitHooks: AfterCommit hooks run once the load has committed,
// in a transaction of their own that sees the load's data and run; one that
// fails leaves the load committed (and its own writes rolled back), with
// its error in the report rather than failing the load.
func TestAfterCommitHooks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	header := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	writeFile(t, dir, "pos_sales_202401.csv", header+
		"S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,,P001,1,10,0,10\n"+
		"S1,2,ST01,北京朝阳店,张三,2024/1/5 14:22,,,P001,2,10,0,20\n"+
		"S2,1,ST01,北京朝阳店,张三,2024/1/6 14:22,,,P001,1,10,0,10\n", true)
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var seenLines, seenRun int64
	ok := func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM fact_sales), (SELECT max(run_id) FROM etl_run WHERE status = 'committed')`).Scan(&seenLines, &seenRun)
	}
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), AfterCommit: []func(context.Context, *sql.Tx) error{ok}})
	if err != nil {
		t.Fatal(err)
	}
	if seenLines != 3 || seenRun != rep.RunID || rep.AfterCommit != "" {
		t.Errorf("the hook saw %d lines of run %d (report: run %d, after-commit error %q), want 3 lines of the load's run", seenLines, seenRun, rep.RunID, rep.AfterCommit)
	}

	writeFile(t, dir, "pos_sales_202402.csv", header+
		"S3,1,ST01,北京朝阳店,张三,2024/2/5 14:22,,,P001,1,10,0,10\n"+
		"S4,1,ST01,北京朝阳店,张三,2024/2/6 14:22,,,P001,1,10,0,10\n", true)
	failing := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE after_commit_probe (x INT)`); err != nil {
			return err
		}
		return errors.New("rollup refresh broke")
	}
	rep, err = Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), AfterCommit: []func(context.Context, *sql.Tx) error{failing}})
	if err != nil {
		t.Fatalf("a failed after-commit hook failed the load: %v", err)
	}
	if rep.AfterCommit != "rollup refresh broke" {
		t.Errorf("report's after-commit error %q, want the hook's", rep.AfterCommit)
	}
	var lines, probes int64
	if err := w.DB.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM fact_sales), (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'after_commit_probe')`).Scan(&lines, &probes); err != nil {
		t.Fatal(err)
	}
	if lines != 5 || probes != 0 {
		t.Errorf("after the failed hook: %d fact lines (want 5: the load committed), probe table present %d (want 0: the hook's transaction rolled back)", lines, probes)
	}
	// A load with nothing new still runs the hooks: the next load finishes
	// what a crash (or a failed hook) left undone after a commit.
	seenRun = 0
	rep, err = Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), AfterCommit: []func(context.Context, *sql.Tx) error{ok}})
	if !errors.Is(err, ErrNothingToLoad) || seenRun != 2 || seenLines != 5 || rep.AfterCommit != "" {
		t.Errorf("a load with nothing new: %v, the hook saw run %d and %d lines (after-commit error %q); want ErrNothingToLoad and the hook run over run 2's 5 lines", err, seenRun, seenLines, rep.AfterCommit)
	}
}
