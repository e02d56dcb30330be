package export

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
	"github.com/ckm-dev/ckm/shell"
)

// TestLakeLookupViews: on a protected warehouse the masked contacts and
// campaign responses (views that look each token's mask up in
// vault_display) are fingerprinted again only where their rows changed or
// hold a token whose mask was added since the last export; any other
// change of vault_display (an admin's edit, ckm forget) checks them whole.
// After each change the incremental lake equals a full export.
func TestLakeLookupViews(t *testing.T) {
	ctx := context.Background()
	w, v, kek := protectedVault(t)
	dir := filepath.Join(t.TempDir(), "lake")
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	var contacts, tokens int
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE regexp_matches(interaction_id, '`+privacy.TokenPattern+`')) FROM fact_interaction`).Scan(&contacts, &tokens); err != nil {
		t.Fatal(err)
	}
	if contacts == 0 || tokens == 0 {
		t.Fatalf("the protected load has %d contacts, %d with a token: nothing to test", contacts, tokens)
	}
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := w.DB.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	export := func(what string) map[string]LakeTableResult {
		t.Helper()
		res, err := Lake(ctx, w, LakeOptions{Dir: dir})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		sameAsFull(t, w, dir, what)
		out := map[string]LakeTableResult{}
		for _, tr := range res.Tables {
			out[tr.Name] = tr
		}
		return out
	}
	want := func(what string, got LakeTableResult, check string, parts []string) {
		t.Helper()
		if got.Check != check || !slices.Equal(got.Partitions, parts) {
			t.Errorf("%s: %s checked by %q, rewrote %v; want %q, %v", what, got.Name, got.Check, got.Partitions, check, parts)
		}
	}
	// A second load through etl: another world's customers (new tokens and
	// masks), their sales, contacts and responses.
	src := t.TempDir()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: src, Customers: 20, Days: 10, Seed: 12, Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	asOf, _ := time.ParseInLocation(time.DateOnly, exp.ExportDate, time.Local)
	if _, err := etl.Load(ctx, w, []string{src}, etl.Options{AsOf: asOf.Add(24*time.Hour - time.Second), Vault: v}); err != nil {
		t.Fatal(err)
	}
	c0 := export("a load of new customers")
	if f := c0["fact_interaction"]; f.Check != LakeCheckLookup {
		t.Errorf("a load of new customers: fact_interaction checked by %q, want %q", f.Check, LakeCheckLookup)
	}
	tok := func(kind string, i int) string { return fmt.Sprintf("t%s_LOOKUPTEST%014d", kind, i) }
	var first int
	if err := w.DB.QueryRowContext(ctx, `SELECT min(date_key) FROM fact_interaction WHERE date_key > 0`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	firstPart := fmt.Sprintf("%d-%d", first/10000, first/100%100)

	// New customers' masks only: no contact or response holds their tokens.
	exec(`INSERT INTO vault_display VALUES ('`+tok("mo", 1)+`', 'mobile', '+86 139****0001'), ('`+tok("em", 2)+`', 'email', 'n***@example.com')`,
		`INSERT INTO dim_customer (customer_key, customer_id, mobile, email, customer_type, valid_from, valid_to, is_current)
			VALUES (900001, 900001, '`+tok("mo", 1)+`', '`+tok("em", 2)+`', 'potential', TIMESTAMP '2025-01-01', TIMESTAMP '9999-12-31', true)`)
	c := export("customers added")
	want("customers added", c["fact_interaction"], LakeCheckLookup, nil)
	want("customers added", c["fact_campaign"], LakeCheckLookup, nil)

	// A contact and a response in the first month whose mobile token has
	// no mask yet (stars), then its mask added: only that month changes.
	exec(`INSERT INTO fact_interaction (interaction_id, date_key, customer_key, customer_id)
			VALUES ('`+tok("mo", 3)+`|lookup-test', `+fmt.Sprint(first)+`, -1, -1)`,
		`INSERT INTO fact_campaign (response_id, date_key, customer_key, customer_id)
			VALUES ('C-LOOKUP|`+tok("mo", 3)+`', `+fmt.Sprint(first)+`, -1, -1)`)
	c = export("a contact whose token has no mask")
	want("a contact whose token has no mask", c["fact_interaction"], LakeCheckLookup, []string{firstPart})
	exec(`INSERT INTO vault_display VALUES ('` + tok("mo", 3) + `', 'mobile', '+86 139****0003')`)
	c = export("a mask added for a token old rows hold")
	want("a mask added for a token old rows hold", c["fact_interaction"], LakeCheckLookup, []string{firstPart})
	want("a mask added for a token old rows hold", c["fact_campaign"], LakeCheckLookup, []string{firstPart})
	snap, err := OpenLakeSnapshot(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var shown int
	if err := w.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+overFiles(t, snap.Tables["fact_interaction"])+" WHERE interaction_id = '+86 139****0003|lookup-test'").Scan(&shown); err != nil || shown != 1 {
		t.Errorf("the lake's contact shows the added mask %d times (%v), want 1", shown, err)
	}

	// A customer's new version (SCD2): the old one closed in place, the new
	// one with a new mobile and its mask.
	var cust int64
	if err := w.DB.QueryRowContext(ctx, `SELECT min(customer_id) FROM dim_customer WHERE customer_id > 0 AND is_current`).Scan(&cust); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO vault_display VALUES ('`+tok("mo", 4)+`', 'mobile', '+86 139****0004')`,
		fmt.Sprintf(`INSERT INTO dim_customer SELECT * REPLACE (900002 AS customer_key, '%s' AS mobile, TIMESTAMP '2025-06-01' AS valid_from) FROM dim_customer WHERE customer_id = %d AND is_current`, tok("mo", 4), cust),
		fmt.Sprintf(`UPDATE dim_customer SET valid_to = TIMESTAMP '2025-06-01', is_current = false WHERE customer_id = %d AND is_current AND customer_key <> 900002`, cust))
	export("SCD2 change of a customer")

	// Key rotation changes no row.
	next, _ := vault.ParseKEK(vault.NewKEK())
	if err := vault.Rotate(ctx, w.DB, kek, next); err != nil {
		t.Fatal(err)
	}
	c = export("key rotation")
	for _, name := range []string{"fact_interaction", "fact_campaign", "dim_customer"} {
		// Not read (sources) or re-checked from its last snapshot's state.
		if f := c[name]; f.Changed || f.Check != LakeCheckSources && f.Check != LakeCheckLookup && f.Check != LakeCheckWritten {
			t.Errorf("key rotation: %s changed %v, checked by %q", name, f.Changed, f.Check)
		}
	}

	// An admin edits a mask old contacts show: the whole output is checked.
	var held string
	var heldAt int
	if err := w.DB.QueryRowContext(ctx, `SELECT d.token, min(f.date_key) FROM fact_interaction f JOIN vault_display d ON d.token = split_part(f.interaction_id, '|', 1)
		WHERE f.date_key > 0 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`).Scan(&held, &heldAt); err != nil {
		t.Fatal(err)
	}
	sh, err := shell.New(ctx, w, shell.Options{Principal: privacy.Principal{User: "root", Role: privacy.Admin}, Out: &bytes.Buffer{}, StopOnError: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Run(ctx, "test", strings.NewReader("UPDATE vault_display SET display = '+86 100****0000' WHERE token = '"+held+"';")); err != nil {
		t.Fatal(err)
	}
	sh.Close()
	c = export("an admin's edit of a mask")
	if f := c["fact_interaction"]; f.Check != LakeCheckOutput || !f.Changed {
		t.Errorf("after an admin's edit of a mask fact_interaction was checked by %q, changed %v; want %q, changed", f.Check, f.Changed, LakeCheckOutput)
	}

	// ckm forget removes masks and keys.
	var forget int64
	if err := w.DB.QueryRowContext(ctx, `SELECT min(customer_id) FROM fact_interaction WHERE customer_id > 0 AND interaction_id IS NOT NULL`).Scan(&forget); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Forget(ctx, w.DB, forget, "root", "request 7"); err != nil {
		t.Fatal(err)
	}
	c = export("ckm forget")
	if f := c["fact_interaction"]; f.Check != LakeCheckOutput || !f.Changed {
		t.Errorf("after ckm forget fact_interaction was checked by %q, changed %v; want %q, changed", f.Check, f.Changed, LakeCheckOutput)
	}
	// And the next load that only adds masks takes the short way again.
	exec(`INSERT INTO vault_display VALUES ('` + tok("mo", 5) + `', 'mobile', '+86 139****0005')`)
	c = export("customers added after forget")
	want("customers added after forget", c["fact_interaction"], LakeCheckLookup, nil)
}

// TestLakeLookupPlan: the analyst's views of a protected warehouse read as
// look-ups by token; a view that is not a row-by-row mapping of its base
// table and look-ups does not.
func TestLakeLookupPlan(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	plan := func(name string) *lakeLookup {
		t.Helper()
		s, err := newLakeSources(ctx, conn, &lakeBase{})
		if err != nil {
			t.Fatal(err)
		}
		tables, err := lakeTables(ctx, conn, []string{name}, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.signature(ctx, tables[0], false); err != nil {
			t.Fatal(err)
		}
		return s.lookupPlan(tables[0], s.deps[name])
	}
	for _, c := range []struct {
		name, base, alias string
		keys              int
	}{
		{"fact_interaction", "fact_interaction", "", 2},
		{"fact_campaign", "fact_campaign", "", 1},
		{"dim_customer", "dim_customer", "d", 4},
	} {
		lk := plan(c.name)
		if lk == nil || lk.base != c.base || lk.alias != c.alias || len(lk.keys) != c.keys {
			t.Errorf("%s: plan %+v, want base %s alias %q and %d keys", c.name, lk, c.base, c.alias, c.keys)
		}
	}
	for _, def := range []string{
		// Another table's rows.
		`SELECT * REPLACE ((SELECT max(d.display) FROM main.vault_display d) AS response_id) FROM main.fact_campaign`,
		// A window over other rows.
		`SELECT * REPLACE (CAST(count(*) OVER () AS VARCHAR) || (SELECT d.display FROM main.vault_display d WHERE d.token = response_id) AS response_id) FROM main.fact_campaign`,
		// An aggregate of the whole table.
		`SELECT max(response_id) || (SELECT d.display FROM main.vault_display d WHERE d.token = max(response_id)) AS response_id FROM main.fact_campaign`,
		// A look-up by a key the look-up table has itself.
		`SELECT * REPLACE ((SELECT d.display FROM main.vault_display d WHERE d.token = token) AS response_id) FROM main.fact_campaign`,
		// Rows moved to another month.
		`SELECT * REPLACE (date_key + 100 AS date_key, (SELECT d.display FROM main.vault_display d WHERE d.token = response_id) AS response_id) FROM main.fact_campaign`,
		// A macro that reads a table.
		`SELECT * REPLACE (ckm_test_count(response_id) || (SELECT d.display FROM main.vault_display d WHERE d.token = response_id) AS response_id) FROM main.fact_campaign`,
		// A join's kind condition on another join's row (schema v21's form
		// is the join's own: ON i.token = … AND i.kind = '…').
		`SELECT * REPLACE (coalesce(b.display, a.display) AS response_id) FROM main.fact_campaign f
			LEFT JOIN main.vault_display a ON a.token = f.response_id
			LEFT JOIN main.vault_display b ON b.token = f.response_id AND a.kind = 'mobile'`,
	} {
		if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE MACRO ckm_test_count(x) AS (SELECT CAST(count(*) AS VARCHAR) FROM main.fact_campaign)`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE VIEW analyst.fact_campaign AS `+def); err != nil {
			t.Fatalf("%s: %v", def, err)
		}
		if lk := plan("fact_campaign"); lk != nil {
			t.Errorf("%s: read as look-ups %+v", def, lk)
		}
	}
}

// TestLakeLinksFilterView: when an incremental export rewrites a partition
// of fact_sales and fact_sales_current's rows there are the same rows, the
// view's partition is the same file, hard-linked, not a second COPY; when
// they differ (a reversal line the view leaves out) it is written from the
// view. Either way the lake equals a full export.
func TestLakeLinksFilterView(t *testing.T) {
	ctx := context.Background()
	w, dir := smallLake(t)
	step := func(what string, linked bool) {
		t.Helper()
		res, err := Lake(ctx, w, LakeOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		var parts [2][]string
		for _, tr := range res.Tables {
			switch tr.Name {
			case "fact_sales":
				parts[0] = tr.Partitions
			case "fact_sales_current":
				parts[1] = tr.Partitions
			}
		}
		if !slices.Equal(parts[0], []string{"2025-3"}) || !slices.Equal(parts[1], []string{"2025-3"}) {
			t.Fatalf("%s: rewrote fact_sales %v, fact_sales_current %v; want [2025-3] both", what, parts[0], parts[1])
		}
		snap, err := OpenLakeSnapshot(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		// fact_sales may hold the month in more than one file (a day
		// appended to it: lakeAppend); fact_sales_current's one file is
		// one of them, or none.
		files := func(name string) []os.FileInfo {
			t.Helper()
			var found []os.FileInfo
			for _, f := range lakeFiles(t, snap.Tables[name]) {
				if strings.Contains(f, filepath.Join("year=2025", "month=3")) {
					st, err := os.Stat(f)
					if err != nil {
						t.Fatal(err)
					}
					found = append(found, st)
				}
			}
			return found
		}
		cur := files("fact_sales_current")
		if len(cur) != 1 {
			t.Fatalf("%s: fact_sales_current has %d files for 2025-3", what, len(cur))
		}
		same := slices.ContainsFunc(files("fact_sales"), func(st os.FileInfo) bool { return os.SameFile(st, cur[0]) })
		if same != linked {
			t.Errorf("%s: fact_sales_current's 2025-3 file is fact_sales's: %v, want %v", what, same, linked)
		}
		sameAsFull(t, w, dir, what)
	}
	var reversals int
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM fact_sales WHERE date_key BETWEEN 20250300 AND 20250399 AND (is_reversal OR restated_by_run IS NOT NULL)`).Scan(&reversals); err != nil {
		t.Fatal(err)
	}
	if reversals != 0 {
		t.Fatalf("the small warehouse has %d reversed or restated lines in 2025-03", reversals)
	}
	addDay(t, w, 8, "20250315")
	step("a one-day load", true)
	addDay(t, w, 9, "20250317")
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, is_reversal, etl_run_id)
		VALUES ('R8', 2, 20250316, 1, 1001, 1, 1, -1, 199.00, -199.00, false, true, 8)`); err != nil {
		t.Fatal(err)
	}
	step("a day with a reversal line", false)
}

// TestLakeStorageWarmMS: an export reports when the storage warm-up
// finished, from its own start: after the start and no later than the
// export returned (it waits for the warm-up), on a first and a second
// export.
func TestLakeStorageWarmMS(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	bigSales(t, w, 2000)
	dir := t.TempDir()
	for _, kind := range []string{"first", "incremental"} {
		start := time.Now()
		res, err := Lake(ctx, w, LakeOptions{Dir: dir, Tables: factTables})
		took := float64(time.Since(start).Microseconds()) / 1000
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if res.StorageWarmMS <= 0 || res.StorageWarmMS > took {
			t.Errorf("%s export: storage warm-up done at %.3f ms, want within the export's %.3f ms", kind, res.StorageWarmMS, took)
		}
	}
}

// TestWarmStorage: the warm-up reads the storage of the fact tables whose
// hashes are kept, leaves nothing running once stopped (the warehouse
// closes), and stops at once when its context is done.
func TestWarmStorage(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	bigSales(t, w, 2000)
	u := warmStorage(ctx, w.DB)
	u.wait()
	// It read fact_sales's storage as tableParts would.
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := storageGroups(ctx, conn, "fact_sales")
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := u.storage(ctx, "fact_sales")
	if !ok || len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("the warm-up's storage of fact_sales: %v (%v), read directly: %v", got, ok, want)
	}
	if _, ok := u.storage(ctx, "dim_customer"); ok {
		t.Error("the warm-up has the storage of dim_customer, which it does not read")
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	start := time.Now()
	warmStorage(done, w.DB).wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a cancelled warm-up took %v to stop", d)
	}
	if err := w.Close(); err != nil {
		t.Errorf("closing the warehouse after the warm-up: %v", err)
	}
}

// TestLakeMaskByNameFollowsVault: a table without a masked view whose
// column is masked by its name (an admin's contact list holding mobile
// tokens) shows each token's mask from vault_display; a mask added there
// alone reaches the lake at the next incremental export.
func TestLakeMaskByNameFollowsVault(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	const tok = "tmo_MASKBYNAMETEST0000000000"
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE kb_contact AS SELECT 1 AS customer_id, '`+tok+`' AS mobile`); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lake")
	shown := func() string {
		t.Helper()
		if _, err := Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
			t.Fatal(err)
		}
		snap, err := OpenLakeSnapshot(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		var m string
		if err := w.DB.QueryRowContext(ctx, "SELECT mobile FROM "+overFiles(t, snap.Tables["kb_contact"])).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := shown(); m != "****" {
		t.Fatalf("a token without a kept mask shows %q, want ****", m)
	}
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO vault_display VALUES ('`+tok+`', 'mobile', '+86 139****0009')`); err != nil {
		t.Fatal(err)
	}
	if m := shown(); m != "+86 139****0009" {
		t.Errorf("after its mask was kept the lake shows %q, want +86 139****0009", m)
	}
}

