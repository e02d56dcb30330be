package etl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// mergeWorld is a warehouse where customer A (card M1) and customer B
// (card M2, mobile mB, two versions) were loaded apart, and C (card M3)
// is unrelated: the test's own hand-built world.
type mergeWorld struct {
	w       *engine.Warehouse
	a, b, c int64
	mB      string // B's mobile, E.164
}

const mergePOSHeader = "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"

// posLine is a POS line of order at ts for a card and/or mobile.
func posLine(order, ts, card, mobile string) string {
	return order + ",1,ST01,北京朝阳店,张三," + ts + "," + card + "," + mobile + ",P001,1,100,0,100"
}

// loadPOS loads POS lines (and optionally call-centre contacts) as file n.
func loadPOS(t *testing.T, w *engine.Warehouse, n int, asOf string, lines []string, contacts []string) *Report {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, fmt.Sprintf("pos_sales_%d.csv", n), mergePOSHeader+strings.Join(lines, "\n")+"\n", false)
	if len(contacts) > 0 {
		writeFile(t, dir, fmt.Sprintf("callcenter_contacts_%d.csv", n), "来电号码,来电时间,类别,满意度,坐席,时长秒\n"+strings.Join(contacts, "\n")+"\n", false)
	}
	rep, err := Load(context.Background(), w, []string{dir}, Options{AsOf: day(t, asOf)})
	if err != nil {
		t.Fatalf("load %d: %v", n, err)
	}
	return rep
}

func newMergeWorld(t *testing.T) *mergeWorld {
	t.Helper()
	w := openMem(t)
	mw := &mergeWorld{w: w, mB: "+86" + mobileOf("M2")}
	if _, err := loadCRM(t, w, 1, crmLoad{"2024-03-31", []crmChange{{"M1", "普通", ""}, {"M2", "普通", ""}, {"M3", "普通", ""}}}); err != nil {
		t.Fatal(err)
	}
	loadPOS(t, w, 1, "2024-08-31", []string{
		posLine("S1", "2024-04-10 10:00", "M1", ""),
		posLine("S2", "2024-05-10 10:00", "M1", ""),
		posLine("S3", "2024-04-11 10:00", "", mobileOf("M2")),
		posLine("S4", "2024-06-11 10:00", "M2", ""),
		posLine("S9", "2024-06-12 10:00", "M3", ""),
	}, []string{mobileOf("M2") + ",2024-07-11 09:00,咨询,5,A01,60"})
	// B changes level on 2024-08-01: two versions.
	if _, err := loadCRM(t, w, 2, crmLoad{"2024-08-31", []crmChange{{"M2", "金卡", "2024-08-01"}}}); err != nil {
		t.Fatal(err)
	}
	id := func(card string) int64 {
		return queryInt(t, w, `SELECT customer_id FROM etl_identity WHERE key_type = 'member_card' AND key_value = ?`, card)
	}
	mw.a, mw.b, mw.c = id("M1"), id("M2"), id("M3")
	if mw.a == mw.b || mw.b == mw.c || mw.a == mw.c || mw.a > mw.b {
		t.Fatalf("customers A %d, B %d, C %d: want three, A older than B", mw.a, mw.b, mw.c)
	}
	if got := queryInt(t, w, `SELECT customer_id FROM etl_identity WHERE key_type = 'mobile' AND key_value = ?`, mw.mB); got != mw.b {
		t.Fatalf("B's mobile is customer %d's, want %d", got, mw.b)
	}
	return mw
}

// factsBySource is every fact row group of customer c per source record
// ("table file:line" → rows), counted by the test's own SQL.
func factsBySource(t *testing.T, w *engine.Warehouse, c int64) map[string]int64 {
	t.Helper()
	rows, err := w.DB.Query(`SELECT t, etl_file_id, source_line, count(*) FROM (
		SELECT 'fact_sales' AS t, etl_file_id, source_line FROM fact_sales WHERE customer_id = $1
		UNION ALL SELECT 'fact_interaction', etl_file_id, source_line FROM fact_interaction WHERE customer_id = $1
		UNION ALL SELECT 'fact_campaign', etl_file_id, source_line FROM fact_campaign WHERE customer_id = $1)
		GROUP BY ALL`, c)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var tbl string
		var file, line, n int64
		if err := rows.Scan(&tbl, &file, &line, &n); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s %d:%d", tbl, file, line)] = n
	}
	return out
}

