package export

import (
	"bytes"
	"context"
	dbsql "database/sql"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/shell"
)

// bigSales adds n sales lines over 2023-01-01 .. 2025-12-31 in date order
// (DuckDB row groups of 122,880 rows each hold a few months) and
// checkpoints, so the row groups are on disk as they would be after a
// load.
func bigSales(t *testing.T, w *engine.Warehouse, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, etl_run_id)
		SELECT 'B' || i, 1, CAST(strftime(DATE '2023-01-01' + CAST(i * 1095 // ? AS INTEGER), '%Y%m%d') AS INTEGER),
			CAST(1 + i % 2 AS INTEGER), 1001 + i % 2, 1, 1, 1, 10.00, 10.00, false, 7
		FROM range(0, ?) t(i)`, n, n); err != nil {
		t.Fatal(err)
	}
	checkpoint(t, w)
}

func checkpoint(t *testing.T, w *engine.Warehouse) {
	t.Helper()
	if _, err := w.DB.ExecContext(context.Background(), "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
}

// factTables are the tables these tests export (the others do not bear on
// the fact tables' kept hashes).
var factTables = []string{"fact_sales", "fact_sales_current", "fact_interaction", "fact_campaign"}

// lakeFactSales exports incrementally and checks that the lake's fact_sales
// (and fact_sales_current) hold exactly the warehouse's rows, returning
// the export's fact_sales result.
func lakeFactSales(t *testing.T, w *engine.Warehouse, dir, kind string) (*LakeResult, LakeTableResult) {
	t.Helper()
	ctx := context.Background()
	res, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: factTables})
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	snap, err := OpenLakeSnapshot(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fact_sales", "fact_sales_current"} {
		cols := plainColumns(snap.Tables[name])
		wn, ws := checksum(t, w, name, cols)
		ln, ls := checksum(t, w, overFiles(t, snap.Tables[name]), cols)
		if wn != ln || ws != ls {
			t.Errorf("%s: lake %s %d rows (%s), warehouse %d (%s)", kind, name, ln, ls, wn, ws)
		}
	}
	var fs LakeTableResult
	for _, tr := range res.Tables {
		if tr.Name == "fact_sales" {
			fs = tr
		}
	}
	return res, fs
}

// trustStorage makes the lake's kept hashes of every fact table claim the
// warehouse's current storage, as if a change had left every column
// segment where it was (DuckDB can: an update and two checkpoints put a
// segment back at the same block and offset with the same statistics).
// Then only the change record can tell the export what changed.
func trustStorage(t *testing.T, w *engine.Warehouse, dir string) {
	t.Helper()
	ctx := context.Background()
	cat, err := dbsql.Open("sqlite3", "file:"+filepath.Join(dir, LakeCatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := cat.QueryContext(ctx, `SELECT table_name, state FROM ckm_lake_base`)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]*lakeBaseState{}
	for rows.Next() {
		var name, js string
		rows.Scan(&name, &js)
		var s lakeBaseState
		if err := json.Unmarshal([]byte(js), &s); err != nil {
			t.Fatal(err)
		}
		states[name] = &s
	}
	rows.Close()
	if len(states) == 0 {
		t.Fatal("the lake keeps no hashes")
	}
	for name, s := range states {
		groups, err := storageGroups(ctx, conn, name)
		if err != nil {
			t.Fatal(err)
		}
		live := make([]int64, len(groups))
		for i, g := range groups {
			if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+engine.QuoteIdent(name)+" WHERE rowid BETWEEN ? AND ?", g.start, g.start+g.rows-1).Scan(&live[i]); err != nil {
				t.Fatal(err)
			}
		}
		if len(groups) != len(s.Groups) {
			t.Fatalf("%s: %d row groups, %d kept", name, len(groups), len(s.Groups))
		}
		for i := range s.Groups {
			s.Groups[i].Storage, s.Groups[i].Start, s.Groups[i].Rows, s.Groups[i].Live = groups[i].storage, groups[i].start, groups[i].rows, live[i]
			if groups[i].storage == "" {
				t.Fatalf("%s: row group %d is not on disk (checkpoint first)", name, i)
			}
		}
		js, _ := json.Marshal(s)
		if _, err := cat.ExecContext(ctx, `UPDATE ckm_lake_base SET state = ? WHERE table_name = ?`, string(js), name); err != nil {
			t.Fatal(err)
		}
	}
}

// keptState is a fact table's kept hashes in the lake's catalog.
func keptState(t *testing.T, dir, name string) lakeBaseState {
	t.Helper()
	cat, err := dbsql.Open("sqlite3", "file:"+filepath.Join(dir, LakeCatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	var js string
	if err := cat.QueryRowContext(context.Background(), `SELECT state FROM ckm_lake_base WHERE table_name = ?`, name).Scan(&js); err != nil {
		t.Fatal(err)
	}
	var s lakeBaseState
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLakeKeptHashes: a fact table's hashes are kept by DuckDB row group
// between exports; an export re-hashes only the row groups whose storage
// or live rows changed, or that hold a month a writer recorded in
// ckm_change, and the lake always equals the warehouse.
func TestLakeKeptHashes(t *testing.T) {
	ctx := context.Background()
	w, dir := bigSalesLake(t, 250000) // 3 row groups: 122,880 + 122,880 + 4,240 (+5 lines)
	// Nothing changed: nothing re-hashed.
	res, fs := lakeFactSales(t, w, dir, "no change")
	if res.GroupsHashed != 0 || fs.Changed {
		t.Errorf("no change: %d row groups hashed, fact_sales changed %v", res.GroupsHashed, fs.Changed)
	}
	groups := res.GroupsKept

	// A one-day load appends: only the last row group is hashed again and
	// only that day's month rewritten.
	addDay(t, w, 8, "20251231")
	checkpoint(t, w)
	res, fs = lakeFactSales(t, w, dir, "one-day load")
	// (The day goes to the last row group or to a new one.)
	if res.GroupsHashed < 1 || res.GroupsHashed > 2 || res.GroupsKept < groups-1 || !slices.Equal(fs.Partitions, []string{"2025-12"}) {
		t.Errorf("one-day load: %d row groups hashed, %d kept (of %d), rewrote %v; want 1 or 2, at least %d, [2025-12]", res.GroupsHashed, res.GroupsKept, groups, fs.Partitions, groups-1)
	}
	t.Logf("one-day load: %d row groups hashed, %d kept", res.GroupsHashed, res.GroupsKept)

	// Changes no writer recorded, that storage shows: an update not yet
	// checkpointed, the same checkpointed, a delete (live rows).
	for _, c := range []struct {
		kind, sql, part string
		rewrites        bool // DuckDB may rewrite every row group
	}{
		{"update in memory", `UPDATE fact_sales SET amount = 11.00 WHERE order_id = 'B10'`, "2023-1", false},
		{"update checkpointed", `UPDATE fact_sales SET amount = 12.00 WHERE order_id = 'B20'; CHECKPOINT`, "2023-1", false},
		{"delete checkpointed", `DELETE FROM fact_sales WHERE order_id = 'B30'; CHECKPOINT`, "2023-1", false},
		{"delete in memory", `DELETE FROM fact_sales WHERE order_id = 'B150000'`, "2024-10", false},
		// Most of the first row group gone: DuckDB may rewrite row groups.
		{"months deleted", `DELETE FROM fact_sales WHERE date_key BETWEEN 20230200 AND 20230899; CHECKPOINT`, "2023-2,2023-3,2023-4,2023-5,2023-6,2023-7,2023-8", true},
	} {
		if _, err := w.DB.ExecContext(ctx, c.sql); err != nil {
			t.Fatal(err)
		}
		res, fs = lakeFactSales(t, w, dir, c.kind)
		if strings.Join(fs.Partitions, ",") != c.part || (res.GroupsKept == 0 && !c.rewrites) {
			t.Errorf("%s: rewrote %v (want [%s]), %d row groups kept", c.kind, fs.Partitions, c.part, res.GroupsKept)
		}
	}
	checkpoint(t, w)
	lakeFactSales(t, w, dir, "checkpoint")

	// A change storage does not show (simulated): without a record the
	// lake misses it — what the README says of raw DuckDB clients —
	// and with ckm's record of the month it is exported.
	if _, err := w.DB.ExecContext(ctx, `UPDATE fact_sales SET amount = 13.00 WHERE order_id = 'B40'; CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	trustStorage(t, w, dir)
	res, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: factTables})
	if err != nil {
		t.Fatal(err)
	}
	if res.GroupsHashed != 0 {
		t.Fatalf("with storage unchanged and no record, %d row groups were hashed", res.GroupsHashed)
	}
	if err := engine.RecordChange(ctx, w.DB, "test", "fact_sales", 202301); err != nil {
		t.Fatal(err)
	}
	res, fs = lakeFactSales(t, w, dir, "recorded month")
	if res.GroupsHashed != 1 || !slices.Equal(fs.Partitions, []string{"2023-1"}) {
		t.Errorf("recorded month: %d row groups hashed, rewrote %v; want 1, [2023-1]", res.GroupsHashed, fs.Partitions)
	}
	// The kept state stands for the changes taken by a mark (their count
	// below a seq and a hash), not a list that grows with the record.
	var taken, next int64
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*), max(seq) + 1 FROM ckm_change WHERE table_name IN ('fact_sales', '*')`).Scan(&taken, &next); err != nil {
		t.Fatal(err)
	}
	if st := keptState(t, dir, "fact_sales"); st.Version != lakeBaseVersion || len(st.Changes) != 0 || st.Mark == nil || st.Mark.N != int(taken) || st.Mark.Seq != next {
		t.Errorf("kept state: version %d, changes %v, mark %+v; want version %d, no changes, a mark of %d below %d", st.Version, st.Changes, st.Mark, lakeBaseVersion, taken, next)
	}
	// A recorded month again: the mark takes the first one, the new one is
	// new.
	if err := engine.RecordChange(ctx, w.DB, "test", "fact_sales", 202301); err != nil {
		t.Fatal(err)
	}
	if res, fs = lakeFactSales(t, w, dir, "recorded month again"); res.GroupsHashed != 1 || res.GroupsKept < 1 || fs.Changed {
		t.Errorf("recorded month again: %d row groups hashed, %d kept, fact_sales changed %v; want 1, some, unchanged", res.GroupsHashed, res.GroupsKept, fs.Changed)
	}

	// A record the last export saw is gone (a warehouse restored from a
	// backup taken before it): nothing kept is trusted.
	if _, err := w.DB.ExecContext(ctx, `DELETE FROM ckm_change WHERE writer = 'test'`); err != nil {
		t.Fatal(err)
	}
	if res, _ = lakeFactSales(t, w, dir, "record gone"); res.GroupsKept != 0 {
		t.Errorf("a record gone: %d row groups kept, want 0", res.GroupsKept)
	}
	// A lake last exported from another warehouse trusts none of its
	// kept hashes.
	if _, err := w.DB.ExecContext(ctx, `UPDATE ckm_change SET writer = 'warehouse other' WHERE seq = (SELECT min(seq) FROM ckm_change)`); err != nil {
		t.Fatal(err)
	}
	res, _ = lakeFactSales(t, w, dir, "other warehouse")
	if res.GroupsKept != 0 {
		t.Errorf("another warehouse: %d row groups kept, want 0", res.GroupsKept)
	}
	// A full export keeps nothing either.
	if res, err = Lake(ctx, w, LakeOptions{Dir: dir, Tables: factTables, Full: true}); err != nil || res.GroupsKept != 0 {
		t.Errorf("full export: %d row groups kept (%v), want 0", res.GroupsKept, err)
	}
}

// TestLakeWriters: each of ckm's writers that changes fact rows other
// than by appending records the months it changed, so an export that
// can see nothing in storage (trustStorage) still equals the warehouse.
func TestLakeWriters(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	bigSales(t, w, 2000) // one row group, on disk
	// Order times, for the customer versions to hold.
	if _, err := w.DB.ExecContext(ctx, `UPDATE fact_sales SET order_ts = CAST(strptime(CAST(date_key AS VARCHAR), '%Y%m%d') AS TIMESTAMP) + INTERVAL 12 HOUR WHERE date_key > 0`); err != nil {
		t.Fatal(err)
	}
	checkpoint(t, w)
	dir := filepath.Join(t.TempDir(), "lake")
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: factTables}); err != nil {
		t.Fatal(err)
	}
	admin := privacy.Principal{User: "root", Role: privacy.Admin}
	for _, c := range []struct {
		kind  string
		run   func() error
		parts []string // fact_sales partitions rewritten
	}{
		{"back-dated customer version", func() error {
			// Customer 1001 changed on 2025-11-01 (known only now): the
			// version from then takes over the sales of November and
			// December 2025.
			tx, err := w.DB.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			for _, q := range []string{
				`INSERT INTO dim_customer SELECT * REPLACE (10 AS customer_key, TIMESTAMP '2025-11-01' AS valid_from) FROM dim_customer WHERE customer_key = 1`,
				`UPDATE dim_customer SET valid_to = TIMESTAMP '2025-11-01', is_current = false WHERE customer_key = 1`,
			} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			if err := engine.AlignCustomerVersions(ctx, tx, `SELECT 1001`); err != nil {
				return err
			}
			var moved int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM fact_sales WHERE customer_key = 10`).Scan(&moved); err != nil || moved == 0 {
				return fmt.Errorf("no sales moved to the new version (%v)", err)
			}
			return tx.Commit()
		}, []string{"2025-11", "2025-12"}},
		{"customer merge", func() error {
			_, err := etl.MergeCustomers(ctx, w, 1001, 1002, etl.Steward{User: "root", Role: "steward", Reason: "test"})
			return err
		}, nil},
		{"admin SQL in the shell", func() error {
			sh, err := shell.New(ctx, w, shell.Options{Principal: admin, Out: &bytes.Buffer{}, StopOnError: true})
			if err != nil {
				return err
			}
			defer sh.Close()
			return sh.Run(ctx, "test", strings.NewReader("UPDATE fact_sales SET quantity = 9 WHERE order_id = 'B5';"))
		}, []string{"2023-1"}},
	} {
		if err := c.run(); err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		checkpoint(t, w)
		trustStorage(t, w, dir)
		_, fs := lakeFactSales(t, w, dir, c.kind)
		if c.parts != nil && !slices.Equal(fs.Partitions, c.parts) {
			t.Errorf("%s: fact_sales rewrote %v, want %v", c.kind, fs.Partitions, c.parts)
		}
	}
}

