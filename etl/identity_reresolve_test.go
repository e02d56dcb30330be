package etl

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/privacy"
)

// webLine is a web order line of one product for a customer giving a
// mobile and/or an e-mail.
func webLine(order, ts, mobile, email string) string {
	var c []string
	if mobile != "" {
		c = append(c, `"mobile":"`+mobile+`"`)
	}
	if email != "" {
		c = append(c, `"email":"`+email+`"`)
	}
	return `{"order_id":"` + order + `","created_at":"` + ts + `T10:00:00+08:00","customer":{` + strings.Join(c, ",") +
		`},"lines":[{"sku":"P001","qty":1,"price":"100.00","discount":"0"}]}`
}

// loadWeb loads CRM rows, till lines and web orders as one load.
func (cw *crossWorld) loadWeb(asOf string, crm [][]any, pos, web []string) {
	cw.t.Helper()
	n := cw.n + 1
	dir := cw.t.TempDir()
	if len(web) > 0 {
		writeFile(cw.t, dir, fmt.Sprintf("web_orders_%d.ndjson", n), strings.Join(web, "\n")+"\n", false)
	}
	cw.loadInto(dir, asOf, crm, pos)
}

// webSale is the customer of web order o.
func (cw *crossWorld) webSale(o string) int64 {
	cw.t.Helper()
	return queryInt(cw.t, cw.w, `SELECT customer_id FROM fact_sales WHERE order_id = ?`, o)
}