// mergeHistory is what etl_customer_merge says merge id moved, per source
// record, in the same form as factsBySource.
func mergeHistory(t *testing.T, w *engine.Warehouse, id int64) map[string]int64 {
	t.Helper()
	rows, err := w.DB.Query(`SELECT fact_table, etl_file_id, source_line, sum(rows) FROM etl_customer_merge WHERE merge_id = ? GROUP BY ALL`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var tbl string
		var file, line, n int64
		if err := rows.Scan(&tbl, &file, &line, &n); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s %d:%d", tbl, file, line)] = n
	}
	return out
}

func sameCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// rowsBefore is a hash per table of the rows earlier runs wrote (run id
// below run), for the tables a merge changes: the exact earlier state.
// The survivor's versions are left out: the load that merges may change
// them by its own records (a new mobile opens a version), which undoing
// the merge does not revert.
func rowsBefore(t *testing.T, w *engine.Warehouse, run, survivor int64) map[string]string {
	t.Helper()
	out := map[string]string{}
	for tbl, cond := range map[string]string{
		"fact_sales": "etl_run_id < $1", "fact_interaction": "etl_run_id < $1", "fact_campaign": "etl_run_id < $1",
		"etl_identity": "first_run < $1", "identity_link": "run_id < $1",
		"dim_customer": fmt.Sprintf("etl_run_id < $1 AND customer_id <> %d", survivor),
	} {
		out[tbl] = queryString(t, w, fmt.Sprintf(`SELECT count(*) || ':' || coalesce(CAST(sum(hash(t)) AS VARCHAR), '') FROM %s t WHERE %s`, tbl, cond), run)
	}
	return out
}

