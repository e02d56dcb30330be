package etl

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// TestLoadSmallSetUnderMemoryLimit loads the small set of TestLoadSmallSet
// in a warehouse limited to 256MB of memory: the same outcome per file and
// the same revenue. (Staging the web orders asked DuckDB for a 512MB JSON
// buffer, so any limit under about 600MB failed the load.)
func TestLoadSmallSetUnderMemoryLimit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	w, err := engine.Open(ctx, "", engine.Options{MemoryLimit: "256MB", TempDirectory: filepath.Join(t.TempDir(), "spill")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][5]int64{ // read, loaded, rejected, duplicates, warned
		"products.csv":         {2, 2, 0, 0, 0},
		"pos_sales_202401.csv": {7, 4, 2, 1, 1},
		"web_orders.ndjson":    {3, 1, 2, 0, 0},
	}
	for _, f := range rep.Files {
		got := [5]int64{f.Read, f.Loaded, f.Rejected, f.Duplicates, f.Warned}
		if got != want[filepath.Base(f.Path)] {
			t.Errorf("%s: read/loaded/rejected/dup/warned = %v, want %v", filepath.Base(f.Path), got, want[filepath.Base(f.Path)])
		}
	}
	if got := queryString(t, w, `SELECT CAST(sum(amount) AS VARCHAR) FROM fact_sales`); got != "2908.00" {
		t.Errorf("net revenue %s, want 2908.00", got)
	}
}

