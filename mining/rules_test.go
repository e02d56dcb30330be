package mining

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// The rules and the model are written together: kb_rule holds every rule
// with the measures computed by hand from the published counts of the top
// rule ({liquor, red/blush wine} ⇒ {bottled beer}: 19 baskets of 21 holding
// the antecedent; bottled beer in 792 of 9,835 baskets).
func TestRulesPersisted(t *testing.T) {
	w := groceriesWarehouse(t)
	ctx := context.Background()
	res, err := MineRules(ctx, w, RulesOptions{Source: groceriesSource, MinSupport: 0.001, MinConfidence: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	var models, rules, lengths int
	var kind, params string
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM kb_model), (SELECT kind FROM kb_model WHERE model_id = ?), (SELECT CAST(params AS VARCHAR) FROM kb_model WHERE model_id = ?),
        (SELECT count(*) FROM kb_rule WHERE model_id = ? AND kind = 'association'), (SELECT sum(length) FROM kb_rule WHERE model_id = ?)`,
		res.ModelID, res.ModelID, res.ModelID, res.ModelID).Scan(&models, &kind, &params, &rules, &lengths); err != nil {
		t.Fatal(err)
	}
	if models != 1 || kind != "rules" || rules != 410 || lengths != 3*29+4*229+5*140+6*12 {
		t.Errorf("kb: %d models of kind %q, %d rules, lengths summing to %d", models, kind, rules, lengths)
	}
	if !strings.Contains(params, `"min_support":0.001`) || !strings.Contains(params, `"algorithm":"fpgrowth"`) {
		t.Errorf("params %s lack the thresholds or algorithm", params)
	}
	var ante []any
	var cons string
	var count, aCount, cCount, n int
	var supp, conf, lift, lev, conv float64
	if err := w.DB.QueryRow(`SELECT antecedent, consequent, count, antecedent_count, consequent_count, baskets, support, confidence, lift, leverage, conviction
        FROM kb_rule WHERE model_id = ? AND rule_id = 1`, res.ModelID).Scan(&ante, &cons, &count, &aCount, &cCount, &n, &supp, &conf, &lift, &lev, &conv); err != nil {
		t.Fatal(err)
	}
	nf := 9835.0
	wantLev := 19/nf - 21/nf*792/nf
	wantConv := (1 - 792/nf) / (1 - 19.0/21)
	if len(ante) != 2 || ante[0] != "liquor" || ante[1] != "red/blush wine" || cons != "bottled beer" || count != 19 || aCount != 21 || cCount != 792 || n != 9835 {
		t.Errorf("rule 1: %v => %s counts %d/%d/%d of %d", ante, cons, count, aCount, cCount, n)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"support", supp, 19 / nf}, {"confidence", conf, 19.0 / 21}, {"lift", lift, 19.0 / 21 / (792 / nf)}, {"leverage", lev, wantLev}, {"conviction", conv, wantConv}} {
		if math.Abs(c.got-c.want) > 1e-12*math.Abs(c.want) {
			t.Errorf("rule 1 %s %v, want %v", c.name, c.got, c.want)
		}
	}
	// A rule of confidence 1 has infinite conviction.
	var infinite int
	if err := w.DB.QueryRow(`SELECT count(*) FROM kb_rule WHERE model_id = ? AND confidence = 1 AND conviction = 'infinity'::DOUBLE`, res.ModelID).Scan(&infinite); err != nil || infinite == 0 {
		t.Errorf("%d rules of confidence 1 with infinite conviction (%v)", infinite, err)
	}
}

// A failure in a later knowledge write (cross-sell over customer ids that
// are not numbers) leaves neither the model nor its rules.
func TestRulesNoPartialKnowledge(t *testing.T) {
	w := groceriesWarehouse(t)
	ctx := context.Background()
	src := Source{Table: `SELECT basket, item, 'c' || basket AS cust, DATE '2024-01-01' AS day FROM groceries`, Basket: "basket", Item: "item", Customer: "cust", Time: "day"}
	_, err := MineRules(ctx, w, RulesOptions{Source: src, MinSupport: 0.01, MinConfidence: 0.3, CrossSell: 3})
	if err == nil {
		t.Fatal("cross-sell over text customer ids succeeded")
	}
	var models, rules, recs int
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM kb_model), (SELECT count(*) FROM kb_rule), (SELECT count(*) FROM kb_recommendation)`).Scan(&models, &rules, &recs); err != nil {
		t.Fatal(err)
	}
	if models+rules+recs != 0 {
		t.Errorf("after a failed write: %d models, %d rules, %d recommendations (%v)", models, rules, recs, err)
	}
}

