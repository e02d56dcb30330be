package mining

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// customerItemsSQL selects (customer_id, item) for every item at the rules'
// level a customer bought before the window's end (all history up to To):
// what cross-sell must not offer again.
func (o RulesOptions) customerItemsSQL() string { return o.boughtSQL(time.Time{}, o.To) }

// boughtSQL selects the distinct (customer_id, item) bought with from ≤
// time < to (a zero bound is open).
func (o RulesOptions) boughtSQL(from, to time.Time) string {
	q := engine.QuoteIdent
	s := o.Source
	item := q(s.Item)
	if o.Level == LevelCategory {
		item = q(s.Category)
	}
	where := []string{q(s.Customer) + " IS NOT NULL", item + " IS NOT NULL", "CAST(" + q(s.Customer) + " AS BIGINT) >= 0"}
	if !from.IsZero() {
		where = append(where, fmt.Sprintf("%s >= %s", q(s.Time), dateLit(from)))
	}
	if !to.IsZero() {
		where = append(where, fmt.Sprintf("%s < %s", q(s.Time), dateLit(to)))
	}
	return fmt.Sprintf("SELECT DISTINCT CAST(%s AS BIGINT) AS customer_id, CAST(%s AS VARCHAR) AS item FROM %s AS src WHERE %s",
		q(s.Customer), item, s.relation(), strings.Join(where, " AND "))
}

// crossSellSQL ranks, for every customer of held (customer_id, item), the
// items not yet held that a rule of rules fires for (its antecedent held,
// its consequent not): each item scored by the best score of its rules (a
// SQL expression over the rule k: lift × confidence or confidence; ties: the
// lower rule id), the top n per customer, with the rule that fired. The
// ckm_cross_sell_basket macro is the same query for one basket, by
// lift × confidence.
func crossSellSQL(held, rules string, n int, score string) string {
	// A rule fires for a customer holding every antecedent item: hash joins
	// on the items (each rule's items are distinct), not a list test per
	// customer and rule.
	return fmt.Sprintf(`WITH held AS (SELECT DISTINCT customer_id, item FROM (%[1]s)),
ante AS (SELECT rule_id, unnest(antecedent) AS item, len(antecedent) AS k FROM %[2]s),
matched AS (
    SELECT h.customer_id, a.rule_id FROM held h JOIN ante a ON a.item = h.item
    GROUP BY h.customer_id, a.rule_id, a.k HAVING count(*) = a.k
    UNION ALL
    SELECT c.customer_id, r.rule_id FROM (SELECT DISTINCT customer_id FROM held) c, %[2]s r WHERE len(r.antecedent) = 0
),
fired AS (
    SELECT m.customer_id, k.consequent AS item, k.rule_id, %[4]s AS score
    FROM matched m JOIN %[2]s k ON k.rule_id = m.rule_id
    ANTI JOIN held h ON h.customer_id = m.customer_id AND h.item = k.consequent
    QUALIFY row_number() OVER (PARTITION BY m.customer_id, k.consequent ORDER BY %[4]s DESC, k.rule_id) = 1
)
SELECT customer_id, item, CAST(row_number() OVER (PARTITION BY customer_id ORDER BY score DESC, rule_id) AS INTEGER) AS rank, score, rule_id
FROM fired
QUALIFY rank <= %[3]d`, held, rules, n, score)
}

// CrossSellHoldout is precision at N of cross-sell on a time split, beside
// a popularity baseline.
type CrossSellHoldout struct {
	TrainFrom   string  `json:"train_from,omitempty"`
	Split       string  `json:"split"`
	HoldoutEnd  string  `json:"holdout_end"`
	N           int     `json:"n"`
	Rules       int     `json:"rules"`
	Rank        string  `json:"rank"`
	Customers   int64   `json:"customers"` // customers given a cross-sell recommendation
	Recommended int64   `json:"recommended"`
	Hits        int64   `json:"hits"`
	Precision   float64 `json:"precision_at_n"`
	// The baseline offers the same customers the N items held by the most
	// training baskets that they have not bought.
	BaselineRecommended int64   `json:"baseline_recommended"`
	BaselineHits        int64   `json:"baseline_hits"`
	BaselinePrecision   float64 `json:"baseline_precision_at_n"`
	// Filled offers each of the same customers N items: the rule offers,
	// then the baseline's items not among them. Precision counts only the
	// offers made, and a customer a rule fires for gets fewer than N offers
	// when fewer rules fire; filled and baseline both make N (but for a
	// customer who has bought nearly every item), so FilledPrecision beside
	// BaselinePrecision tells whether the rules' offers beat the popular
	// items they replace.
	FilledRecommended int64   `json:"filled_recommended"`
	FilledHits        int64   `json:"filled_hits"`
	FilledPrecision   float64 `json:"filled_precision_at_n"`
}