// TestLoadDefaultMemoryLimit: a load into a warehouse file opened without a
// memory_limit runs under engine.LoadMemoryLimit (1GB = 953.6 MiB, as
// DuckDB prints it) and puts DuckDB's default back after; a warehouse
// opened with one keeps it during the load.
func TestLoadDefaultMemoryLimit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	for _, c := range []struct {
		limit, during string
	}{
		{"", "953.6 MiB"},
		{"2GiB", "2.0 GiB"},
	} {
		w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{MemoryLimit: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		before := queryString(t, w, `SELECT current_setting('memory_limit')`)
		var during string
		hook := func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT current_setting('memory_limit')`).Scan(&during)
		}
		if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), BeforeCommit: []func(context.Context, *sql.Tx) error{hook}}); err != nil {
			t.Fatal(err)
		}
		if during != c.during {
			t.Errorf("opened with memory_limit %q: %q during the load, want %q", c.limit, during, c.during)
		}
		if after := queryString(t, w, `SELECT current_setting('memory_limit')`); after != before {
			t.Errorf("opened with memory_limit %q: %q after the load, want %q as before", c.limit, after, before)
		}
		w.Close()
	}
}

// rowQuerier is a database, connection or transaction.
type rowQuerier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// duckThreads is DuckDB's threads setting as q sees it.
func duckThreads(t *testing.T, q rowQuerier) (n int64) {
	t.Helper()
	if err := q.QueryRowContext(context.Background(), `SELECT CAST(current_setting('threads') AS BIGINT)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSmallLoadOneThread: a load of a few kilobytes into a warehouse
// opened without a threads setting runs its steps and its commit hooks
// (rollups refreshed in place) on one DuckDB thread and puts the earlier
// threads back after; a warehouse opened with threads keeps them; a load
// above SmallLoadBytes keeps the warehouse's threads unless it has at
// most OneThreadLines lines.
func TestSmallLoadOneThread(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	for _, c := range []struct {
		threads int
		during  int64
	}{
		{0, 1},
		{2, 2},
	} {
		w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{Threads: c.threads})
		if err != nil {
			t.Fatal(err)
		}
		threads := func(q rowQuerier) int64 { return duckThreads(t, q) }
		before := threads(w.DB)
		var during, hook, afterHook int64
		opts := Options{AsOf: asOf2024(),
			AfterIdentity: func(ctx context.Context, tx *sql.Tx) error { during = threads(tx); return nil },
			BeforeCommit:  []func(context.Context, *sql.Tx) error{func(ctx context.Context, tx *sql.Tx) error { hook = threads(tx); return nil }},
			AfterCommit:   []func(context.Context, *sql.Tx) error{func(ctx context.Context, tx *sql.Tx) error { afterHook = threads(tx); return nil }}}
		if _, err := Load(ctx, w, []string{dir}, opts); err != nil {
			t.Fatal(err)
		}
		if during != c.during {
			t.Errorf("opened with threads %d: %d threads during the load, want %d", c.threads, during, c.during)
		}
		if hook != c.during || afterHook != c.during {
			t.Errorf("opened with threads %d: %d threads in the commit hooks, %d after commit, want %d as in the load", c.threads, hook, afterHook, c.during)
		}
		if after := threads(w.DB); after != before {
			t.Errorf("opened with threads %d: %d threads after the load, want %d as before", c.threads, after, before)
		}
		// Above SmallLoadBytes and OneThreadLines (or with its lines not
		// counted) nothing changes; above SmallLoadBytes with at most
		// OneThreadLines lines the load runs on one thread too.
		conn, err := w.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		big := FileReport{Size: SmallLoadBytes + 1}
		for _, l := range []struct {
			jobs []*fileJob
			want int64
		}{
			{[]*fileJob{{FileReport: big}}, before},
			{[]*fileJob{{FileReport: big, x: &extraction{records: OneThreadLines / 2}}, {x: &extraction{records: OneThreadLines/2 + 1}}}, before},
			{[]*fileJob{{FileReport: big, x: &extraction{records: OneThreadLines / 2}}, {x: &extraction{records: OneThreadLines / 2}}}, c.during},
		} {
			restore, _, err := smallLoadThreads(ctx, w, conn, l.jobs)
			if err != nil {
				t.Fatal(err)
			}
			if got := threads(conn); got != l.want {
				t.Errorf("opened with threads %d: %d threads for a load above SmallLoadBytes of %d lines, want %d", c.threads, got, jobRecords(l.jobs), l.want)
			}
			restore()
			if got := threads(conn); got != before {
				t.Errorf("opened with threads %d: %d threads after, want %d", c.threads, got, before)
			}
		}
		conn.Close()
		w.Close()
	}
}

// TestSmallLoadRefreshOverManySales: a small load into a warehouse of more
// than OneThreadLines sales lines still runs on one DuckDB thread, but its
// after-commit hooks (the rollup refresh, which recomputes the touched
// periods from every line of the warehouse in them) get the warehouse's
// threads back; into a warehouse of fewer lines they stay on one
// (TestSmallLoadOneThread); into one of more than manyThreadSales lines
// the whole load keeps the warehouse's threads.
func TestSmallLoadRefreshOverManySales(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	smallSet(t, dir)
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	threads := func(q rowQuerier) int64 { return duckThreads(t, q) }
	before := threads(w.DB)
	if before < 2 {
		t.Skipf("DuckDB runs %d thread here: nothing to get back", before)
	}
	// Earlier sales, one more line than OneThreadLines, each its own order.
	if _, err := w.DB.ExecContext(ctx, fmt.Sprintf(`INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id,
		product_key, channel_key, quantity, unit_price, amount, is_return, etl_run_id, source, line_key)
		SELECT 'E' || i, 1, 20230101, TIMESTAMP '2023-01-01 10:00:00', -1, -1, -1, -1, 1, 1, 1, false, 0, 'earlier', '1'
		FROM range(%d) r(i)`, OneThreadLines+1)); err != nil {
		t.Fatal(err)
	}
	var during, hook int64
	opts := Options{AsOf: asOf2024(),
		AfterIdentity: func(ctx context.Context, tx *sql.Tx) error { during = threads(tx); return nil },
		AfterCommit:   []func(context.Context, *sql.Tx) error{func(ctx context.Context, tx *sql.Tx) error { hook = threads(tx); return nil }}}
	rep, err := Load(ctx, w, []string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.AfterCommit != "" {
		t.Fatal(rep.AfterCommit)
	}
	if during != 1 || hook != before {
		t.Errorf("%d threads during the load and %d after commit, want 1 and the warehouse's %d", during, hook, before)
	}
	if after := threads(w.DB); after != before {
		t.Errorf("%d threads after the load, want %d as before", after, before)
	}
	// Above manyThreadSales (lowered here from ManyThreadSales, 2.5 M
	// lines) a small load keeps the warehouse's threads throughout.
	defer func(n int64) { manyThreadSales = n }(manyThreadSales)
	manyThreadSales = OneThreadLines
	more := t.TempDir()
	writeFile(t, more, "pos_sales_202402.csv", "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"S9,1,ST01,北京朝阳店,张三,2024/2/5 14:22,M00000001,,P001,1,399.00,0,399.00\n", false)
	during, hook = 0, 0
	if rep, err = Load(ctx, w, []string{more}, opts); err != nil {
		t.Fatal(err)
	}
	if rep.Loaded != 1 {
		t.Fatalf("loaded %d lines, want 1", rep.Loaded)
	}
	if during != before || hook != before {
		t.Errorf("into more than manyThreadSales lines: %d threads during the load and %d after commit, want the warehouse's %d", during, hook, before)
	}
	if after := threads(w.DB); after != before {
		t.Errorf("%d threads after the second load, want %d as before", after, before)
	}
}

// TestLoadAllocatorSettings: a load (above SmallLoadBytes: memoryKnobs
// stands for it on the small set) runs under LoadAllocatorSettings
// (jemalloc's background thread on, flush threshold 32MB, as DuckDB prints
// them in its commit hooks) and puts DuckDB's defaults back after.
func TestLoadAllocatorSettings(t *testing.T) {
	ctx := context.Background()
	w, dir := smallSetWarehouse(t)
	const q = `SELECT current_setting('allocator_background_threads')::VARCHAR || ' ' || current_setting('allocator_flush_threshold')`
	before := queryString(t, w, q)
	if before != "false 128.0 MiB" {
		t.Fatalf("DuckDB's defaults %q, want \"false 128.0 MiB\"", before)
	}
	var during string
	hook := func(ctx context.Context, tx *sql.Tx) error { return tx.QueryRowContext(ctx, q).Scan(&during) }
	if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), memoryKnobs: true, BeforeCommit: []func(context.Context, *sql.Tx) error{hook}}); err != nil {
		t.Fatal(err)
	}
	if during != "true 30.5 MiB" {
		t.Errorf("allocator settings during the load %q, want \"true 30.5 MiB\" (32MB)", during)
	}
	if after := queryString(t, w, q); after != before {
		t.Errorf("allocator settings after the load %q, want %q as before", after, before)
	}
}