// TestLookupHashedOnce: the look-up table hashed in one pass split at the
// masked views' end gives the whole-table hash that hashing it row by row
// gives (what an export without the split recorded) and the split that
// splitLookup alone gives, at every end; and an export after no change
// finds every table's sources unchanged (no table read), as it would not
// if the two hashes differed.
func TestLookupHashedOnce(t *testing.T) {
	ctx := context.Background()
	w, _, _ := protectedVault(t)
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var rows int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM vault_display`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows < 2 {
		t.Fatalf("vault_display has %d rows: nothing to split", rows)
	}
	sources := func(end int64) *lakeSources {
		t.Helper()
		s, err := newLakeSources(ctx, conn, &lakeBase{})
		if err != nil {
			t.Fatal(err)
		}
		s.lookupEnd = end
		return s
	}
	whole, err := sources(0).tableHash(ctx, lakeLookupTable)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(whole, "="+strconv.FormatInt(rows, 10)+":") {
		t.Fatalf("row-by-row hash %q does not count %d rows", whole, rows)
	}
	for _, end := range []int64{1, rows / 2, rows, rows + 5} {
		s := sources(end)
		h, err := s.tableHash(ctx, lakeLookupTable)
		if err != nil {
			t.Fatal(err)
		}
		if h != whole {
			t.Errorf("end %d: one-pass hash %q, row by row %q", end, h, whole)
		}
		alone, err := sources(0).splitLookup(ctx, end)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.splits[end]; got != alone {
			t.Errorf("end %d: split kept %+v, splitLookup alone %+v", end, got, alone)
		}
	}

	dir := filepath.Join(t.TempDir(), "lake")
	if _, err := Lake(ctx, w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	res, err := Lake(ctx, w, LakeOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Tables {
		if tr.Check != LakeCheckSources || tr.Changed {
			t.Errorf("no change: %s checked by %q, changed %v", tr.Name, tr.Check, tr.Changed)
		}
	}
}
