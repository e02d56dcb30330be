package etl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// TestSkippedStepsChangeNothing: the statements a load leaves out when
// they have nothing to change (dimension writes for SCD2 actions no change
// takes, the re-pointing of facts when no customer's history moved) and
// the token lookups in place of per-row ckm_token calls (cust_ev, the
// contacts' and responses' mobiles) give exactly what the path that runs
// every statement and tokenises row by row gives: the same reports, the
// same etl_run counts and the same content of every table, unprotected
// and protected (with one data key: the same tokens), over a fixture
// export of every target and CRM loads whose changes take every action
// (new, insert, prepend, extend, correct, known earlier, none). The
// skipping path stages the files ahead of the load's transaction, as a
// large load does (stageAhead); the full path inside it (stageInLoad), as
// loads did before and a small load does.
func TestSkippedStepsChangeNothing(t *testing.T) {
	ctx := context.Background()
	fx := fixtures.Options{Customers: 40, Days: 30, Seed: 3, Out: t.TempDir()}
	exp, err := fixtures.Generate(ctx, fx)
	if err != nil {
		t.Fatal(err)
	}
	fxAsOf, err := time.Parse("2006-01-02", exp.ExportDate)
	if err != nil {
		t.Fatal(err)
	}
	fxAsOf = fxAsOf.Add(24*time.Hour - time.Second)

	type step struct {
		dir  string
		asOf time.Time
	}
	crm := func(n int, records ...crmChange) string {
		rows := [][]any{crmChangeHeader}
		for _, r := range records {
			rows = append(rows, []any{r.card, "客户" + r.card, mobileOf(r.card), r.level, r.changed})
		}
		dir := t.TempDir()
		writeXLSX(t, dir, fmt.Sprintf("crm_customers_%d.xlsx", n), "客户", rows)
		return dir
	}
	sale := func(order, card, ts string) string {
		return order + ",1,ST01,北京朝阳店,张三," + ts + "," + card + ",,P001,1,100,0,100"
	}
	salesDir := t.TempDir()
	writeFile(t, salesDir, "pos_sales_9.csv", "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		strings.Join([]string{sale("S1", "M1", "2024-03-10 10:00"), sale("S2", "M1", "2024-07-10 10:00"), sale("S3", "M2", "2024-10-10 10:00"),
			sale("S4", "M3", "2024-04-01 10:00"),
			// Products nobody knows: product_unknown alone, and beside
			// mobile_invalid (the one rule cleaning ahead leaves to the
			// load's transaction, with the raw record rebuilt).
			"S5,1,ST01,北京朝阳店,张三,2024-05-10 10:00,M1,,ZZ99,1,100,0,100",
			"S6,1,ST01,北京朝阳店,张三,2024-05-11 10:00,M2,1234,ZZ98,1,100,0,100"}, "\n")+"\n", false)
	writeFile(t, salesDir, "callcenter_contacts_9.csv", "来电号码,来电时间,类别,满意度,坐席,时长秒\n"+
		mobileOf("M1")+",2024-07-11 09:00,咨询,5,A01,60\n"+
		mobileOf("M2")+",2024-07-12 09:00,投诉,2,A02,90\n"+
		"13912345678,2024-07-13 09:00,咨询,4,A01,30\n", false)
	// Till lines meeting nobody known and carrying no ID number: M7 and M8
	// share a mobile (one customer), a line without a card gives it too,
	// M9 is alone. Identity labels them without its strong phase
	// (labelStrongless) on the skipping path.
	strongDir := t.TempDir()
	writeFile(t, strongDir, "pos_sales_10.csv", "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"S7,1,ST01,北京朝阳店,张三,2024-11-01 10:00,M7,"+mobileOf("M7")+",P001,1,100,0,100\n"+
		"S8,1,ST01,北京朝阳店,张三,2024-11-02 10:00,M8,"+mobileOf("M7")+",P001,1,100,0,100\n"+
		"S9,1,ST01,北京朝阳店,张三,2024-11-03 10:00,,"+mobileOf("M7")+",P001,1,100,0,100\n"+
		"S10,1,ST01,北京朝阳店,张三,2024-11-04 10:00,M9,,P001,1,100,0,100\n", false)
	steps := []step{
		{fx.Out, fxAsOf},
		{crm(1, crmChange{"M1", "普通", ""}, crmChange{"M2", "金卡", "2024-01-15"}, crmChange{"M3", "普通", ""}), day(t, "2024-01-31")},
		{salesDir, asOf2024()},
		// The sales made M1, M2 and M3 current customers from the as-of
		// (a version each). M1: a change inside the first version (insert);
		// M2 and M3: their versions' values again (none).
		{crm(2, crmChange{"M1", "金卡", "2024-09-01"}, crmChange{"M2", "金卡", "2024-05-01"}, crmChange{"M3", "普通", "2024-06-01"}), asOf2024()},
		// M1: a change between versions (insert: S2 moves to it) and one at
		// a version's start (correct); M2, M3: inserts.
		{crm(3, crmChange{"M1", "银卡", "2024-06-01"}, crmChange{"M1", "钻石", "2024-09-01"}, crmChange{"M2", "银卡", "2024-02-01"},
			crmChange{"M3", "金卡", "2024-10-01"}), asOf2024()},
		// M3: a change equal to the next version moves its start back
		// (extend); M1: a change before what the first record knew takes the
		// time before it (prepend); M2: an older record with
		// the first version's values (known earlier).
		{crm(4, crmChange{"M3", "金卡", "2024-08-01"}, crmChange{"M1", "银卡", "2024-01-10"}, crmChange{"M2", "金卡", "2024-01-10"}), asOf2024()},
		{strongDir, asOf2024()},
	}
	wantHistories := []string{
		"M1",
		"银卡 [1900-01-01 00:00:00, 2024-01-31 23:59:59) false known from 2024-01-10 00:00:00",
		"普通 [2024-01-31 23:59:59, 2024-06-01 00:00:00) false",
		"银卡 [2024-06-01 00:00:00, 2024-09-01 00:00:00) false",
		"钻石 [2024-09-01 00:00:00, 2024-12-31 23:59:59) false",
		"普通 [2024-12-31 23:59:59, 9999-12-31 00:00:00) true",
		"M2",
		"金卡 [1900-01-01 00:00:00, 2024-02-01 00:00:00) false known from 2024-01-10 00:00:00",
		"银卡 [2024-02-01 00:00:00, 2024-12-31 23:59:59) false",
		"金卡 [2024-12-31 23:59:59, 9999-12-31 00:00:00) true",
		"M3",
		"普通 [1900-01-01 00:00:00, 2024-08-01 00:00:00) false known from 2024-01-31 23:59:59",
		"金卡 [2024-08-01 00:00:00, 2024-12-31 23:59:59) false",
		"普通 [2024-12-31 23:59:59, 9999-12-31 00:00:00) true",
	}

	kek, err := vault.ParseKEK(vault.NewKEK())
	if err != nil {
		t.Fatal(err)
	}
	v, key, err := vault.NewDataKey(kek)
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		reports   []*Report
		traces    []string
		tables    map[string]string
		runs      []string
		histories []string
		unknown   string
	}
	run := func(t *testing.T, protected, every bool) outcome {
		w := openMem(t)
		var vv *vault.Vault
		if protected {
			if err := key.Store(ctx, w.DB); err != nil {
				t.Fatal(err)
			}
			vv = v
		}
		var out outcome
		for i, s := range steps {
			var trace bytes.Buffer
			rep, err := Load(ctx, w, []string{s.dir}, Options{AsOf: s.asOf, Vault: vv, Trace: &trace, everyStep: every, stageInLoad: every, stageAhead: !every})
			if err != nil && !errors.Is(err, ErrNothingToLoad) {
				t.Fatalf("load %d: %v", i+1, err)
			}
			rep.Elapsed = 0
			out.reports = append(out.reports, rep)
			out.traces = append(out.traces, trace.String())
		}
		out.tables = tableChecksums(t, w)
		// Load times, and what is sealed afresh each time (random nonces
		// and customer keys), differ from run to run.
		for _, n := range []string{"etl_run", "etl_file", "schema_version", "etl_watermark", "vault_key"} {
			delete(out.tables, n)
		}
		sum := func(q string) string {
			return queryString(t, w, `SELECT count(*) || ':' || coalesce(CAST(sum(hash(t)) AS VARCHAR), '') FROM (`+q+`) t`)
		}
		out.tables["etl_watermark but updated_at"] = sum(`SELECT source, watermark, run_id FROM etl_watermark`)
		out.tables["etl_file but loaded_at"] = sum(`SELECT * EXCLUDE (loaded_at) FROM etl_file`)
		if protected {
			out.tables["vault_customer_key"] = sum(`SELECT * EXCLUDE (wrapped_key) FROM vault_customer_key`)
			out.tables["vault_value"] = sum(`SELECT * EXCLUDE (sealed) FROM vault_value`)
			out.tables["etl_reject"] = sum(`SELECT * EXCLUDE (raw_value, raw_record), raw_value IS NULL, raw_record IS NULL FROM etl_reject`)
		}
		out.runs = runSummaries(t, w)
		if !protected {
			out.unknown = queryString(t, w, `SELECT string_agg(rule || ' ' || raw_value || ' ' || (raw_record LIKE '%"product_code":"ZZ9%'), '; ' ORDER BY raw_value, rule)
				FROM etl_reject WHERE line IN (SELECT line FROM etl_reject WHERE raw_value LIKE 'ZZ9%')
				AND file_id = (SELECT file_id FROM etl_file WHERE path LIKE '%pos_sales_9.csv')`)
		}
		for _, card := range []string{"M1", "M2", "M3"} {
			out.histories = append(out.histories, card)
			out.histories = append(out.histories, history(t, w, card)...)
		}
		return out
	}
	for _, protected := range []bool{false, true} {
		t.Run(fmt.Sprintf("protected=%v", protected), func(t *testing.T) {
			skip, every := run(t, protected, false), run(t, protected, true)
			count := func(trace, what string) int { return strings.Count(trace, what) }
			for i := range steps {
				if a, b := *skip.reports[i], *every.reports[i]; !reportsEqual(a, b) {
					t.Errorf("load %d: report %+v, the full path's %+v", i+1, a, b)
				}
			}
			if strings.Join(skip.runs, "; ") != strings.Join(every.runs, "; ") {
				t.Errorf("etl_run %v, the full path's %v", skip.runs, every.runs)
			}
			sameTables(t, skip.tables, every.tables)
			if want := map[bool]string{false: "mobile_invalid 1234 true; product_unknown ZZ98 true; product_unknown ZZ99 true"}[protected]; skip.unknown != want || every.unknown != want {
				t.Errorf("the unknown products' ledger entries: %q staged ahead, %q inside; want %q", skip.unknown, every.unknown, want)
			}
			// Both paths took every action (hand-worked as in
			// TestSCD2EffectiveDates; which statements each runs is
			// TestCustomerChangesSkipIdleWrites').
			if got := strings.Join(skip.histories, "\n"); got != strings.Join(wantHistories, "\n") {
				t.Errorf("histories:\n%s\nwant:\n%s", got, strings.Join(wantHistories, "\n"))
			}
			// The first CRM workbook (cards and mobiles nobody held) and the
			// till lines of the last load were labelled without the strong
			// phase (no ID number, no earlier holder), the others with it;
			// the full path runs it every time. The till lines make two
			// customers: M7 and M8 (and the line giving their mobile), and M9.
			const strongless = "TEMP TABLE id_typo (id_a"
			for i := range steps {
				want := 0
				if i == 1 || i == len(steps)-1 {
					want = 1
				}
				if got := count(skip.traces[i], strongless); got != want {
					t.Errorf("load %d labelled without the strong phase %d times, want %d", i+1, got, want)
				}
				if got := count(every.traces[i], strongless); got != 0 {
					t.Errorf("load %d on the full path labelled without the strong phase %d times", i+1, got)
				}
			}
			// The customers step's statements are in the trace
			// (tracedQuerier): on the skipping path the changes are paired
			// with their versions and given their actions in one statement,
			// on the full path in two.
			const merge, action = `customers "CREATE OR REPLACE TEMP TABLE ckm_customer_m AS`, `customers "CREATE OR REPLACE TEMP TABLE ckm_customer_v AS`
			if a, b := count(skip.traces[0], merge), count(skip.traces[0], action); a != 0 || b == 0 {
				t.Errorf("the fixture load paired changes %d times and gave actions %d times in the trace, want 0 and some", a, b)
			}
			if a, b := count(every.traces[0], merge), count(every.traces[0], action); a == 0 || a != b {
				t.Errorf("the fixture load on the full path paired changes %d times and gave actions %d times in the trace, want as many, some", a, b)
			}
			if got := skip.reports[len(steps)-1].Customers; got != 2 {
				t.Errorf("the last load made %d new customers, want 2 (M7 and M8 with their mobile, M9)", got)
			}
			if !protected {
				return
			}
			// The lookups ran: the contacts' and responses' mobiles were
			// tokenised once each into ld_ctok (the full path tokenises them
			// row by row in the fact inserts).
			const ctok = "TEMP TABLE ld_ctok AS"
			if count(skip.traces[0], ctok) != 1 || count(every.traces[0], ctok) != 0 {
				t.Errorf("the fixture load made ld_ctok %d times, the full path %d; want 1 and 0",
					count(skip.traces[0], ctok), count(every.traces[0], ctok))
			}
		})
	}
}