// checkOneCurrent fails unless exactly one current version exists among
// the customers ids and the whole history is sound.
func checkOneCurrent(t *testing.T, w *engine.Warehouse, ids ...int64) {
	t.Helper()
	in := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(ids)), ","), "[]")
	if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE is_current AND customer_id IN (`+in+`)`); n != 1 {
		t.Errorf("customers %s have %d current versions, want exactly 1", in, n)
	}
	if err := engine.CheckCustomerHistory(context.Background(), w.DB); err != nil {
		t.Error(err)
	}
}

// TestLoadMergesCustomersKeptApart: A and B were loaded apart; a later POS
// line carrying A's card and B's mobile links them. B's facts (three POS
// lines and a contact), keys and explanations move to A in the load, with
// a history row per source record equal to the test's own count before;
// B's current version closes at the load's as-of time and only A's is
// current; every moved fact points at A's version of its time; the data
// version moves past a model computed before. Undo restores exactly what
// the earlier loads wrote.
func TestLoadMergesCustomersKeptApart(t *testing.T) {
	ctx := context.Background()
	mw := newMergeWorld(t)
	w := mw.w
	bFacts := factsBySource(t, w, mw.b)
	if len(bFacts) != 3 {
		t.Fatalf("B has facts of %d source records, want 3 (S3, S4 and the contact): %v", len(bFacts), bFacts)
	}
	bVersions := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE customer_id = ?`, mw.b)
	bKeys := queryInt(t, w, `SELECT count(*) FROM etl_identity WHERE customer_id = ?`, mw.b)
	runBefore, _ := w.DataVersion(ctx)
	if _, err := w.DB.Exec(`INSERT INTO kb_model (model_id, kind, name, data_version) VALUES (1, 'rfm', 'before', ?)`, runBefore); err != nil {
		t.Fatal(err)
	}
	before := rowsBefore(t, w, runBefore+1, mw.a)
	customers := queryInt(t, w, `SELECT count(DISTINCT customer_id) FROM dim_customer WHERE is_current`)

	rep := loadPOS(t, w, 3, "2024-12-31", []string{posLine("S5", "2024-12-01 10:00", "M1", mobileOf("M2"))}, nil)

	if n := queryInt(t, w, `SELECT count(*) FROM customer_merge`); n != 1 {
		t.Fatalf("%d merges recorded, want 1", n)
	}
	id := queryInt(t, w, `SELECT merge_id FROM customer_merge WHERE kind = 'load_merge' AND run_id = ? AND survivor = ? AND other = ?`, rep.RunID, mw.a, mw.b)
	if got := mergeHistory(t, w, id); !sameCounts(got, bFacts) {
		t.Errorf("merge history per source record %v, want B's facts as counted before %v", got, bFacts)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM (SELECT customer_id FROM fact_sales WHERE customer_id = $1
		UNION ALL SELECT customer_id FROM fact_interaction WHERE customer_id = $1 UNION ALL SELECT customer_id FROM fact_campaign WHERE customer_id = $1
		UNION ALL SELECT customer_id FROM etl_identity WHERE customer_id = $1 UNION ALL SELECT customer_id FROM identity_link WHERE customer_id = $1)`, mw.b); n != 0 {
		t.Errorf("%d fact, key or link rows still name B", n)
	}
	for src := range bFacts {
		var tbl string
		var file, line int64
		fmt.Sscanf(strings.Replace(src, ":", " ", 1), "%s %d %d", &tbl, &file, &line)
		if n := queryInt(t, w, fmt.Sprintf(`SELECT count(*) FROM %s WHERE etl_file_id = ? AND source_line = ? AND customer_id = ?`, tbl), file, line, mw.a); n != bFacts[src] {
			t.Errorf("%s: %d rows on A, want %d", src, n, bFacts[src])
		}
	}
	if n := queryInt(t, w, `SELECT count(*) FROM etl_identity WHERE customer_id = ?`, mw.a); n < bKeys+2 {
		t.Errorf("A holds %d keys, want its own 2 and B's %d", n, bKeys)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE customer_id = ?`, mw.b); n != bVersions {
		t.Errorf("B has %d versions, want its %d kept as history", n, bVersions)
	}
	if got := queryString(t, w, `SELECT strftime(max(valid_to), '%Y-%m-%d %H:%M:%S') FROM dim_customer WHERE customer_id = ?`, mw.b); got != "2024-12-31 23:59:59" {
		t.Errorf("B's last version ends %s, want the merge date 2024-12-31 23:59:59", got)
	}
	checkOneCurrent(t, w, mw.a, mw.b)
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales f JOIN dim_customer d USING (customer_key)
		WHERE f.customer_id = ? AND NOT (d.customer_id = f.customer_id AND f.order_ts >= d.valid_from AND f.order_ts < d.valid_to)`, mw.a); n != 0 {
		t.Errorf("%d of A's sales point at a version not A's at their time", n)
	}
	if n := queryInt(t, w, `SELECT count(DISTINCT customer_id) FROM dim_customer WHERE is_current`); n != customers-1 {
		t.Errorf("%d current customers, want %d (one merged away)", n, customers-1)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM kb_model_status WHERE stale`); n != 1 {
		t.Errorf("the model computed before the merge is not stale")
	}

	// Undo: the earlier loads' rows are exactly as they were.
	out, err := UndoMerge(ctx, w, id, Steward{User: "test", Role: "steward", Reason: "test undo"})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Undone || out.FactRows != sumCounts(bFacts) {
		t.Errorf("undo outcome %+v, want %d fact rows", out, sumCounts(bFacts))
	}
	after := rowsBefore(t, w, runBefore+1, mw.a)
	for tbl, h := range before {
		if after[tbl] != h {
			t.Errorf("%s after undo %s, before the merge %s", tbl, after[tbl], h)
		}
	}
	if got := factsBySource(t, w, mw.b); !sameCounts(got, bFacts) {
		t.Errorf("B's facts after undo %v, want %v", got, bFacts)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE customer_id = ? AND is_current`, mw.b); n != 1 {
		t.Errorf("B has %d current versions after undo, want 1", n)
	}
	if err := engine.CheckCustomerHistory(ctx, w.DB); err != nil {
		t.Error(err)
	}
	if _, err := UndoMerge(ctx, w, id, Steward{User: "test", Role: "steward", Reason: "again"}); !errors.Is(err, ErrMergeRefused) || !strings.Contains(err.Error(), "undone already") {
		t.Errorf("second undo: %v", err)
	}
}

func sumCounts(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// allTables hashes every table but the ledger of runs and the merge
// history, which an action and its undo add to.
func allTables(t *testing.T, w *engine.Warehouse) map[string]string {
	t.Helper()
	all := tableChecksums(t, w)
	for _, skip := range []string{"etl_run", "customer_merge", "etl_customer_merge", "etl_customer_merge_key", "etl_customer_merge_version", "identity_decision"} {
		delete(all, skip)
	}
	return all
}

// TestStewardMergeSurvivesLoadAndUndoes: a steward merges A and C; C's
// facts move to A; the next load's line with C's card goes to A; undo of
// the later split-free state restores every table exactly.
func TestStewardMergeSurvivesLoadAndUndoes(t *testing.T) {
	ctx := context.Background()
	mw := newMergeWorld(t)
	w := mw.w
	st := Steward{User: "alice", Role: "steward", Reason: "same person, checked by phone"}
	snap := allTables(t, w)
	version, _ := w.DataVersion(ctx)
	cFacts := factsBySource(t, w, mw.c)
	out, err := MergeCustomers(ctx, w, mw.c, mw.a, st)
	if err != nil {
		t.Fatal(err)
	}
	if out.Survivor != mw.a || out.Other != mw.c || out.FactRows != sumCounts(cFacts) || out.Kind != "steward_merge" {
		t.Errorf("merge outcome %+v, want C %d into A %d moving %d rows", out, mw.c, mw.a, sumCounts(cFacts))
	}
	if v, _ := w.DataVersion(ctx); v != version+1 || out.RunID != v {
		t.Errorf("data version %d after the merge (run %d), want %d", v, out.RunID, version+1)
	}
	if got := mergeHistory(t, w, out.MergeID); !sameCounts(got, cFacts) {
		t.Errorf("history %v, want %v", got, cFacts)
	}
	checkOneCurrent(t, w, mw.a, mw.c)
	if got := queryString(t, w, `SELECT reason || '/' || principal || '/' || role FROM identity_decision WHERE decision_id = ?`, out.DecisionID); got != "same person, checked by phone/alice/steward" {
		t.Errorf("decision %q", got)
	}
	// Undo at once: every table as before.
	if _, err := UndoMerge(ctx, w, out.MergeID, st); err != nil {
		t.Fatal(err)
	}
	for tbl, h := range allTables(t, w) {
		if snap[tbl] != h {
			t.Errorf("%s after undo %s, before %s", tbl, h, snap[tbl])
		}
	}
	// Merge again; the next load's line with C's card is A's.
	if _, err = MergeCustomers(ctx, w, mw.a, mw.c, st); err != nil {
		t.Fatal(err)
	}
	loadPOS(t, w, 4, "2024-12-31", []string{posLine("S10", "2024-12-02 10:00", "M3", "")}, nil)
	if got := queryInt(t, w, `SELECT customer_id FROM fact_sales WHERE order_id = 'S10'`); got != mw.a {
		t.Errorf("after the merge a line with C's card went to customer %d, want A %d", got, mw.a)
	}
	checkOneCurrent(t, w, mw.a, mw.c)
	// Refusals, each clear.
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"merged-away id", func() error { _, err := MergeCustomers(ctx, w, mw.c, mw.b, st); return err }, fmt.Sprintf("merged into customer %d", mw.a)},
		{"unknown id", func() error { _, err := MergeCustomers(ctx, w, mw.a, 99999, st); return err }, "customer 99999: refused: no such customer"},
		{"itself", func() error { _, err := MergeCustomers(ctx, w, mw.a, mw.a, st); return err }, "cannot be merged with itself"},
		{"no reason", func() error { _, err := MergeCustomers(ctx, w, mw.a, mw.b, Steward{User: "x"}); return err }, "give the reason"},
		{"unknown merge", func() error { _, err := UndoMerge(ctx, w, 999, st); return err }, "no merge or split 999"},
		{"key of another", func() error {
			_, err := SplitCustomer(ctx, w, mw.b, []IdentityKey{{"member_card", "M1"}}, st)
			return err
		}, fmt.Sprintf("belongs to customer %d, not %d", mw.a, mw.b)},
		{"unknown key", func() error {
			_, err := SplitCustomer(ctx, w, mw.b, []IdentityKey{{"member_card", "M77"}}, st)
			return err
		}, "no customer has key member_card:"},
		{"every key", func() error {
			_, err := SplitCustomer(ctx, w, mw.b, []IdentityKey{{"member_card", "M2"}, {"mobile", mw.mB}}, st)
			return err
		}, "nothing would remain"},
	} {
		err := tc.do()
		if !errors.Is(err, ErrMergeRefused) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want refused with %q", tc.name, err, tc.want)
		}
	}
}

// TestSplitSurvivesLoad: after a load merged B into A, a steward splits
// off B's card and mobile: the records carrying them (S3, S4 and the
// contact, but not S5, which also carries A's card M1, left unnamed) and
// those keys go to a new customer D; the next load's line linking A's card
// and B's mobile again does not merge them but goes to A (its strong key),
// and a line with B's mobile alone goes to D. Undo of the split restores
// every table exactly.
func TestSplitSurvivesLoad(t *testing.T) {
	ctx := context.Background()
	mw := newMergeWorld(t)
	w := mw.w
	st := Steward{User: "alice", Role: "steward", Reason: "household: two persons"}
	loadPOS(t, w, 3, "2024-12-31", []string{posLine("S5", "2024-12-01 10:00", "M1", mobileOf("M2"))}, nil)
	want := map[string]bool{"S3": true, "S4": true}
	out, err := SplitCustomer(ctx, w, mw.a, []IdentityKey{{"member_card", "M2"}, {"mobile", mw.mB}}, st)
	if err != nil {
		t.Fatal(err)
	}
	d := out.Other
	if d <= mw.c || out.Survivor != mw.a {
		t.Fatalf("split outcome %+v", out)
	}
	rows, err := w.DB.Query(`SELECT order_id FROM fact_sales WHERE customer_id = ? ORDER BY 1`, d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var o string
		rows.Scan(&o)
		got = append(got, o)
	}
	rows.Close()
	if len(got) != len(want) || !want[got[0]] || !want[got[1]] {
		t.Errorf("D's sales %v, want S3, S4", got)
	}
	if got := queryInt(t, w, `SELECT customer_id FROM fact_sales WHERE order_id = 'S5'`); got != mw.a {
		t.Errorf("S5 (A's card and B's mobile) went to %d, want A %d: its card names A", got, mw.a)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_interaction WHERE customer_id = ?`, d); n != 1 {
		t.Errorf("D has %d contacts, want 1", n)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM etl_identity WHERE customer_id = ?`, d); n != 2 {
		t.Errorf("D holds %d keys, want 2 (card M2, its mobile)", n)
	}
	if got := queryString(t, w, `SELECT mobile FROM dim_customer WHERE customer_id = ? AND is_current`, d); got != mw.mB {
		t.Errorf("D's mobile %q, want %q", got, mw.mB)
	}
	if err := engine.CheckCustomerHistory(ctx, w.DB); err != nil {
		t.Error(err)
	}
	merges := queryInt(t, w, `SELECT count(*) FROM customer_merge`)
	loadPOS(t, w, 4, "2024-12-31", []string{
		posLine("S11", "2024-12-03 10:00", "M1", mobileOf("M2")),
		posLine("S12", "2024-12-04 10:00", "", mobileOf("M2")),
	}, nil)
	if n := queryInt(t, w, `SELECT count(*) FROM customer_merge`); n != merges {
		t.Errorf("the load after the split merged again: %d merges, had %d", n, merges)
	}
	if got := queryInt(t, w, `SELECT customer_id FROM fact_sales WHERE order_id = 'S11'`); got != mw.a {
		t.Errorf("S11 (A's card, D's mobile) went to %d, want A %d", got, mw.a)
	}
	if got := queryInt(t, w, `SELECT customer_id FROM fact_sales WHERE order_id = 'S12'`); got != d {
		t.Errorf("S12 (D's mobile) went to %d, want D %d", got, d)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE customer_id = ? AND is_current`, d); n != 1 {
		t.Errorf("D has %d current versions, want 1", n)
	}
	// Loads since gave D a sale of its own: undoing the split would orphan
	// it, so it is refused, naming the way back (a merge).
	if _, err := UndoMerge(ctx, w, out.MergeID, st); !errors.Is(err, ErrMergeRefused) || !strings.Contains(err.Error(), fmt.Sprintf("merge it back instead (ckm identity merge %d %d)", mw.a, d)) {
		t.Errorf("undo of a split whose customer has rows since: %v", err)
	}
	// Undone at once, a split restores every table exactly.
	mw2 := newMergeWorld(t)
	loadPOS(t, mw2.w, 3, "2024-12-31", []string{posLine("S5", "2024-12-01 10:00", "M1", mobileOf("M2"))}, nil)
	snap := allTables(t, mw2.w)
	out, err = SplitCustomer(ctx, mw2.w, mw2.a, []IdentityKey{{"member_card", "M2"}, {"mobile", mw2.mB}}, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UndoMerge(ctx, mw2.w, out.MergeID, st); err != nil {
		t.Fatal(err)
	}
	for tbl, h := range allTables(t, mw2.w) {
		if snap[tbl] != h {
			t.Errorf("%s after undoing the split %s, before %s", tbl, h, snap[tbl])
		}
	}
}