// TestLoadReleasesMallocFree: while a load (above SmallLoadBytes:
// memoryKnobs) runs, the C library's free
// memory is given back every mallocReleaseEvery; after it, no more.
func TestLoadReleasesMallocFree(t *testing.T) {
	ctx := context.Background()
	w, dir := smallSetWarehouse(t)
	start := mallocReleases.Load()
	var during int64
	hook := func(ctx context.Context, tx *sql.Tx) error {
		time.Sleep(mallocReleaseEvery*2 + mallocReleaseEvery/2)
		during = mallocReleases.Load() - start
		return nil
	}
	if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), memoryKnobs: true, BeforeCommit: []func(context.Context, *sql.Tx) error{hook}}); err != nil {
		t.Fatal(err)
	}
	if during < 2 {
		t.Errorf("%d releases in %v of a load, want at least 2 (one per %v)", during, mallocReleaseEvery*5/2, mallocReleaseEvery)
	}
	after := mallocReleases.Load()
	time.Sleep(mallocReleaseEvery * 2)
	if n := mallocReleases.Load(); n != after {
		t.Errorf("%d releases after the load ended, want none", n-after)
	}
}

// smallSetWarehouse writes TestLoadSmallSet's small set into a new
// directory and opens a new warehouse file with default options (closed
// when the test ends): what a load with the load's own settings is
// tested on.
func smallSetWarehouse(t *testing.T) (*engine.Warehouse, string) {
	t.Helper()
	dir := t.TempDir()
	smallSet(t, dir)
	w, err := engine.Open(context.Background(), filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, dir
}

// gcPercent is Go's GOGC as the process runs it now.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// TestLoadLowersGoGC: a load's transaction (above SmallLoadBytes:
// memoryKnobs) runs with Go's GOGC at
// LoadGCPercent (as its commit hooks see it) and puts the earlier one
// back after; a process already running a lower GOGC, or with the
// collector off, keeps its own. The memory Go freed before the load is
// given back to the system when the transaction begins: 64 MiB freed just
// before the load are not idle in Go's heap there.
func TestLoadLowersGoGC(t *testing.T) {
	ctx := context.Background()
	defer debug.SetGCPercent(gcPercent())
	for _, before := range []int{100, 300, 10, -1} {
		w, dir := smallSetWarehouse(t)
		debug.SetGCPercent(before)
		var during int
		var ms runtime.MemStats
		hook := func(ctx context.Context, tx *sql.Tx) error {
			during = gcPercent()
			runtime.ReadMemStats(&ms)
			return nil
		}
		garbage := make([]byte, 64<<20)
		for i := range garbage {
			garbage[i] = byte(i)
		}
		garbage = nil
		runtime.GC()
		if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), memoryKnobs: true, BeforeCommit: []func(context.Context, *sql.Tx) error{hook}}); err != nil {
			t.Fatal(err)
		}
		want := LoadGCPercent
		if before <= LoadGCPercent {
			want = before
		}
		if during != want {
			t.Errorf("GOGC %d before the load: %d during it, want %d", before, during, want)
		}
		if after := gcPercent(); after != before {
			t.Errorf("GOGC %d before the load: %d after it, want it back", before, after)
		}
		if kept := ms.HeapIdle - ms.HeapReleased; kept >= 32<<20 {
			t.Errorf("GOGC %d before the load: %d MiB idle in Go's heap and not given back during it, want under 32 MiB of the 64 MiB freed before", before, kept>>20)
		}
	}
}