// Bad thresholds and degenerate baskets give errors that say what is wrong.
func TestRulesBadInput(t *testing.T) {
	w := groceriesWarehouse(t)
	ctx := context.Background()
	if _, err := w.DB.Exec(`CREATE TABLE one_item AS SELECT range AS basket, 'milk' AS item FROM range(5);
        CREATE TABLE no_rows (basket INTEGER, item VARCHAR);
        CREATE TABLE null_items AS SELECT range AS basket, CAST(NULL AS VARCHAR) AS item FROM range(3)`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    RulesOptions
		want string
	}{
		{"NaN support", RulesOptions{MinSupport: math.NaN(), MinConfidence: 0.5}, "min support NaN must be in (0, 1]"},
		{"zero support", RulesOptions{MinSupport: 0, MinConfidence: 0.5}, "min support 0 must be in (0, 1]"},
		{"negative support", RulesOptions{MinSupport: -0.1, MinConfidence: 0.5}, "min support -0.1 must be in (0, 1]"},
		{"support above 1", RulesOptions{MinSupport: 1.5, MinConfidence: 0.5}, "min support 1.5 must be in (0, 1]"},
		{"zero confidence", RulesOptions{MinSupport: 0.1, MinConfidence: 0}, "min confidence 0 must be in (0, 1]"},
		{"NaN confidence", RulesOptions{MinSupport: 0.1, MinConfidence: math.NaN()}, "min confidence NaN must be in (0, 1]"},
		{"lengths", RulesOptions{MinSupport: 0.1, MinConfidence: 0.5, MinLen: 4, MaxLen: 3}, "min length (4) ≤ max length (3)"},
		{"level", RulesOptions{MinSupport: 0.1, MinConfidence: 0.5, Level: "brand"}, `level "brand"`},
		{"algorithm", RulesOptions{MinSupport: 0.1, MinConfidence: 0.5, Algorithm: "eclat"}, `algorithm "eclat"`},
		{"no baskets", RulesOptions{Source: Source{Table: "no_rows", Basket: "basket", Item: "item"}, MinSupport: 0.1, MinConfidence: 0.5}, "no baskets"},
		{"only null items", RulesOptions{Source: Source{Table: "null_items", Basket: "basket", Item: "item"}, MinSupport: 0.1, MinConfidence: 0.5}, "no baskets"},
		{"one item", RulesOptions{Source: Source{Table: "one_item", Basket: "basket", Item: "item"}, MinSupport: 0.1, MinConfidence: 0.5}, "only one distinct item"},
		{"unknown item column", RulesOptions{Source: Source{Table: "groceries", Basket: "basket", Item: "product"}, MinSupport: 0.1, MinConfidence: 0.5}, `unknown item column "product"`},
		{"too many itemsets", RulesOptions{Source: groceriesSource, MinSupport: 0.001, MinConfidence: 0.5, MaxItemsets: 1000}, "more than 1000 at these thresholds"},
		{"too many itemsets (apriori)", RulesOptions{Source: groceriesSource, MinSupport: 0.001, MinConfidence: 0.5, MaxItemsets: 1000, Algorithm: AlgoApriori}, "more than 1000 at these thresholds"},
		{"category level without a category", RulesOptions{Source: groceriesSource, Level: LevelCategory, MinSupport: 0.1, MinConfidence: 0.5}, `unknown category column "category"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MineRules(ctx, w, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.want == "no baskets" && !errors.Is(err, ErrNoBaskets) {
				t.Errorf("error %v is not ErrNoBaskets", err)
			}
		})
	}
	var models int
	if err := w.DB.QueryRow(`SELECT count(*) FROM kb_model`).Scan(&models); err != nil || models != 0 {
		t.Errorf("%d models after bad input (%v)", models, err)
	}
}

// Items at category level, baskets per customer, and the time window, by
// hand: orders o1 (customer 1, Jan) {A, B}, o2 (customer 1, Feb) {C},
// o3 (customer 2, Jan) {A}, o4 (customer 2, Feb) {D}; A and B are in
// category X, C and D in Y.
func TestRulesLevelsBasketsWindow(t *testing.T) {
	w := handBaskets(t)
	ctx := context.Background()
	if _, err := w.DB.Exec(`CREATE TABLE lines AS SELECT * FROM (VALUES
        ('o1', 1, 'A', 'X', DATE '2024-01-05'), ('o1', 1, 'B', 'X', DATE '2024-01-05'), ('o2', 1, 'C', 'Y', DATE '2024-02-05'),
        ('o3', 2, 'A', 'X', DATE '2024-01-09'), ('o4', 2, 'D', 'Y', DATE '2024-02-09')) t(o, c, item, cat, day)`); err != nil {
		t.Fatal(err)
	}
	src := Source{Table: "lines", Basket: "o", Item: "item", Category: "cat", Customer: "c", Time: "day"}
	rules := func(o RulesOptions) string {
		t.Helper()
		o.Source, o.DryRun = src, true
		if o.MinSupport == 0 {
			o.MinSupport, o.MinConfidence = 0.5, 0.5
		}
		res, err := MineRules(ctx, w, o)
		if err != nil {
			return err.Error()
		}
		var out []string
		for _, r := range res.Rules {
			out = append(out, fmt.Sprintf("%s %d/%d", r, r.Count, res.Baskets))
		}
		return strings.Join(out, "; ")
	}
	for _, c := range []struct {
		name string
		o    RulesOptions
		want string
	}{
		// Orders: only o1 has two items, below support 0.5 of 4 orders.
		{"orders, products", RulesOptions{MinSupport: 0.25, MinConfidence: 0.5}, "{B} => {A} 1/4; {A} => {B} 1/4"},
		// Every order holds one category: no rule.
		{"orders, categories", RulesOptions{Level: LevelCategory}, ""},
		// Customers: 1 holds {A, B, C}, 2 holds {A, D}.
		{"customers, products", RulesOptions{Basket: BasketCustomer, MinSupport: 0.5, MinConfidence: 0.5},
			// lift 2 (B and C only with customer 1), then lift 1 by confidence.
			"{B} => {C} 1/2; {C} => {B} 1/2; {A, B} => {C} 1/2; {A, C} => {B} 1/2; {B} => {A} 1/2; {C} => {A} 1/2; {D} => {A} 1/2; {B, C} => {A} 1/2; {A} => {B} 1/2; {A} => {C} 1/2; {A} => {D} 1/2"},
		{"customers, categories", RulesOptions{Basket: BasketCustomer, Level: LevelCategory}, "{X} => {Y} 2/2; {Y} => {X} 2/2"},
		// January only: customer 1 {A, B}, customer 2 {A}.
		{"customers in January", RulesOptions{Basket: BasketCustomer, To: day(t, "2024-02-01")}, "{B} => {A} 1/2; {A} => {B} 1/2"},
		// February: customer 1 {C}, customer 2 {D}.
		{"customers from February", RulesOptions{Basket: BasketCustomer, From: day(t, "2024-02-01")}, ""},
		{"customers in February, one item", RulesOptions{Basket: BasketCustomer, From: day(t, "2024-02-01"), To: day(t, "2024-02-07")}, "only one distinct item"},
	} {
		if got := rules(c.o); !strings.Contains(got, c.want) || (!strings.Contains(c.want, "item") && got != c.want) {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