// TestFactWritersRecord is a tripwire for new writers: every function of
// ckm (engine, etl, privacy… every Go file but tests) that updates or
// deletes fact rows also writes the change record (ckm_change /
// engine.RecordChange, engine.ChangeRecordSQL…), or the lake's incremental export could keep a
// stale month (see lakeBase). A write names its fact table in the SQL
// (UPDATE fact_sales) or builds it with Sprintf (UPDATE %[1]s); a built
// write whose table comes from elsewhere (a parameter: the function need
// not name a fact table) counts as a fact writer too, unless the function
// says it writes no fact table (a comment holding notFactWriter);
// writes in package-level constants need a record somewhere in their file.
func TestFactWritersRecord(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`(?i)\b(UPDATE|DELETE\s+FROM|TRUNCATE|MERGE\s+INTO)\s+(main\.)?"?fact_[a-z_]+`)
	built := regexp.MustCompile(`(?i)\b(UPDATE|DELETE\s+FROM|TRUNCATE|MERGE\s+INTO)\s+(main\.)?%(\[\d+\])?[sv]`)
	factName := regexp.MustCompile(`\bfact_[a-z_]+`)
	records := func(b []byte) bool {
		return bytes.Contains(b, []byte("ckm_change")) || bytes.Contains(b, []byte("RecordChange")) || bytes.Contains(b, []byte("ChangeRecordSQL"))
	}
	writes := func(b []byte) []byte {
		if m := named.Find(b); m != nil {
			return m
		}
		if m := built.Find(b); m != nil && (factName.Match(b) || !bytes.Contains(b, []byte(notFactWriter))) {
			return m
		}
		return nil
	}
	found := 0
	// A writer whose transaction records the change in another function
	// of its file says so (ckm:change-recorded-by NAME); NAME must record.
	recordedBy := regexp.MustCompile(`ckm:change-recorded-by ([A-Za-z_][A-Za-z0-9_]*)`)
	recordedIn := map[string][][2]string{}
	recorders := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "third_party" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if writes(b) == nil {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		f, err := parser.ParseFile(token.NewFileSet(), path, b, parser.ParseComments)
		if err != nil {
			return err
		}
		// Each function's text on its own; what is left (constants,
		// variables) with the file.
		rest := slices.Clone(b)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			// With its doc comment, where a marker may stand.
			start := fn.Pos()
			if fn.Doc != nil {
				start = fn.Doc.Pos()
			}
			from, to := int(start)-int(f.FileStart), int(fn.End())-int(f.FileStart)
			body := b[from:to]
			for k := from; k < to; k++ {
				rest[k] = ' '
			}
			if w := writes(body); w != nil {
				found++
				if by := recordedBy.FindSubmatch(body); by != nil {
					recordedIn[rel] = append(recordedIn[rel], [2]string{fn.Name.Name, string(by[1])})
				} else if !records(body) {
					t.Errorf("%s: %s changes fact rows (%s) but records no change for the lake (engine.RecordChange)", rel, fn.Name.Name, w)
				}
			}
			if records(body) {
				recorders[rel+":"+fn.Name.Name] = true
			}
		}
		if w := writes(rest); w != nil {
			found++
			if !records(b) {
				t.Errorf("%s changes fact rows (%s) but records no change for the lake (engine.RecordChange)", rel, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel, ws := range recordedIn {
		for _, w := range ws {
			if !recorders[rel+":"+w[1]] {
				t.Errorf("%s: %s says %s records its change, but %s records none (or is not a function of that file)", rel, w[0], w[1], w[1])
			}
		}
	}
	// etl/sales.go, etl/merge.go, engine/customer_history.go,
	// privacy/vault/forget.go, privacy/vault/protect.go at least.
	if found < 5 {
		t.Errorf("only %d writers found: is the pattern still right?", found)
	}
	// The pattern sees a write whose table is a parameter.
	param := []byte("func f(q Q, table string) error { _, err := q.Exec(fmt.Sprintf(`UPDATE %s SET customer_id = 1`, table)); return err }")
	if writes(param) == nil {
		t.Error("a write to a table passed as a parameter is not seen")
	}
	if marked := append([]byte("// "+notFactWriter+": staging only\n"), param...); writes(marked) != nil {
		t.Error("a write marked as no fact writer is still taken for one")
	}
}

// notFactWriter marks a function whose built UPDATE/DELETE (table from a
// parameter or variable) never writes a fact table.
const notFactWriter = "ckm:not-a-fact-writer"

// TestLakeRestoredBackup: a warehouse restored from a backup taken before
// a change the last export saw hands that change's seq out again (the
// backup's sequence state): the change made then is another change, the
// one the export saw is missing, and the export hashes everything — the
// lake equals the restored warehouse though its storage looks unchanged.
func TestLakeRestoredBackup(t *testing.T) {
	ctx := context.Background()
	w, dir := bigSalesLake(t, 2000) // one row group, on disk
	// A recorded change in 2023-01, exported.
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE fact_sales SET amount = 13.00 WHERE order_id = 'B40'`); err != nil {
		t.Fatal(err)
	}
	if err := engine.RecordChange(ctx, tx, "test", "fact_sales", 202301); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := w.DB.QueryRowContext(ctx, `SELECT max(seq) FROM ckm_change`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	checkpoint(t, w)
	if res, fs := lakeFactSales(t, w, dir, "recorded change"); !slices.Equal(fs.Partitions, []string{"2023-1"}) {
		t.Fatalf("recorded change: rewrote %v (%d row groups hashed), want [2023-1]", fs.Partitions, res.GroupsHashed)
	}
	// The backup from before it restored: the row as it was, the record
	// without the change; storage made to look unchanged.
	if _, err := w.DB.ExecContext(ctx, `UPDATE fact_sales SET amount = 10.00 WHERE order_id = 'B40';
		DELETE FROM ckm_change WHERE seq = `+strconv.FormatInt(seq, 10)); err != nil {
		t.Fatal(err)
	}
	checkpoint(t, w)
	trustStorage(t, w, dir)
	// As many changes made since, in another month: the restored sequence
	// hands out the same seq again.
	tx, err = w.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE fact_sales SET amount = 14.00 WHERE order_id = 'B1990'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ckm_change (seq, table_name, month, writer) VALUES (?, 'fact_sales', 202512, 'after restore')`, seq); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	checkpoint(t, w)
	trustStorage(t, w, dir)
	if res, _ := lakeFactSales(t, w, dir, "restored backup"); res.GroupsKept != 0 {
		t.Errorf("restored backup: %d row groups kept, want 0 (hash everything)", res.GroupsKept)
	}
}

// TestLakeKeptStateVersion2: a lake whose kept hashes an export of the
// version before the mark wrote (every change id in a list, version 2) is
// still trusted: an export after no change hashes no row group, and the
// state it keeps is a mark.
func TestLakeKeptStateVersion2(t *testing.T) {
	ctx := context.Background()
	w, dir := bigSalesLake(t, 2000) // one row group, on disk
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadLakeBase(ctx, conn, nil, true)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := dbsql.Open("sqlite3", "file:"+filepath.Join(dir, LakeCatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	for _, name := range []string{"fact_sales", "fact_interaction", "fact_campaign"} {
		st := keptState(t, dir, name)
		st.Version, st.Mark, st.Changes = 2, nil, []string{}
		for _, c := range b.changes {
			if c.table == name || c.table == "*" {
				st.Changes = append(st.Changes, c.id())
			}
		}
		js, _ := json.Marshal(st)
		if _, err := cat.ExecContext(ctx, `UPDATE ckm_lake_base SET state = ? WHERE table_name = ?`, string(js), name); err != nil {
			t.Fatal(err)
		}
	}
	if res, _ := lakeFactSales(t, w, dir, "version 2, no change"); res.GroupsHashed != 0 || res.GroupsKept < 1 {
		t.Errorf("version 2, no change: %d row groups hashed, %d kept; want 0, all", res.GroupsHashed, res.GroupsKept)
	}
	if st := keptState(t, dir, "fact_sales"); st.Version != lakeBaseVersion || st.Mark == nil || len(st.Changes) != 0 {
		t.Errorf("after a version-2 state the export kept version %d, mark %+v, changes %v", st.Version, st.Mark, st.Changes)
	}
}

// TestTablePartsTakesWarmStorage: tableParts uses the storage the
// export's warm-up read rather than reading it again. After an export,
// nothing changed: read directly, the storage matches what was kept and
// every row group of fact_sales is kept; given a warm-up whose read of
// fact_sales marks every group untrusted, every group is hashed again —
// and the hashes are the same either way.
func TestTablePartsTakesWarmStorage(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	bigSales(t, w, 300_000) // three DuckDB row groups
	dir := t.TempDir()
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: factTables}); err != nil {
		t.Fatal(err)
	}
	cat, err := openLakeCatalog(ctx, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	groups, err := storageGroups(ctx, conn, "fact_sales")
	if err != nil || len(groups) != 3 {
		t.Fatalf("fact_sales's row groups: %d, %v", len(groups), err)
	}
	parts := func(warm *storageWarmUp) (map[string]string, *lakeBase) {
		t.Helper()
		b, err := loadLakeBase(ctx, conn, cat.db, false)
		if err != nil {
			t.Fatal(err)
		}
		b.warm = warm
		p, err := b.tableParts(ctx, conn, "fact_sales")
		if err != nil {
			t.Fatal(err)
		}
		return p, b
	}
	direct, b := parts(nil)
	if b.Kept != 3 || b.Hashed != 0 {
		t.Errorf("storage read by tableParts: %d row groups kept, %d hashed; want 3, 0", b.Kept, b.Hashed)
	}
	untrusted := slices.Clone(groups)
	for i := range untrusted {
		untrusted[i].storage = ""
	}
	warm := &storageWarmUp{done: make(chan struct{}), listed: make(chan struct{}), tables: map[string]*warmTable{
		"fact_sales": {done: make(chan struct{}), groups: untrusted}}}
	close(warm.listed)
	// Not begun: tableParts reads the storage itself.
	if _, b := parts(warm); b.Kept != 3 {
		t.Errorf("a warm-up that has not begun fact_sales: %d row groups kept, want 3", b.Kept)
	}
	warm.tables["fact_sales"].started.Store(true)
	close(warm.tables["fact_sales"].done)
	close(warm.done)
	viaWarm, b := parts(warm)
	if b.Kept != 0 || b.Hashed != 3 {
		t.Errorf("storage taken from the warm-up: %d row groups kept, %d hashed; want 0, 3", b.Kept, b.Hashed)
	}
	if !maps.Equal(direct, viaWarm) || len(direct) == 0 {
		t.Errorf("fact_sales's hashes: %v read directly, %v with the warm-up's storage", direct, viaWarm)
	}
	// A warm-up that does not have the table: tableParts reads it.
	none := &storageWarmUp{done: make(chan struct{}), listed: make(chan struct{}), tables: map[string]*warmTable{}}
	close(none.listed)
	close(none.done)
	if _, b := parts(none); b.Kept != 3 {
		t.Errorf("a warm-up without fact_sales: %d row groups kept, want 3", b.Kept)
	}
}

// TestLakeOrder: an export goes first through the tables that read no
// fact table whose hashes are kept — the dimensions, the knowledge base
// but kb_model_status (a view over fact_sales), etl_run — then through the
// others in their given order (fact_sales before fact_sales_current,
// which links its files); the result keeps the given order.
func TestLakeOrder(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tables, err := lakeTables(ctx, conn, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	base, err := loadLakeBase(ctx, conn, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	src, err := newLakeSources(ctx, conn, base)
	if err != nil {
		t.Fatal(err)
	}
	var got, wantFirst, wantThen []string
	for _, i := range lakeOrder(tables, src) {
		got = append(got, tables[i].name)
	}
	for _, tb := range tables {
		switch {
		case strings.HasPrefix(tb.name, "fact_") || tb.name == "kb_model_status":
			wantThen = append(wantThen, tb.name)
		default:
			wantFirst = append(wantFirst, tb.name)
		}
	}
	if want := append(wantFirst, wantThen...); !slices.Equal(got, want) || !slices.Contains(wantThen, "kb_model_status") || !slices.Contains(wantFirst, "etl_run") {
		t.Errorf("order %v, want %v", got, want)
	}
	dir := t.TempDir()
	res, err := Lake(ctx, w, LakeOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range res.Tables {
		names = append(names, tr.Name)
	}
	var given []string
	for _, tb := range tables {
		given = append(given, tb.name)
	}
	if !slices.Equal(names, given) {
		t.Errorf("the result's tables %v, want them as given: %v", names, given)
	}
}