// TestLoadJemallocDecay: a load above SmallLoadBytes (memoryKnobs) runs
// with DuckDB's own jemalloc decay times (1000/1000 ms, as its commit hooks
// see them): a shorter decay cost 10–15 % of a large load's CPU (load.go).
func TestLoadJemallocDecay(t *testing.T) {
	ctx := context.Background()
	w, dir := smallSetWarehouse(t)
	if _, _, ok := engine.JemallocDecay(); !ok {
		t.Skip("DuckDB without its own jemalloc")
	}
	var during [2]int
	hook := func(ctx context.Context, tx *sql.Tx) error {
		during[0], during[1], _ = engine.JemallocDecay()
		return nil
	}
	if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), memoryKnobs: true, BeforeCommit: []func(context.Context, *sql.Tx) error{hook}}); err != nil {
		t.Fatal(err)
	}
	if want := [2]int{1000, 1000}; during != want {
		t.Errorf("jemalloc decay during the load %v ms, want DuckDB's %v", during, want)
	}
}

// TestDroppedTempTableKeepsMemoryUntilCommit pins down the DuckDB
// behaviour a load's memory is planned around: a TEMP table dropped or
// replaced inside a transaction keeps its blocks (in memory or spilled)
// until the transaction ends — one made in that transaction, and one
// committed before it as staging ahead commits its tables — so dropping a
// load's working tables as soon as they are read frees nothing before its
// commit (what only staging ahead reads is dropped before its commit:
// TestStageAheadReleasesCleaningTables). Should a DuckDB release them at
// the drop, this test fails, and dropping early becomes a way to a
// smaller load.
func TestDroppedTempTableKeepsMemoryUntilCommit(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{MemoryLimit: "1GB", TempDirectory: filepath.Join(t.TempDir(), "spill")})
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
		var mb float64
		if err := conn.QueryRowContext(ctx, `SELECT coalesce(sum(memory_usage_bytes + temporary_storage_bytes), 0) / 1e6
			FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'`).Scan(&mb); err != nil {
			t.Fatal(err)
		}
		return mb
	}
	exec := func(q string) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const million = `AS SELECT i, md5(CAST(i AS VARCHAR)) AS h FROM range(1000000) r(i)`
	before := held()
	exec(`CREATE TEMP TABLE staged ` + million) // committed before the transaction
	made := held() - before
	if made < 20 {
		t.Fatalf("a million-row TEMP table holds %.1f MB, want at least 20", made)
	}
	exec(`BEGIN`)
	exec(`CREATE TEMP TABLE scratch ` + million)
	exec(`DROP TABLE scratch`)
	exec(`DROP TABLE staged`)
	exec(`CREATE OR REPLACE TEMP TABLE again ` + million)
	exec(`CREATE OR REPLACE TEMP TABLE again AS SELECT 1 AS i`)
	// Three million-row tables, every one dropped or replaced by now.
	if kept := held() - before; kept < 3*made*0.9 {
		t.Errorf("after two DROPs and a replace inside the transaction %.1f MB of 3 × %.1f MB held, want all (DuckDB now frees at the drop: drop a load's tables early)", kept, made)
	}
	exec(`COMMIT`)
	if kept := held() - before; kept > made*0.1 {
		t.Errorf("after COMMIT %.1f MB of %.1f MB still held, want it freed", kept, made)
	}
}