// TestLoadMergesChain: one load with two new records, one linking A's card
// to B's mobile and one linking B's card to C's mobile, meets B from two
// components: all three are one customer, A (the oldest id), by two merges
// carried out together; every fact of B and C is A's and one version is
// current.
func TestLoadMergesChain(t *testing.T) {
	mw := newMergeWorld(t)
	w := mw.w
	moved := sumCounts(factsBySource(t, w, mw.b)) + sumCounts(factsBySource(t, w, mw.c))
	aRows := sumCounts(factsBySource(t, w, mw.a))
	loadPOS(t, w, 3, "2024-12-31", []string{
		posLine("S20", "2024-12-01 10:00", "M1", mobileOf("M2")),
		posLine("S21", "2024-12-02 10:00", "M2", mobileOf("M3")),
	}, nil)
	if got := queryString(t, w, `SELECT string_agg(other || '>' || survivor, ' ' ORDER BY other) FROM customer_merge WHERE kind = 'load_merge'`); got != fmt.Sprintf("%d>%d %d>%d", mw.b, mw.a, mw.c, mw.a) {
		t.Errorf("merges %s, want B and C into A", got)
	}
	if n := queryInt(t, w, `SELECT sum(rows) FROM etl_customer_merge`); n != moved {
		t.Errorf("history holds %d rows, want B's and C's %d", n, moved)
	}
	if got := sumCounts(factsBySource(t, w, mw.a)); got != aRows+moved+2 {
		t.Errorf("A has %d fact rows, want its %d, B's and C's %d and the 2 new", got, aRows, moved)
	}
	checkOneCurrent(t, w, mw.a, mw.b, mw.c)
}

