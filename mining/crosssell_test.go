package mining

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// handBaskets is five orders of five customers: {A,B}, {A,B}, {A,B,C}, {A}, {C}.
func handBaskets(t *testing.T) *engine.Warehouse {
	t.Helper()
	w, err := engine.Open(context.Background(), "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.DB.Exec(`CREATE TABLE hand AS SELECT * FROM (VALUES
        ('o1', 1, 'A'), ('o1', 1, 'B'), ('o2', 2, 'A'), ('o2', 2, 'B'),
        ('o3', 3, 'A'), ('o3', 3, 'B'), ('o3', 3, 'C'), ('o4', 4, 'A'), ('o5', 5, 'C')) t(o, c, item)`); err != nil {
		t.Fatal(err)
	}
	return w
}

var handSource = Source{Table: "SELECT *, DATE '2024-01-01' AS day FROM hand", Basket: "o", Item: "item", Customer: "c", Time: "day"}

// Cross-sell worked by hand on handBaskets at support 0.2, confidence 0.5:
// the rules are A⇒B (conf 3/4, lift 1.25), B⇒A (1, 1.25), C⇒A (1/2, 0.625),
// C⇒B (1/2, 5/6), {A,C}⇒B (1, 5/3), {B,C}⇒A (1, 1.25). Customer 4 holds
// {A}: B by A⇒B, score 0.9375; customer 5 holds {C}: B (5/12) then A
// (0.3125); customers 1–3 have no rule left to fire.
func TestCrossSellByHand(t *testing.T) {
	w := handBaskets(t)
	ctx := context.Background()
	res, err := MineRules(ctx, w, RulesOptions{Source: handSource, MinSupport: 0.2, MinConfidence: 0.5, CrossSell: 3})
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, r := range res.Rules {
		rules = append(rules, fmt.Sprintf("%s %.4f %.4f", r, r.Confidence, r.Lift))
	}
	want := []string{"{A, C} => {B} 1.0000 1.6667", "{B} => {A} 1.0000 1.2500", "{B, C} => {A} 1.0000 1.2500",
		"{A} => {B} 0.7500 1.2500", "{C} => {B} 0.5000 0.8333", "{C} => {A} 0.5000 0.6250"}
	if strings.Join(rules, "; ") != strings.Join(want, "; ") {
		t.Errorf("rules\n%s\nwant\n%s", strings.Join(rules, "; "), strings.Join(want, "; "))
	}
	if res.Recommendations != 3 {
		t.Errorf("%d recommendations, want 3", res.Recommendations)
	}
	got := queryRecs(t, w, `SELECT customer_id, item, rank, score, rule_id FROM kb_recommendation ORDER BY customer_id, rank`)
	wantRecs := "4 B 1 0.9375 {A} => {B}; 5 B 1 0.4167 {C} => {B}; 5 A 2 0.3125 {C} => {A}"
	if got != wantRecs {
		t.Errorf("kb_recommendation %s, want %s", got, wantRecs)
	}
	// The SQL macros: a customer's stored recommendations, and a basket.
	if got := queryRecs(t, w, `SELECT customer_id, item, rank, score, rule_id FROM ckm_cross_sell(5, 10)`); got != "5 B 1 0.4167 {C} => {B}; 5 A 2 0.3125 {C} => {A}" {
		t.Errorf("ckm_cross_sell(5, 10): %s", got)
	}
	if got := queryRecs(t, w, `SELECT 0, item, rank, score, rule_id FROM ckm_cross_sell_basket(['A', 'C'], 5)`); got != "0 B 1 1.6667 {A, C} => {B}" {
		t.Errorf("ckm_cross_sell_basket(['A', 'C'], 5): %s", got)
	}
	if got := queryRecs(t, w, `SELECT 0, item, rank, score, rule_id FROM ckm_cross_sell_basket(['C'], 1)`); got != "0 B 1 0.4167 {C} => {B}" {
		t.Errorf("ckm_cross_sell_basket(['C'], 1): %s", got)
	}
}

// queryRecs renders (customer, item, rank, score, rule id) rows, the rule
// as its text from kb_rule of the latest model.
func queryRecs(t *testing.T, w *engine.Warehouse, q string) string {
	t.Helper()
	rows, err := w.DB.Query(`WITH r AS (` + q + `) SELECT r.*, '{' || array_to_string(list_sort(k.antecedent), ', ') || '} => {' || k.consequent || '}'
        FROM r JOIN kb_rule k ON k.rule_id = r.rule_id AND k.model_id = (SELECT max(model_id) FROM kb_model) ORDER BY 1, 3`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var cust int64
		var item, rule string
		var rank, ruleID int
		var score float64
		if err := rows.Scan(&cust, &item, &rank, &score, &ruleID, &rule); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %d %.4f %s", cust, item, rank, math.Round(score*1e4)/1e4, rule))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "; ")
}

// The holdout by hand: rules from handBaskets (January), later purchases
// customer 4 B and customer 5 A, D (February). At N = 2 cross-sell offers
// 4: B; 5: B, A — 2 hits of 3; popularity (A 4, B 3, C 2 training baskets)
// offers 4: B, C; 5: A, B — 2 hits of 4; filled up with popularity,
// cross-sell offers 4: B, C; 5: B, A — 2 hits of 4.
func TestCrossSellHoldoutByHand(t *testing.T) {
	w := handBaskets(t)
	if _, err := w.DB.Exec(`CREATE TABLE hand2 AS SELECT *, DATE '2024-01-01' AS day FROM hand
        UNION ALL SELECT * FROM (VALUES ('o6', 4, 'B', DATE '2024-02-01'), ('o7', 5, 'A', DATE '2024-02-01'), ('o7', 5, 'D', DATE '2024-02-01')) t(o, c, item, day)`); err != nil {
		t.Fatal(err)
	}
	src := Source{Table: "hand2", Basket: "o", Item: "item", Customer: "c", Time: "day"}
	h, err := EvaluateCrossSell(context.Background(), w, RulesOptions{Source: src, MinSupport: 0.2, MinConfidence: 0.5, CrossSell: 2,
		To: day(t, "2024-02-01")}, day(t, "2024-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	if h.Rules != 6 || h.Customers != 2 || h.Recommended != 3 || h.Hits != 2 || h.BaselineRecommended != 4 || h.BaselineHits != 2 ||
		math.Abs(h.Precision-2.0/3) > 1e-12 || h.BaselinePrecision != 0.5 || h.FilledRecommended != 4 || h.FilledHits != 2 || h.FilledPrecision != 0.5 {
		t.Errorf("holdout %+v", *h)
	}
	var models int
	if err := w.DB.QueryRow(`SELECT count(*) FROM kb_model`).Scan(&models); err != nil || models != 0 {
		t.Errorf("the holdout wrote %d models (%v)", models, err)
	}
}

func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The holdout needs a split before its end and N ≥ 1, and says when no
// rule fires.
func TestCrossSellHoldoutBadInput(t *testing.T) {
	w := handBaskets(t)
	ctx := context.Background()
	jan, feb := day(t, "2024-01-01"), day(t, "2024-02-01")
	for _, c := range []struct {
		o    RulesOptions
		end  time.Time
		want string
	}{
		{RulesOptions{Source: handSource, MinSupport: 0.2, MinConfidence: 0.5, CrossSell: 2}, feb, "needs a split date"},
		{RulesOptions{Source: handSource, MinSupport: 0.2, MinConfidence: 0.5, CrossSell: 2, To: feb}, jan, "needs a split date"},
		{RulesOptions{Source: handSource, MinSupport: 0.2, MinConfidence: 0.5, To: jan}, feb, "N ≥ 1"},
		{RulesOptions{Source: handSource, MinSupport: 0.2, MinConfidence: 0.5, CrossSell: 2, To: jan}, feb, "no baskets"},
		{RulesOptions{Source: handSource, MinSupport: 0.9, MinConfidence: 0.9, CrossSell: 2, To: feb}, day(t, "2024-03-01"), "no rule fired"},
	} {
		if _, err := EvaluateCrossSell(ctx, w, c.o, c.end); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v to %s: %v, want %q", c.o, c.end.Format(time.DateOnly), err, c.want)
		}
	}
}

// The two rankings by hand on two rules for a customer holding X:
// {X} ⇒ P (confidence 0.75, lift 1) and {X} ⇒ R (confidence 0.25, lift 4).
// By lift × confidence R (1.0) comes before P (0.75); by confidence P
// (0.75) before R (0.25).
func TestCrossSellRankings(t *testing.T) {
	w := handBaskets(t)
	if _, err := w.DB.Exec(`CREATE TEMP TABLE hand_rules AS SELECT * FROM (VALUES
        (1, ['X'], 'P', 0.75, 1.0), (2, ['X'], 'R', 0.25, 4.0)) t(rule_id, antecedent, consequent, confidence, lift)`); err != nil {
		t.Fatal(err)
	}
	held := `SELECT 7 AS customer_id, 'X' AS item`
	for _, c := range []struct {
		rank, want string
	}{{RankLiftConfidence, "R 1 1.0000 2; P 2 0.7500 1"}, {RankConfidence, "P 1 0.7500 1; R 2 0.2500 2"}} {
		o := RulesOptions{Rank: c.rank}
		rows, err := w.DB.Query(`SELECT item, rank, score, rule_id FROM (` + crossSellSQL(held, "hand_rules", 5, o.scoreSQL()) + `) ORDER BY rank`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var item string
			var rank, rule int
			var score float64
			if err := rows.Scan(&item, &rank, &score, &rule); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %d %.4f %d", item, rank, score, rule))
		}
		rows.Close()
		if strings.Join(got, "; ") != c.want {
			t.Errorf("%s: %s, want %s", c.rank, strings.Join(got, "; "), c.want)
		}
	}
	if _, err := MineRules(context.Background(), w, RulesOptions{Source: handSource, MinSupport: 0.2, MinConfidence: 0.5, CrossSell: 2, Rank: "lift"}); err == nil ||
		!strings.Contains(err.Error(), `cross-sell rank "lift"`) {
		t.Errorf("rank lift: %v", err)
	}
}