// TestSmallLoadKeepsMemorySettings: a load of at most SmallLoadBytes runs
// with the process's and DuckDB's own memory settings — Go's GOGC, the
// allocator settings and jemalloc decay as before the load, and no malloc
// release while it runs — and loads what the load with the large load's
// settings (memoryKnobs) loads.
func TestSmallLoadKeepsMemorySettings(t *testing.T) {
	ctx := context.Background()
	defer debug.SetGCPercent(gcPercent())
	debug.SetGCPercent(100)
	const q = `SELECT current_setting('allocator_background_threads')::VARCHAR || ' ' || current_setting('allocator_flush_threshold')`
	var reps [2]*Report
	for i, knobs := range []bool{false, true} {
		w, dir := smallSetWarehouse(t)
		before := queryString(t, w, q)
		dirty, muzzy, jemalloc := engine.JemallocDecay()
		var gogc int
		var settings string
		var decay [2]int
		var releases int64
		hook := func(ctx context.Context, tx *sql.Tx) error {
			start := mallocReleases.Load()
			time.Sleep(mallocReleaseEvery * 3 / 2)
			releases = mallocReleases.Load() - start
			gogc = gcPercent()
			decay[0], decay[1], _ = engine.JemallocDecay()
			return tx.QueryRowContext(ctx, q).Scan(&settings)
		}
		rep, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), memoryKnobs: knobs, BeforeCommit: []func(context.Context, *sql.Tx) error{hook}})
		if err != nil {
			t.Fatal(err)
		}
		reps[i] = rep
		if knobs {
			if gogc != LoadGCPercent || settings != "true 30.5 MiB" || releases < 1 {
				t.Errorf("with the large load's settings: GOGC %d, allocator %q, %d malloc releases; want %d, \"true 30.5 MiB\", at least 1",
					gogc, settings, releases, LoadGCPercent)
			}
			continue
		}
		if gogc != 100 {
			t.Errorf("small load: GOGC %d while it ran, want the process's 100", gogc)
		}
		if settings != before {
			t.Errorf("small load: allocator settings %q while it ran, want DuckDB's %q", settings, before)
		}
		if jemalloc && (decay[0] != dirty || decay[1] != muzzy) {
			t.Errorf("small load: jemalloc decay %v ms while it ran, want %d/%d as before", decay, dirty, muzzy)
		}
		if releases != 0 {
			t.Errorf("small load: %d malloc releases in %v of it, want none", releases, mallocReleaseEvery*3/2)
		}
	}
	if a, b := reps[0], reps[1]; a.Read != b.Read || a.Loaded != b.Loaded || a.Rejected != b.Rejected || a.Duplicates != b.Duplicates || a.Customers != b.Customers || a.Read == 0 {
		t.Errorf("small load read/loaded/rejected/duplicates/customers %d/%d/%d/%d/%d, with the large load's settings %d/%d/%d/%d/%d; want the same",
			a.Read, a.Loaded, a.Rejected, a.Duplicates, a.Customers, b.Read, b.Loaded, b.Rejected, b.Duplicates, b.Customers)
	}
}