// TestLoadKeepsIDHoldersApart: X and Y, with different valid ID numbers,
// were loaded apart; a later CRM record of Y gives X's mobile (a
// household's shared phone). One load would not link them (two ID
// numbers meet only on a mobile), so a later one does not merge them
// either: no merge, Y's record stays Y's, X keeps its mobile and facts.
func TestLoadKeepsIDHoldersApart(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	header := []any{"会员卡号", "姓名", "身份证号", "手机", "邮箱", "性别", "生日", "省份", "城市", "注册日期", "会员等级", "经销商"}
	d1 := t.TempDir()
	writeXLSX(t, d1, "crm_customers_1.xlsx", "客户", [][]any{header,
		{"M00000001", "王芳", "11010519491231002X", "13800138000", "", "女", "", "北京", "北京市", "2020-01-05", "普通", "否"},
		{"M00000002", "张伟", "440524188001010014", "13700137000", "", "男", "", "广东省", "汕头市", "2021-03-01", "普通", "否"},
	})
	if _, err := Load(ctx, w, []string{d1}, Options{AsOf: day(t, "2024-06-30")}); err != nil {
		t.Fatal(err)
	}
	loadPOS(t, w, 1, "2024-06-30", []string{posLine("S1", "2024-05-01 10:00", "", "13800138000")}, nil)
	x := queryInt(t, w, `SELECT customer_id FROM etl_identity WHERE key_type = 'member_card' AND key_value = 'M00000001'`)
	y := queryInt(t, w, `SELECT customer_id FROM etl_identity WHERE key_type = 'member_card' AND key_value = 'M00000002'`)
	d2 := t.TempDir()
	writeXLSX(t, d2, "crm_customers_2.xlsx", "客户", [][]any{header,
		{"M00000002", "张伟", "440524188001010014", "13800138000", "", "男", "", "广东省", "汕头市", "2021-03-01", "普通", "否"},
	})
	if _, err := Load(ctx, w, []string{d2}, Options{AsOf: day(t, "2024-12-31")}); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM customer_merge`); n != 0 {
		t.Errorf("%d merges of customers holding different ID numbers, want none", n)
	}
	if got := queryInt(t, w, `SELECT customer_id FROM etl_identity WHERE key_type = 'mobile' AND key_value = '+8613800138000'`); got != x {
		t.Errorf("X's mobile is now customer %d's, want X %d", got, x)
	}
	if got := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE order_id = 'S1' AND customer_id = ?`, x); got != 1 {
		t.Errorf("X's sale moved")
	}
	if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE customer_id IN (?, ?) AND is_current`, x, y); n != 2 {
		t.Errorf("%d current versions of X and Y, want 2", n)
	}
}
