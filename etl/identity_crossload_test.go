package etl

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// Cross-load identity: the conflict rules judged against what earlier
// loads resolved, with each test's loads made by separate Load calls.

var crossCRMHeader = []any{"会员卡号", "姓名", "身份证号", "手机", "邮箱", "性别", "生日", "省份", "城市", "注册日期", "会员等级", "经销商"}

// validID completes 17 body digits with their GB 11643 check character
// (computed here independently of etl/clean).
func validID(body string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// crossWorld is a warehouse and the vault (nil: plain) its loads use.
type crossWorld struct {
	t *testing.T
	w *engine.Warehouse
	v *vault.Vault
	n int
	// rules are the identity thresholds of its loads (zero: defaults).
	rules IdentityRules
}

func newCrossWorld(t *testing.T, protected bool) *crossWorld {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	if protected {
		w, v := ProtectedWarehouse(t, path)
		return &crossWorld{t: t, w: w, v: v}
	}
	w, err := engine.Open(context.Background(), path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return &crossWorld{t: t, w: w}
}

// load loads CRM rows (crossCRMHeader's columns) and POS lines as one load
// with its own file names.
func (cw *crossWorld) load(asOf string, crm [][]any, pos []string) *Report {
	cw.t.Helper()
	return cw.loadInto(cw.t.TempDir(), asOf, crm, pos)
}

// loadInto writes the CRM rows and POS lines into dir, beside what it
// holds, and loads dir.
func (cw *crossWorld) loadInto(dir, asOf string, crm [][]any, pos []string) *Report {
	cw.t.Helper()
	cw.n++
	if len(crm) > 0 {
		writeXLSX(cw.t, dir, fmt.Sprintf("crm_customers_%d.xlsx", cw.n), "客户", append([][]any{crossCRMHeader}, crm...))
	}
	if len(pos) > 0 {
		body := mergePOSHeader
		for _, l := range pos {
			body += l + "\n"
		}
		writeFile(cw.t, dir, fmt.Sprintf("pos_sales_%d.csv", cw.n), body, false)
	}
	rep, err := Load(context.Background(), cw.w, []string{dir}, Options{AsOf: day(cw.t, asOf), Vault: cw.v, Identity: cw.rules})
	if err != nil {
		cw.t.Fatalf("load %d: %v", cw.n, err)
	}
	return rep
}

// card is the customer holding member card c.
func (cw *crossWorld) card(c string) int64 {
	cw.t.Helper()
	return queryInt(cw.t, cw.w, `SELECT customer_id FROM etl_identity WHERE key_type = 'member_card' AND key_value = ?`, c)
}

// sale is the customer of till order o.
func (cw *crossWorld) sale(o string) int64 {
	cw.t.Helper()
	return queryInt(cw.t, cw.w, `SELECT customer_id FROM fact_sales WHERE order_id = ?`, o)
}

func (cw *crossWorld) merges() int64 {
	cw.t.Helper()
	return queryInt(cw.t, cw.w, `SELECT count(*) FROM customer_merge`)
}

// mobileHolder is the customer etl_identity gives the mobile (E.164), -1
// for none; on a protected warehouse through the token's display.
func (cw *crossWorld) mobileHolder(m string) int64 {
	cw.t.Helper()
	q := `SELECT coalesce(max(customer_id), -1) FROM etl_identity WHERE key_type = 'mobile' AND key_value = ?`
	if cw.v != nil {
		m = cw.v.Token(privacy.Mobile, m)
	}
	return queryInt(cw.t, cw.w, q, m)
}

var (
	idA  = validID("11010519800101001")
	idB  = validID("44052419850505002")
	idC  = validID("32010219900909003")
	idA1 = validID("11010519800101011") // idA with one body digit mistyped, valid check
)

// TestCrossLoadWeakKeyOfOtherIDHolder: load 1 has A (ID, mobile mA) and B
// (ID, own mobile); load 2 has a CRM row carrying B's ID and A's mobile
// (a household's shared phone), without a card. A and B must not merge:
// the record is B's, the mobile stays A's.
func TestCrossLoadWeakKeyOfOtherIDHolder(t *testing.T) {
	for _, protected := range []bool{false, true} {
		t.Run(fmt.Sprintf("protected=%v", protected), func(t *testing.T) {
			cw := newCrossWorld(t, protected)
			cw.load("2024-06-30", [][]any{
				{"M00000001", "王芳", idA, "13800138000", "", "女", "", "北京", "北京市", "2020-01-05", "普通", "否"},
				{"M00000002", "张伟", idB, "13700137000", "", "男", "", "广东省", "汕头市", "2021-03-01", "普通", "否"},
			}, []string{posLine("S1", "2024-05-01 10:00", "M00000001", "13800138000")})
			a, b := cw.card("M00000001"), cw.card("M00000002")
			cw.load("2024-12-31", [][]any{
				{"", "张伟", idB, "13800138000", "", "男", "", "广东省", "汕头市", "2021-03-01", "金卡", "否"},
			}, nil)
			if n := cw.merges(); n != 0 {
				t.Errorf("%d merges, want none (A and B hold different ID numbers)", n)
			}
			if got := cw.mobileHolder("+8613800138000"); got != a {
				t.Errorf("A's mobile is customer %d's, want A %d", got, a)
			}
			if got := queryString(t, cw.w, `SELECT member_level FROM dim_customer WHERE customer_id = ? AND is_current`, b); got != "金卡" {
				t.Errorf("B's level %q: the record carrying B's ID did not go to B %d", got, b)
			}
			if got := queryString(t, cw.w, `SELECT member_level FROM dim_customer WHERE customer_id = ? AND is_current`, a); got != "普通" {
				t.Errorf("A's level %q: B's record went to A %d", got, a)
			}
		})
	}
}

// TestCrossLoadNewIDMeetsHeldWeakKey: load 2 brings a new person C (new
// card and ID) giving the mobile A had in load 1, A's CRM row with a new
// mobile, and till lines with only the old mobile. Alone in load 2 the
// mobile meets only C, but A held it with another ID number: C is a new
// customer, never A; a till line of C's time (after A's last use and
// A's new number) is C's, one of A's time is A's.
func TestCrossLoadNewIDMeetsHeldWeakKey(t *testing.T) {
	for _, protected := range []bool{false, true} {
		t.Run(fmt.Sprintf("protected=%v", protected), func(t *testing.T) {
			cw := newCrossWorld(t, protected)
			cw.load("2022-12-31", [][]any{
				{"M00000001", "王芳", idA, "13800138000", "", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
			}, []string{
				posLine("S1", "2021-05-01 10:00", "M00000001", "13800138000"),
				posLine("S2", "2022-03-01 10:00", "M00000001", "13800138000"),
			})
			a := cw.card("M00000001")
			cw.load("2024-12-31", [][]any{
				{"M00000003", "李娜", idC, "13800138000", "", "女", "", "江苏省", "南京市", "2024-02-01", "普通", "否"},
				{"M00000001", "王芳", idA, "13900139000", "", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
			}, []string{
				posLine("S3", "2024-06-01 10:00", "", "13800138000"),
				posLine("S4", "2022-06-01 10:00", "", "13800138000"), // a late till line of A's time
			})
			c := cw.card("M00000003")
			if c == a {
				t.Fatalf("new person C merged into A %d through A's old mobile", a)
			}
			if n := cw.merges(); n != 0 {
				t.Errorf("%d merges, want none", n)
			}
			if got := cw.sale("S3"); got != c {
				t.Errorf("S3 (2024, C's time with the number) is customer %d's, want C %d", got, c)
			}
			if got := cw.sale("S4"); got != a {
				t.Errorf("S4 (2022, A's time with the number) is customer %d's, want A %d", got, a)
			}
			if n := queryInt(t, cw.w, `SELECT count(DISTINCT key_value) FROM identity_link WHERE customer_id = ? AND key_type = 'id_number'`, a); n != 1 {
				t.Errorf("A has %d ID numbers in its explanation, want 1", n)
			}
		})
	}
}

// TestCrossLoadIDTypo: load 2 has a CRM row whose ID is one body digit
// from A's ID of load 1 (check character valid), on A's mobile. With name,
// birth date and region agreeing it is A's (rule id_typo); with none of
// them agreeing it is someone else's, and the shared mobile links nothing.
// The name is written in pinyin in load 2, so the evidence that agrees is
// the birth date and region A's current version holds.
// On a protected warehouse A's ID is a token in etl_identity: the rule
// compares the digits of A's ID decrypted in memory.
func TestCrossLoadIDTypo(t *testing.T) {
	for _, protected := range []bool{false, true} {
		for _, evidence := range []bool{true, false} {
			t.Run(fmt.Sprintf("protected=%v/evidence=%v", protected, evidence), func(t *testing.T) {
				cw := newCrossWorld(t, protected)
				cw.load("2024-06-30", [][]any{
					{"M00000001", "王芳", idA, "13800138000", "", "女", "1980-01-01", "北京", "北京市", "2020-01-05", "普通", "否"},
				}, nil)
				a := cw.card("M00000001")
				row := []any{"M00000009", "Wang Fang", idA1, "13800138000", "", "女", "1980-01-01", "北京", "北京市", "2024-09-01", "普通", "否"}
				if !evidence {
					row = []any{"M00000009", "赵敏", idA1, "13800138000", "", "女", "1992-07-07", "广东省", "汕头市", "2024-09-01", "普通", "否"}
				}
				cw.load("2024-12-31", [][]any{row}, []string{posLine("S9", "2024-10-01 10:00", "M00000009", "")})
				got := cw.card("M00000009")
				if evidence && got != a {
					t.Errorf("the typo row is customer %d's, want A %d", got, a)
				}
				if !evidence && got == a {
					t.Errorf("a one-digit-different ID with no agreeing evidence joined A %d", a)
				}
				if n := cw.merges(); n != 0 {
					t.Errorf("%d merges, want none", n)
				}
				if got := cw.mobileHolder("+8613800138000"); got != a {
					t.Errorf("A's mobile is customer %d's, want A %d", got, a)
				}
				rule := queryInt(t, cw.w, `SELECT count(*) FROM identity_link WHERE customer_id = ? AND rule = 'id_typo'`, a)
				if evidence && rule != 1 || !evidence && rule != 0 {
					t.Errorf("%d id_typo links of A, want %v", rule, evidence)
				}
			})
		}
	}
}

// TestCrossLoadRecycledNumber: A held the mobile in 2020-2021 (load 1);
// B, with another ID, takes it over in 2024 (load 2, with till lines
// carrying only the number in both persons' times). No merge; each till
// line goes to the holder of its time; the number's later holder B does
// not take A's ID.
func TestCrossLoadRecycledNumber(t *testing.T) {
	cw := newCrossWorld(t, false)
	cw.load("2021-12-31", [][]any{
		{"M00000001", "王芳", idA, "13800138000", "", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
	}, []string{
		posLine("S1", "2020-05-01 10:00", "M00000001", "13800138000"),
		posLine("S2", "2021-11-01 10:00", "", "13800138000"),
	})
	a := cw.card("M00000001")
	if got := cw.sale("S2"); got != a {
		t.Fatalf("load 1: S2 is customer %d's, want A %d", got, a)
	}
	cw.load("2024-12-31", [][]any{
		{"M00000002", "张伟", idB, "13800138000", "", "男", "", "广东省", "汕头市", "2024-01-10", "普通", "否"},
		{"M00000001", "王芳", idA, "13900139000", "", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
	}, []string{
		posLine("S3", "2024-03-01 10:00", "", "13800138000"),
		posLine("S4", "2021-12-20 10:00", "", "13800138000"),
		posLine("S5", "2024-04-01 10:00", "M00000002", "13800138000"),
	})
	b := cw.card("M00000002")
	if a == b || cw.merges() != 0 {
		t.Fatalf("A %d and B %d merged (%d merges)", a, b, cw.merges())
	}
	for o, want := range map[string]int64{"S1": a, "S2": a, "S3": b, "S4": a, "S5": b} {
		if got := cw.sale(o); got != want {
			t.Errorf("%s is customer %d's, want %d", o, got, want)
		}
	}
}

// TestCrossLoadHousehold: H holds the mobile and gives it at the till
// (load 1); in load 2 J, a household member with another ID, registers
// with the same mobile while H's CRM row still gives it. The mobile is
// shared, not recycled: H and J stay apart, a till line carrying only the
// number goes to H (who holds it now too and uses it at the till), and
// the explanation of J names H as the other holder.
func TestCrossLoadHousehold(t *testing.T) {
	cw := newCrossWorld(t, false)
	cw.load("2024-06-30", [][]any{
		{"M00000001", "王芳", idA, "13800138000", "", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
	}, []string{
		posLine("S1", "2024-03-01 10:00", "", "13800138000"),
		posLine("S2", "2024-05-01 10:00", "M00000001", "13800138000"),
	})
	h := cw.card("M00000001")
	cw.load("2024-12-31", [][]any{
		{"M00000002", "张伟", idB, "13800138000", "", "男", "", "北京", "北京市", "2024-08-01", "普通", "否"},
		{"M00000001", "王芳", idA, "13800138000", "", "女", "", "北京", "北京市", "2019-01-05", "银卡", "否"},
	}, []string{posLine("S3", "2024-10-01 10:00", "", "13800138000")})
	j := cw.card("M00000002")
	if h == j || cw.merges() != 0 {
		t.Fatalf("H %d and J %d merged (%d merges)", h, j, cw.merges())
	}
	if got := cw.sale("S3"); got != h {
		t.Errorf("S3 is customer %d's, want H %d", got, h)
	}
	if got := queryString(t, cw.w, `SELECT detail FROM identity_link WHERE customer_id = ? AND key_type = 'mobile' AND run_id = (SELECT max(run_id) FROM identity_link)`, j); got != fmt.Sprintf("also held by customers %d", h) {
		t.Errorf("J's mobile explained as %q, want H named", got)
	}
}

// TestCrossLoadIDTypoNameEvidence: the typo's evidence is the name and the
// birth date (the region differs). On a protected warehouse the earlier
// customer's name is stored as a token; the load opens it in memory, as it
// opens earlier ID numbers, so the name still counts as agreeing.
func TestCrossLoadIDTypoNameEvidence(t *testing.T) {
	for _, protected := range []bool{false, true} {
		t.Run(fmt.Sprintf("protected=%v", protected), func(t *testing.T) {
			cw := newCrossWorld(t, protected)
			cw.load("2024-06-30", [][]any{
				{"M00000001", "王芳", idA, "13800138000", "", "女", "1980-01-01", "北京", "北京市", "2020-01-05", "普通", "否"},
			}, nil)
			a := cw.card("M00000001")
			cw.load("2024-12-31", [][]any{
				{"M00000009", "王 芳", idA1, "13800138000", "", "女", "1980-01-01", "广东省", "汕头市", "2024-09-01", "普通", "否"},
			}, nil)
			if got := cw.card("M00000009"); got != a {
				t.Errorf("the typo row (same name and birth date, other region) is customer %d's, want A %d", got, a)
			}
			if n := cw.merges(); n != 0 {
				t.Errorf("%d merges, want none", n)
			}
		})
	}
}

// TestHouseholdWebOrderNumberAlone: H and J (different ID numbers) share
// the family's mobile; J orders online giving the number with J's own
// e-mail, H orders online giving the number alone. Truth by hand: W3 is
// H's. The channel rule must not give W3 to J because J uses the number on
// the web — J always says who they are there. Nothing tells W3 from H's
// side either (H never used the number elsewhere but the CRM), so W3
// stands alone: recall lost, but no household merged.
func TestHouseholdWebOrderNumberAlone(t *testing.T) {
	cw := newCrossWorld(t, false)
	cw.loadWeb("2024-12-31", [][]any{
		{"M00000001", "王芳", idA, "13800138000", "h@example.com", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
		{"M00000002", "张伟", idB, "13800138000", "j@example.com", "男", "", "北京", "北京市", "2020-03-01", "普通", "否"},
	}, nil, []string{
		webLine("W1", "2024-03-01", "13800138000", "j@example.com"),
		webLine("W2", "2024-05-01", "13800138000", "j@example.com"),
		webLine("W3", "2024-04-01", "13800138000", ""),
	})
	h, j := cw.card("M00000001"), cw.card("M00000002")
	for o, want := range map[string]int64{"W1": j, "W2": j} {
		if got := cw.sale(o); got != want {
			t.Errorf("%s is customer %d's, want J %d", o, got, want)
		}
	}
	if got := cw.sale("W3"); got == j {
		t.Errorf("W3 (the number alone) went to J %d, who always gives an e-mail with it online (H is %d)", j, h)
	}
}

// TestCrossLoadHouseholdWebOrderNumberAlone: TestHouseholdWebOrderNumberAlone
// over two loads. Load 1 has H's and J's CRM rows and J's web orders giving
// the family's number with J's e-mail; load 2 has H's web order giving the
// number alone (truth by hand: H's). J's earlier use of the number online
// came with J's e-mail, so identity_link does not record it as J using the
// number alone on the web, and W3 does not go to J.
func TestCrossLoadHouseholdWebOrderNumberAlone(t *testing.T) {
	cw := newCrossWorld(t, false)
	cw.loadWeb("2024-06-30", [][]any{
		{"M00000001", "王芳", idA, "13800138000", "h@example.com", "女", "", "北京", "北京市", "2019-01-05", "普通", "否"},
		{"M00000002", "张伟", idB, "13800138000", "j@example.com", "男", "", "北京", "北京市", "2020-03-01", "普通", "否"},
	}, nil, []string{
		webLine("W1", "2024-03-01", "13800138000", "j@example.com"),
		webLine("W2", "2024-05-01", "13800138000", "j@example.com"),
	})
	h, j := cw.card("M00000001"), cw.card("M00000002")
	cw.loadWeb("2024-12-31", nil, nil, []string{webLine("W3", "2024-09-01", "13800138000", "")})
	for o, want := range map[string]int64{"W1": j, "W2": j} {
		if got := cw.sale(o); got != want {
			t.Errorf("%s is customer %d's, want J %d", o, got, want)
		}
	}
	if got := cw.sale("W3"); got == j {
		t.Errorf("W3 (the number alone, load 2) went to J %d, who gave it online only with an e-mail (H is %d)", j, h)
	}
	if n := cw.merges(); n != 0 {
		t.Errorf("%d merges, want none", n)
	}
}