// TestCancelledLoadPutsSettingsBack: a load whose context is cancelled in
// its transaction (ckm serve stopping a scheduled load) puts the
// database's threads, memory_limit and allocator settings back, although
// database/sql closes the load's own connection when the context ends.
// Before, the settings were put back on that connection: they stayed the
// load's (threads 1 for a small load, for the server's whole life), or the
// reset raced the close and panicked.
func TestCancelledLoadPutsSettingsBack(t *testing.T) {
	w, dir := smallSetWarehouse(t)
	if _, err := w.DB.Exec(`SET threads = 3`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT current_setting('threads')::VARCHAR || ' ' || current_setting('memory_limit') || ' ' ||
		current_setting('allocator_background_threads')::VARCHAR || ' ' || current_setting('allocator_flush_threshold')`
	before := queryString(t, w, q)
	for _, knobs := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		var during string
		hook := func(hctx context.Context, tx *sql.Tx) error {
			if err := tx.QueryRowContext(hctx, q).Scan(&during); err != nil {
				return err
			}
			cancel()
			// database/sql's watcher of the transaction rolls it back and
			// closes the connection.
			time.Sleep(200 * time.Millisecond)
			return hctx.Err()
		}
		_, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), memoryKnobs: knobs, stageInLoad: true,
			BeforeCommit: []func(context.Context, *sql.Tx) error{hook}})
		if err == nil {
			t.Fatalf("knobs %v: the cancelled load committed", knobs)
		}
		if during == before {
			t.Fatalf("knobs %v: the load ran under the settings %q it found: nothing to put back", knobs, before)
		}
		if after := queryString(t, w, q); after != before {
			t.Errorf("knobs %v: settings %q after the cancelled load (%q during it), want %q back", knobs, after, during, before)
		}
		if n := queryInt(t, w, `SELECT count(*) FROM etl_run WHERE status = 'committed'`); n != 0 {
			t.Errorf("knobs %v: %d committed runs after a cancelled load", knobs, n)
		}
	}
}

// TestLoadHugePages: a load of more than HugePagesMinBytes and at most
// HugePagesMaxBytes of files maps its memory in huge pages while it runs,
// and one outside those bounds does not (the bounds moved around the
// small set's size); after either the advice is gone.
func TestLoadHugePages(t *testing.T) {
	ctx := context.Background()
	defer func(lo, hi int64) { HugePagesMinBytes, HugePagesMaxBytes = lo, hi }(HugePagesMinBytes, HugePagesMaxBytes)
	for _, c := range []struct {
		lo, hi int64
		during bool
	}{{0, 1 << 30, true}, {1, 2, false}, {1 << 30, 2 << 30, false}} {
		HugePagesMinBytes, HugePagesMaxBytes = c.lo, c.hi
		dir := t.TempDir()
		smallSet(t, dir)
		w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var during bool
		hook := func(context.Context, *sql.Tx) error {
			during = engine.HugePagesAdvised()
			return nil
		}
		if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024(), BeforeCommit: []func(context.Context, *sql.Tx) error{hook}}); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if during != c.during {
			t.Errorf("bounds %d–%d bytes: huge pages during the load %v, want %v", c.lo, c.hi, during, c.during)
		}
		if engine.HugePagesAdvised() {
			t.Errorf("bounds %d–%d bytes: huge pages still advised after the load", c.lo, c.hi)
		}
	}
}
