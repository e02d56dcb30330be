package etl

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// crmChange is one CRM record of a hand-worked SCD2 case: a member card, its
// level and the change date column (变更日期, blank for none).
type crmChange struct{ card, level, changed string }

// crmLoad is one load: its --as-of day and the CRM records of its workbook.
type crmLoad struct {
	asOf    string
	records []crmChange
}

func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d.Add(24*time.Hour - time.Second) // as `ckm load --as-of` does
}

var crmChangeHeader = []any{"会员卡号", "姓名", "手机", "会员等级", "变更日期"}

// loadCRM loads one workbook of records, named n so each load is a new file.
func loadCRM(t *testing.T, w *engine.Warehouse, n int, ld crmLoad) (*Report, error) {
	t.Helper()
	return Load(context.Background(), w, []string{crmDir(t, n, ld.records)}, Options{AsOf: day(t, ld.asOf)})
}

// crmDir writes one CRM workbook of records, named n, into a new directory.
func crmDir(t *testing.T, n int, records []crmChange) string {
	t.Helper()
	rows := [][]any{crmChangeHeader}
	for _, r := range records {
		rows = append(rows, []any{r.card, "客户" + r.card, mobileOf(r.card), r.level, r.changed})
	}
	dir := t.TempDir()
	writeXLSX(t, dir, fmt.Sprintf("crm_customers_%d.xlsx", n), "客户", rows)
	return dir
}

// mobileOf gives each hand card a fixed mobile, so records of one card
// never differ in a tracked attribute other than the level.
func mobileOf(card string) string {
	return "1390000" + fmt.Sprintf("%04d", len(card)*100+int(card[len(card)-1]-'0'))
}

// history lists the versions of the customer holding member card card:
// "level [valid_from, valid_to) is_current", in valid_from order, with
// " known from <effective_from>" where that differs from valid_from.
func history(t *testing.T, w *engine.Warehouse, card string) []string {
	t.Helper()
	rows, err := w.DB.Query(`SELECT d.member_level, strftime(d.valid_from, '%Y-%m-%d %H:%M:%S'), strftime(d.valid_to, '%Y-%m-%d %H:%M:%S'), d.is_current,
			CASE WHEN d.effective_from <> d.valid_from THEN ' known from ' || strftime(d.effective_from, '%Y-%m-%d %H:%M:%S') ELSE '' END
		FROM dim_customer d JOIN etl_identity i ON i.customer_id = d.customer_id AND i.key_type = 'member_card' AND i.key_value = ?
		ORDER BY d.valid_from`, card)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var level, from, to, known string
		var cur bool
		if err := rows.Scan(&level, &from, &to, &cur, &known); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s [%s, %s) %v%s", level, from, to, cur, known))
	}
	return out
}

const (
	start = "1900-01-01 00:00:00"
	open  = "9999-12-31 00:00:00"
)

// first is the load that makes M1 a customer at level 普通, with no date:
// its values are known from the end of its as-of day, firstKnown.
var first = crmLoad{"2024-01-31", []crmChange{{"M1", "普通", ""}}}

const firstKnown = " known from 2024-01-31 23:59:59"