// EvaluateCrossSell mines rules on the rows before o.To (from o.From),
// recommends o.CrossSell items per customer, and counts as hits the
// recommended items a customer bought in [o.To, holdoutEnd) — beside the
// popularity baseline on the same customers. Nothing is written.
func EvaluateCrossSell(ctx context.Context, w *engine.Warehouse, o RulesOptions, holdoutEnd time.Time) (*CrossSellHoldout, error) {
	o = o.withDefaults()
	if o.To.IsZero() || holdoutEnd.IsZero() || !o.To.Before(holdoutEnd) {
		return nil, fmt.Errorf("rules: cross-sell holdout needs a split date (to) before the holdout end")
	}
	if o.CrossSell < 1 {
		return nil, fmt.Errorf("rules: cross-sell holdout needs N ≥ 1 recommendations per customer, not %d", o.CrossSell)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	run, err := startRun(ctx, w, "rules", o.Source, o.roles()...)
	if err != nil {
		return nil, err
	}
	defer run.close()
	res, err := o.mine(ctx, run)
	if err != nil {
		return nil, err
	}
	if err := writeRulesTemp(ctx, run, res.Rules, res.Baskets); err != nil {
		return nil, run.fail(err)
	}
	const recs, later, base, filled = "ckm_xsell_recs", "ckm_xsell_later", "ckm_xsell_base", "ckm_xsell_filled"
	if err := run.temp(ctx, recs, crossSellSQL(o.customerItemsSQL(), rulesTemp, o.CrossSell, o.scoreSQL())); err != nil {
		return nil, run.fail(err)
	}
	if err := run.temp(ctx, later, o.boughtSQL(o.To, holdoutEnd)); err != nil {
		return nil, run.fail(err)
	}
	// Popularity: items by training baskets, the top N not yet bought.
	if err := run.temp(ctx, base, fmt.Sprintf(`WITH pop AS (SELECT item, count(*) AS baskets FROM ckm_rules_pairs GROUP BY item),
held AS (%s),
cust AS (SELECT DISTINCT customer_id FROM %s)
SELECT c.customer_id, p.item, row_number() OVER (PARTITION BY c.customer_id ORDER BY p.baskets DESC, p.item) AS rank
FROM cust c CROSS JOIN pop p ANTI JOIN held h ON h.customer_id = c.customer_id AND h.item = p.item
QUALIFY rank <= %d`, o.customerItemsSQL(), recs, o.CrossSell)); err != nil {
		return nil, run.fail(err)
	}
	if err := run.temp(ctx, filled, fmt.Sprintf(`SELECT customer_id, item FROM (
    SELECT customer_id, item, 0 AS src, rank FROM %[1]s
    UNION ALL
    SELECT b.customer_id, b.item, 1 AS src, b.rank FROM %[2]s b ANTI JOIN %[1]s r ON r.customer_id = b.customer_id AND r.item = b.item)
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY src, rank) <= %[3]d`, recs, base, o.CrossSell)); err != nil {
		return nil, run.fail(err)
	}
	h := &CrossSellHoldout{TrainFrom: dateOrEmpty(o.From), Split: o.To.Format(time.DateOnly), HoldoutEnd: holdoutEnd.Format(time.DateOnly),
		N: o.CrossSell, Rules: res.RuleCount, Rank: o.Rank}
	err = run.conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT
        (SELECT count(DISTINCT customer_id) FROM %[1]s),
        (SELECT count(*) FROM %[1]s),
        (SELECT count(*) FROM %[1]s r SEMI JOIN %[2]s l ON l.customer_id = r.customer_id AND l.item = r.item),
        (SELECT count(*) FROM %[3]s),
        (SELECT count(*) FROM %[3]s r SEMI JOIN %[2]s l ON l.customer_id = r.customer_id AND l.item = r.item),
        (SELECT count(*) FROM %[4]s),
        (SELECT count(*) FROM %[4]s r SEMI JOIN %[2]s l ON l.customer_id = r.customer_id AND l.item = r.item)`, recs, later, base, filled)).
		Scan(&h.Customers, &h.Recommended, &h.Hits, &h.BaselineRecommended, &h.BaselineHits, &h.FilledRecommended, &h.FilledHits)
	if err != nil {
		return nil, run.fail(err)
	}
	if h.Recommended == 0 {
		return nil, fmt.Errorf("rules: no rule fired for any customer before %s (%d rules): lower the thresholds", h.Split, h.Rules)
	}
	h.Precision = float64(h.Hits) / float64(h.Recommended)
	if h.BaselineRecommended > 0 {
		h.BaselinePrecision = float64(h.BaselineHits) / float64(h.BaselineRecommended)
	}
	if h.FilledRecommended > 0 {
		h.FilledPrecision = float64(h.FilledHits) / float64(h.FilledRecommended)
	}
	return h, nil
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// Cross-sell rankings (RulesOptions.Rank).
const (
	RankLiftConfidence = "lift-confidence"
	RankConfidence     = "confidence"
)

// scoreSQL is the score of a rule k for the ranking.
func (o RulesOptions) scoreSQL() string {
	if o.Rank == RankConfidence {
		return "k.confidence"
	}
	return "k.lift * k.confidence"
}