// TestReresolveHouseholdJoiner: the head H registers in load 1 with the
// family's mobile; J, a household member, orders online in load 1 with
// that mobile and J's own e-mail, before J registers — so load 1 can only
// give J's orders to H (truth by hand: W1, W2 are J's; S1 is H's). In
// load 2 J registers with another ID number, the shared mobile and the
// e-mail. Load 2 must re-resolve J's load-1 orders: they move to J with
// J's e-mail, H keeps its own till line, and the move is one load_split
// in customer_merge with its records in etl_customer_merge, undone by
// ckm identity undo.
func TestReresolveHouseholdJoiner(t *testing.T) {
	for _, protected := range []bool{false, true} {
		t.Run(fmt.Sprintf("protected=%v", protected), func(t *testing.T) {
			cw := newCrossWorld(t, protected)
			ctx := context.Background()
			cw.loadWeb("2024-06-30", [][]any{
				{"M00000001", "王芳", idA, "13800138000", "", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
			}, []string{posLine("S1", "2024-05-01 10:00", "M00000001", "13800138000")},
				[]string{webLine("W1", "2024-03-01", "13800138000", "j@example.com"), webLine("W2", "2024-04-01", "13800138000", "j@example.com")})
			h := cw.card("M00000001")
			for _, o := range []string{"W1", "W2", "S1"} {
				if got := cw.webSale(o); got != h {
					t.Fatalf("load 1: %s is customer %d's, want H %d (nothing yet tells J apart)", o, got, h)
				}
			}
			cw.loadWeb("2024-12-31", [][]any{
				{"M00000002", "张伟", idB, "13800138000", "j@example.com", "男", "", "北京", "北京市", "2024-08-01", "普通", "否"},
			}, nil, []string{webLine("W3", "2024-09-01", "13800138000", "j@example.com")})
			j := cw.card("M00000002")
			if j == h {
				t.Fatalf("J merged into H %d", h)
			}
			want := map[string]int64{"S1": h, "W1": j, "W2": j, "W3": j}
			for o, c := range want {
				if got := cw.webSale(o); got != c {
					t.Errorf("after load 2: %s is customer %d's, want %d (H %d, J %d)", o, got, c, h, j)
				}
			}
			email := "j@example.com"
			if cw.v != nil {
				email = cw.v.Token(privacy.Email, email)
			}
			if got := queryInt(t, cw.w, `SELECT customer_id FROM etl_identity WHERE key_type = 'email' AND key_value = ?`, email); got != j {
				t.Errorf("J's e-mail is customer %d's, want J %d", got, j)
			}
			// The history: one load_split from H to J, moving W1 and W2.
			type ev struct {
				kind            string
				survivor, other int64
			}
			var got []ev
			rows, err := cw.w.DB.QueryContext(ctx, `SELECT kind, survivor, other FROM customer_merge ORDER BY merge_id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var e ev
				if err := rows.Scan(&e.kind, &e.survivor, &e.other); err != nil {
					t.Fatal(err)
				}
				got = append(got, e)
			}
			rows.Close()
			if len(got) != 1 || got[0] != (ev{"load_split", h, j}) {
				t.Fatalf("customer_merge %v, want one load_split from H %d to J %d", got, h, j)
			}
			id := queryInt(t, cw.w, `SELECT merge_id FROM customer_merge`)
			if n := queryInt(t, cw.w, `SELECT count(*) FROM etl_customer_merge h JOIN fact_sales f USING (etl_file_id, source_line)
				WHERE h.merge_id = ? AND h.from_customer = ? AND h.to_customer = ? AND f.order_id IN ('W1', 'W2')`, id, h, j); n != 2 {
				t.Errorf("%d records of W1, W2 in the merge history, want 2", n)
			}
			if n := queryInt(t, cw.w, `SELECT count(*) FROM etl_customer_merge WHERE merge_id = ?`, id); n != 2 {
				t.Errorf("%d records moved, want 2 (W1, W2)", n)
			}
			// J's orders point at J's version.
			if n := queryInt(t, cw.w, `SELECT count(*) FROM fact_sales f JOIN dim_customer d USING (customer_key)
				WHERE f.order_id IN ('W1', 'W2') AND d.customer_id = ?`, j); n != 2 {
				t.Errorf("%d of W1, W2 point at a version of J, want 2", n)
			}
			// Undo puts them back with H, the e-mail too.
			if _, err := UndoMerge(ctx, cw.w, id, Steward{User: "test", Role: "steward", Reason: "check undo"}); err != nil {
				t.Fatal(err)
			}
			for _, o := range []string{"W1", "W2", "S1"} {
				if got := cw.webSale(o); got != h {
					t.Errorf("after undo: %s is customer %d's, want H %d", o, got, h)
				}
			}
			if got := cw.webSale("W3"); got != j {
				t.Errorf("after undo: W3 (load 2's own) is customer %d's, want J %d", got, j)
			}
			if got := queryInt(t, cw.w, `SELECT customer_id FROM etl_identity WHERE key_type = 'email' AND key_value = ?`, email); got != h {
				t.Errorf("after undo: J's e-mail is customer %d's, want H %d as before", got, h)
			}
		})
	}
}

// TestCrossLoadAloneRecordsJoin: H and J (different ID numbers) both give
// the family's mobile on their CRM rows and neither uses it at the till,
// so a till line carrying only the number is nobody's for sure: it stands
// alone (one load gives all such records of a number one customer). In
// the next load H gives the number at the till with the card; a till line
// carrying only the number is again nobody's for sure (H and the lone
// customer both hold it then, at the till) and joins the customer the
// first load left alone with it, not a new one.
func TestCrossLoadAloneRecordsJoin(t *testing.T) {
	cw := newCrossWorld(t, false)
	cw.load("2024-06-30", [][]any{
		{"M00000001", "王芳", idA, "13800138000", "", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
		{"M00000002", "张伟", idB, "13800138000", "", "男", "", "北京", "北京市", "2020-03-01", "普通", "否"},
	}, []string{posLine("S1", "2024-03-01 10:00", "", "13800138000")})
	h, j, x := cw.card("M00000001"), cw.card("M00000002"), cw.sale("S1")
	if x == h || x == j {
		t.Fatalf("load 1: S1 is customer %d's, want a customer of its own (H %d, J %d tie)", x, h, j)
	}
	// H now gives the number at the till with the card: H and the lone
	// customer both use it there, and both hold it at S2's time.
	cw.load("2024-12-31", nil, []string{
		posLine("S2", "2024-09-01 10:00", "", "13800138000"),
		posLine("S3", "2024-11-01 10:00", "M00000001", "13800138000"),
	})
	if got := cw.sale("S3"); got != h {
		t.Errorf("load 2: S3 is customer %d's, want H %d", got, h)
	}
	if got := cw.sale("S2"); got != x {
		t.Errorf("load 2: S2 is customer %d's, want %d, the customer S1 stands alone as (H %d, J %d)", got, x, h, j)
	}
	if n := cw.merges(); n != 0 {
		t.Errorf("%d merges, want none", n)
	}
}

// TestReresolveContactsFollowKey: the household shares an e-mail. In load
// 1 only H is registered (card M00000001, the family's e-mail); J orders
// online (W1, W2) with J's own mobile and the family's e-mail, calls the
// call centre from that mobile (a contact) and answers a campaign giving
// that mobile (R1) — load 1 can only give all of it, and J's mobile, to H.
// A response R2 gives J's mobile with a card no customer holds yet
// (M00000003), so load 1 gives it to H by the mobile too. In load 2 J
// registers with another ID number, the mobile and the e-mail, and K
// registers card M00000003. Truth by hand: W1, W2, the contact and R1 are
// J's. The re-resolution that moves W1 and W2 to J moves the contact and R1
// with them, in the same load_split (its records in etl_customer_merge, the
// contact pointing at J's version); R2, whose card now names K, is not
// moved by the mobile (a load finds a response's customer by its card
// first; re-resolution judges only what hung on the key). Undo puts them
// all back.
func TestReresolveContactsFollowKey(t *testing.T) {
	for _, protected := range []bool{false, true} {
		t.Run(fmt.Sprintf("protected=%v", protected), func(t *testing.T) {
			cw := newCrossWorld(t, protected)
			ctx := context.Background()
			dir := t.TempDir()
			writeFile(t, dir, "callcenter_contacts_1.csv", "来电号码,来电时间,类别,满意度,坐席,时长秒\n13900139000,2024-04-15 09:00,咨询,5,A01,60\n", false)
			writeFile(t, dir, "campaigns_1.csv", "活动编号,活动名称,开始日期,结束日期,费用\nC1,春季活动,2024-01-01,2024-12-01,1000.00\n", false)
			writeFile(t, dir, "campaign_responses_1.csv", "活动编号,会员卡号,手机,触达日期,是否响应,响应日期,带来收入\n"+
				"C1,,13900139000,2024-04-01,是,2024-04-03,50.00\nC1,M00000003,13900139000,2024-04-01,是,2024-04-05,70.00\n", false)
			writeFile(t, dir, "web_orders_1.ndjson", webLine("W1", "2024-03-01", "13900139000", "fam@example.com")+"\n"+
				webLine("W2", "2024-04-01", "13900139000", "fam@example.com")+"\n", false)
			cw.loadInto(dir, "2024-06-30", [][]any{
				{"M00000001", "王芳", idA, "13800138000", "fam@example.com", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
			}, nil)
			h := cw.card("M00000001")
			contact := func() int64 { return queryInt(t, cw.w, `SELECT customer_id FROM fact_interaction`) }
			response := func(rev string) int64 {
				return queryInt(t, cw.w, `SELECT customer_id FROM fact_campaign WHERE revenue = CAST(? AS DECIMAL(18,2))`, rev)
			}
			if c, r1, r2 := contact(), response("50.00"), response("70.00"); c != h || r1 != h || r2 != h {
				t.Fatalf("load 1: contact %d, R1 %d, R2 %d; want all H %d (nothing yet tells J apart)", c, r1, r2, h)
			}
			cw.loadWeb("2024-12-31", [][]any{
				{"M00000002", "张伟", idB, "13900139000", "fam@example.com", "男", "", "北京", "北京市", "2024-08-01", "普通", "否"},
				{"M00000003", "李娜", idC, "13700137000", "", "女", "", "北京", "北京市", "2024-08-01", "普通", "否"},
			}, nil, nil)
			j := cw.card("M00000002")
			if j == h {
				t.Fatalf("J merged into H %d", h)
			}
			for o, want := range map[string]int64{"W1": j, "W2": j} {
				if got := cw.webSale(o); got != want {
					t.Errorf("after load 2: %s is customer %d's, want J %d", o, got, want)
				}
			}
			if c, r1, r2 := contact(), response("50.00"), response("70.00"); c != j || r1 != j || r2 != h {
				t.Errorf("after load 2: contact %d, R1 %d, R2 %d; want J %d, J %d, H %d", c, r1, r2, j, j, h)
			}
			if n := queryInt(t, cw.w, `SELECT count(*) FROM fact_interaction f JOIN dim_customer d USING (customer_key) WHERE d.customer_id = ?`, j); n != 1 {
				t.Errorf("the contact points at a version of J: %d, want 1", n)
			}
			if n := queryInt(t, cw.w, `SELECT count(*) FROM fact_campaign f JOIN dim_customer d USING (customer_key) WHERE d.customer_id = ? AND d.is_current`, j); n != 1 {
				t.Errorf("R1 points at J's current version: %d, want 1", n)
			}
			if n := queryInt(t, cw.w, `SELECT count(*) FROM customer_merge`); n != 1 {
				t.Fatalf("%d merge events, want one load_split", n)
			}
			id := queryInt(t, cw.w, `SELECT merge_id FROM customer_merge WHERE kind = 'load_split' AND survivor = ? AND other = ?`, h, j)
			for table, want := range map[string]int64{"fact_sales": 2, "fact_interaction": 1, "fact_campaign": 1} {
				if n := queryInt(t, cw.w, `SELECT count(*) FROM etl_customer_merge WHERE merge_id = ? AND fact_table = ? AND from_customer = ? AND to_customer = ?`, id, table, h, j); n != want {
					t.Errorf("%s: %d records in the load_split's history, want %d", table, n, want)
				}
			}
			if _, err := UndoMerge(ctx, cw.w, id, Steward{User: "test", Role: "steward", Reason: "check undo"}); err != nil {
				t.Fatal(err)
			}
			if c, r1, r2 := contact(), response("50.00"), response("70.00"); c != h || r1 != h || r2 != h {
				t.Errorf("after undo: contact %d, R1 %d, R2 %d; want all H %d", c, r1, r2, h)
			}
			if n := queryInt(t, cw.w, `SELECT count(*) FROM fact_interaction f JOIN dim_customer d USING (customer_key) WHERE d.customer_id = ?`, h); n != 1 {
				t.Errorf("after undo: the contact points at a version of H: %d, want 1", n)
			}
			for _, o := range []string{"W1", "W2"} {
				if got := cw.webSale(o); got != h {
					t.Errorf("after undo: %s is customer %d's, want H %d", o, got, h)
				}
			}
		})
	}
}