func TestSCD2EffectiveDates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		loads []crmLoad
		want  []string
	}{{
		name:  "a new customer's first version covers all time before",
		loads: []crmLoad{first},
		want:  []string{"普通 [" + start + ", " + open + ") true" + firstKnown},
	}, {
		name:  "a change with a change date starts there",
		loads: []crmLoad{first, {"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-15"}}}},
		want: []string{
			"普通 [" + start + ", 2024-09-15 00:00:00) false" + firstKnown,
			"金卡 [2024-09-15 00:00:00, " + open + ") true"},
	}, {
		name:  "a change date with a time and a timezone",
		loads: []crmLoad{first, {"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-15T10:30:00+08:00"}}}},
		want: []string{
			"普通 [" + start + ", 2024-09-15 10:30:00) false" + firstKnown,
			"金卡 [2024-09-15 10:30:00, " + open + ") true"},
	}, {
		name:  "a change without a date starts at the as-of",
		loads: []crmLoad{first, {"2024-12-31", []crmChange{{"M1", "金卡", ""}}}},
		want: []string{
			"普通 [" + start + ", 2024-12-31 23:59:59) false" + firstKnown,
			"金卡 [2024-12-31 23:59:59, " + open + ") true"},
	}, {
		name: "a back-dated change is inserted between two versions",
		loads: []crmLoad{first,
			{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}}},
			{"2024-12-31", []crmChange{{"M1", "银卡", "2024-05-01"}}}},
		want: []string{
			"普通 [" + start + ", 2024-05-01 00:00:00) false" + firstKnown,
			"银卡 [2024-05-01 00:00:00, 2024-09-01 00:00:00) false",
			"金卡 [2024-09-01 00:00:00, " + open + ") true"},
	}, {
		name: "changes loaded in date order",
		loads: []crmLoad{first,
			{"2024-12-31", []crmChange{{"M1", "银卡", "2024-05-01"}}},
			{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}}}},
		want: []string{
			"普通 [" + start + ", 2024-05-01 00:00:00) false" + firstKnown,
			"银卡 [2024-05-01 00:00:00, 2024-09-01 00:00:00) false",
			"金卡 [2024-09-01 00:00:00, " + open + ") true"},
	}, {
		name: "two changes in one load become two versions in date order, not line order",
		loads: []crmLoad{first,
			{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}, {"M1", "银卡", "2024-05-01"}}}},
		want: []string{
			"普通 [" + start + ", 2024-05-01 00:00:00) false" + firstKnown,
			"银卡 [2024-05-01 00:00:00, 2024-09-01 00:00:00) false",
			"金卡 [2024-09-01 00:00:00, " + open + ") true"},
	}, {
		name: "a back-dated change equal to the next version moves its start back",
		loads: []crmLoad{first,
			{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}}},
			{"2024-12-31", []crmChange{{"M1", "金卡", "2024-05-01"}}}},
		want: []string{
			"普通 [" + start + ", 2024-05-01 00:00:00) false" + firstKnown,
			"金卡 [2024-05-01 00:00:00, " + open + ") true"},
	}, {
		name: "a change at the start of a version corrects it",
		loads: []crmLoad{first,
			{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}}},
			{"2024-12-31", []crmChange{{"M1", "钻石", "2024-09-01"}}}},
		want: []string{
			"普通 [" + start + ", 2024-09-01 00:00:00) false" + firstKnown,
			"钻石 [2024-09-01 00:00:00, " + open + ") true"},
	}, {
		name: "a back-dated change into the middle of the oldest version keeps the later ones",
		loads: []crmLoad{first,
			{"2024-12-31", []crmChange{{"M1", "银卡", "2024-05-01"}}},
			{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}}},
			{"2024-12-31", []crmChange{{"M1", "钻石", "2024-02-01"}}}},
		want: []string{
			"普通 [" + start + ", 2024-02-01 00:00:00) false" + firstKnown,
			"钻石 [2024-02-01 00:00:00, 2024-05-01 00:00:00) false",
			"银卡 [2024-05-01 00:00:00, 2024-09-01 00:00:00) false",
			"金卡 [2024-09-01 00:00:00, " + open + ") true"},
	}, {
		name:  "an unchanged record adds no version",
		loads: []crmLoad{first, {"2024-12-31", []crmChange{{"M1", "普通", "2024-09-01"}}}},
		want:  []string{"普通 [" + start + ", " + open + ") true" + firstKnown},
	}, {
		name:  "an undated record with the same as-of as the first corrects it",
		loads: []crmLoad{first, {"2024-01-31", []crmChange{{"M1", "金卡", ""}}}},
		want:  []string{"金卡 [" + start + ", " + open + ") true" + firstKnown},
	}, {
		name:  "a change dated before what the first record knew takes the time before it",
		loads: []crmLoad{{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}}}, {"2024-12-31", []crmChange{{"M1", "银卡", "2024-05-01"}}}},
		want: []string{
			"银卡 [" + start + ", 2024-09-01 00:00:00) false known from 2024-05-01 00:00:00",
			"金卡 [2024-09-01 00:00:00, " + open + ") true"},
	}, {
		name:  "an undated first record holds from its as-of, an older change before it",
		loads: []crmLoad{{"2024-06-30", []crmChange{{"M1", "普通", ""}}}, {"2024-12-31", []crmChange{{"M1", "银卡", "2024-05-01"}}}},
		want: []string{
			"银卡 [" + start + ", 2024-06-30 23:59:59) false known from 2024-05-01 00:00:00",
			"普通 [2024-06-30 23:59:59, " + open + ") true"},
	}, {
		name:  "an older record with the first record's values moves effective_from back",
		loads: []crmLoad{{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}}}, {"2024-12-31", []crmChange{{"M1", "金卡", "2024-05-01"}}}},
		want:  []string{"金卡 [" + start + ", " + open + ") true known from 2024-05-01 00:00:00"},
	}, {
		name:  "a new customer from two dated records in one load",
		loads: []crmLoad{{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}, {"M1", "银卡", "2024-05-01"}}}},
		want: []string{
			"银卡 [" + start + ", 2024-09-01 00:00:00) false known from 2024-05-01 00:00:00",
			"金卡 [2024-09-01 00:00:00, " + open + ") true"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := openMem(t)
			for i, ld := range tc.loads {
				if _, err := loadCRM(t, w, i, ld); err != nil {
					t.Fatalf("load %d: %v", i, err)
				}
			}
			if got := history(t, w, "M1"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("history of M1:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestSCD2LoadOrder loads the same dated changes in every order, after a
// first undated load and from an empty warehouse: the history is the same.
func TestSCD2LoadOrder(t *testing.T) {
	changes := []crmLoad{
		{"2024-12-31", []crmChange{{"M1", "银卡", "2024-03-01"}, {"M2", "金卡", "2024-04-01"}}},
		{"2024-12-31", []crmChange{{"M1", "金卡", "2024-06-01"}}},
		{"2024-12-31", []crmChange{{"M1", "钻石", "2024-10-01"}, {"M2", "普通", "2024-11-01"}}},
	}
	initial := crmLoad{"2024-01-31", []crmChange{{"M1", "普通", ""}, {"M2", "银卡", ""}}}
	for _, tc := range []struct {
		name  string
		first []crmLoad
		want  map[string][]string
	}{{
		name:  "after a first load",
		first: []crmLoad{initial},
		want: map[string][]string{
			"M1": {
				"普通 [" + start + ", 2024-03-01 00:00:00) false" + firstKnown,
				"银卡 [2024-03-01 00:00:00, 2024-06-01 00:00:00) false",
				"金卡 [2024-06-01 00:00:00, 2024-10-01 00:00:00) false",
				"钻石 [2024-10-01 00:00:00, " + open + ") true"},
			"M2": {
				"银卡 [" + start + ", 2024-04-01 00:00:00) false" + firstKnown,
				"金卡 [2024-04-01 00:00:00, 2024-11-01 00:00:00) false",
				"普通 [2024-11-01 00:00:00, " + open + ") true"},
		},
	}, {
		name: "from empty",
		want: map[string][]string{
			"M1": {
				"银卡 [" + start + ", 2024-06-01 00:00:00) false known from 2024-03-01 00:00:00",
				"金卡 [2024-06-01 00:00:00, 2024-10-01 00:00:00) false",
				"钻石 [2024-10-01 00:00:00, " + open + ") true"},
			"M2": {
				"金卡 [" + start + ", 2024-11-01 00:00:00) false known from 2024-04-01 00:00:00",
				"普通 [2024-11-01 00:00:00, " + open + ") true"},
		},
	}} {
		for _, order := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
			t.Run(fmt.Sprint(tc.name, order), func(t *testing.T) {
				t.Parallel()
				w := openMem(t)
				for _, ld := range tc.first {
					if _, err := loadCRM(t, w, 9, ld); err != nil {
						t.Fatal(err)
					}
				}
				for _, i := range order {
					if _, err := loadCRM(t, w, i, changes[i]); err != nil {
						t.Fatalf("load %d: %v", i, err)
					}
				}
				for card, want := range tc.want {
					if got := history(t, w, card); strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Errorf("history of %s:\n%s\nwant:\n%s", card, strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
				}
			})
		}
	}
}

// TestSCD2ChangeDateRules: a change date after the as-of is date_future, an
// unreadable one date_invalid; both records are rejected and change nothing.
func TestSCD2ChangeDateRules(t *testing.T) {
	w := openMem(t)
	if _, err := loadCRM(t, w, 0, first); err != nil {
		t.Fatal(err)
	}
	rep, err := loadCRM(t, w, 1, crmLoad{"2024-12-31", []crmChange{
		{"M1", "金卡", "2025-01-05"}, // line 2: after the as-of
		{"M1", "银卡", "2024-13-45"}, // line 3: not a date
		{"M1", "钻石", "1899-12-31"}, // line 4: before every history
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rejected != 3 {
		t.Errorf("%d rejected, want 3", rep.Rejected)
	}
	got := queryString(t, w, `SELECT string_agg(line || ' ' || rule || ' ' || column_name || ' ' || severity, '; ' ORDER BY line)
		FROM etl_reject WHERE run_id = ?`, rep.RunID)
	if want := "2 date_future changed_at error; 3 date_invalid changed_at error; 4 date_invalid changed_at error"; got != want {
		t.Errorf("ledger: %s, want %s", got, want)
	}
	if got := history(t, w, "M1"); len(got) != 1 {
		t.Errorf("rejected changes made versions: %v", got)
	}
}

// TestSalesPointAtVersionInForce: each sale's customer_key is the version
// whose [valid_from, valid_to) holds its time, also after a back-dated
// version splits the history under sales loaded earlier.
func TestSalesPointAtVersionInForce(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	pos := func(name string, lines ...string) string {
		dir := t.TempDir()
		writeFile(t, dir, name, "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+strings.Join(lines, "\n")+"\n", false)
		return dir
	}
	sale := func(order, ts string) string {
		return order + ",1,ST01,北京朝阳店,张三," + ts + ",M1,,P001,1,100,0,100"
	}
	// Load 1: M1 at 普通 and three sales.
	if _, err := loadCRM(t, w, 0, first); err != nil {
		t.Fatal(err)
	}
	dir1 := pos("pos_sales_1.csv", sale("S1", "2024-03-10 10:00"), sale("S2", "2024-07-10 10:00"), sale("S3", "2024-10-10 10:00"))
	writeFile(t, dir1, "callcenter_contacts_1.csv", "来电号码,来电时间,类别,满意度,坐席,时长秒\n"+
		mobileOf("M1")+",2024-07-11 09:00,咨询,5,A01,60\n", false)
	if _, err := Load(ctx, w, []string{dir1}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	// Load 2: 金卡 from 2024-09-01 takes S3.
	if _, err := loadCRM(t, w, 1, crmLoad{"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}}}); err != nil {
		t.Fatal(err)
	}
	// Load 3: a late 银卡 from 2024-06-01 takes S2, with new sales in the same load on both sides of 2024-09-01.
	dir := pos("pos_sales_3.csv", sale("S4", "2024-08-15 10:00"), sale("S5", "2024-11-11 10:00"), sale("S6", "2024-05-31 23:59"))
	rows := [][]any{crmChangeHeader, {"M1", "客户M1", mobileOf("M1"), "银卡", "2024-06-01"}}
	writeXLSX(t, dir, "crm_customers_3.xlsx", "客户", rows)
	if _, err := Load(ctx, w, []string{dir}, Options{AsOf: asOf2024()}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"S1": "普通", "S2": "银卡", "S3": "金卡", "S4": "银卡", "S5": "金卡", "S6": "普通"}
	for order, level := range want {
		if got := queryString(t, w, `SELECT d.member_level FROM fact_sales f JOIN dim_customer d USING (customer_key) WHERE f.order_id = ?`, order); got != level {
			t.Errorf("sale %s points at the %s version, want %s", order, got, level)
		}
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales f JOIN dim_customer d USING (customer_key)
		WHERE f.customer_id > 0 AND NOT (f.order_ts >= d.valid_from AND f.order_ts < d.valid_to AND d.customer_id = f.customer_id)`); n != 0 {
		t.Errorf("%d sales point at a version not in force at their time", n)
	}
	// The contact of 2024-07-11, loaded with the first sales, moved too.
	if got := queryString(t, w, `SELECT d.member_level FROM fact_interaction f JOIN dim_customer d USING (customer_key)`); got != "银卡" {
		t.Errorf("the contact points at the %s version, want 银卡", got)
	}
}

// TestBrokenHistoryRollsBack corrupts the history of a customer the way a
// bad writer could and checks the next load refuses to commit on top of it.
func TestBrokenHistoryRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name, corrupt, fault string
	}{
		{"gap", `UPDATE dim_customer SET valid_to = valid_to - INTERVAL 1 DAY WHERE customer_key = (SELECT min(customer_key) FROM dim_customer WHERE customer_id = 1)`, "gap until version"},
		{"overlap", `UPDATE dim_customer SET valid_to = valid_to + INTERVAL 1 DAY WHERE customer_key = (SELECT min(customer_key) FROM dim_customer WHERE customer_id = 1)`, "overlaps version"},
		{"two current", `UPDATE dim_customer SET is_current = true WHERE customer_id = 1`, "is current but version"},
		{"last version ends", `UPDATE dim_customer SET valid_to = TIMESTAMP '2030-01-01' WHERE customer_id = 1 AND is_current`, "is the last version but ends"},
		{"empty version", `UPDATE dim_customer SET valid_to = valid_from WHERE customer_key = (SELECT min(customer_key) FROM dim_customer WHERE customer_id = 1)`, "ends before it starts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := openMem(t)
			for i, ld := range []crmLoad{first, {"2024-12-31", []crmChange{{"M1", "金卡", "2024-09-01"}}}} {
				if _, err := loadCRM(t, w, i, ld); err != nil {
					t.Fatal(err)
				}
			}
			if id := queryInt(t, w, `SELECT customer_id FROM etl_identity WHERE key_value = 'M1'`); id != 1 {
				t.Fatalf("M1 is customer %d, want 1", id)
			}
			if _, err := w.DB.Exec(tc.corrupt); err != nil {
				t.Fatal(err)
			}
			before := tableChecksums(t, w)
			_, err := loadCRM(t, w, 2, crmLoad{"2024-12-31", []crmChange{{"M2", "普通", ""}}})
			if err == nil || !strings.Contains(err.Error(), "customer 1") || !strings.Contains(err.Error(), tc.fault) {
				t.Fatalf("load on a broken history: %v; want an error naming customer 1 and %q", err, tc.fault)
			}
			after := tableChecksums(t, w)
			for n, v := range before {
				if after[n] != v {
					t.Errorf("table %s changed by the failed load", n)
				}
			}
		})
	}
	// An intact history passes.
	w := openMem(t)
	if _, err := loadCRM(t, w, 0, first); err != nil {
		t.Fatal(err)
	}
	if err := engine.CheckCustomerHistory(context.Background(), w.DB); err != nil {
		t.Error(err)
	}
}
