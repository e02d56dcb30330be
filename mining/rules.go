package mining

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// The item levels and basket kinds of association rules.
const (
	LevelProduct   = "product"
	LevelCategory  = "category"
	BasketOrder    = "order"
	BasketCustomer = "customer"
	AlgoFPGrowth   = "fpgrowth"
	AlgoApriori    = "apriori"
)

// salesBasketsSQL is the default source of association rules: the current
// sale lines (returns and replaced lines left out) with their product.
const salesBasketsSQL = `SELECT f.order_id, f.customer_id, f.order_ts, p.product_code, p.product_name, p.category, p.subcategory, p.product_line, f.etl_run_id
FROM fact_sales_current f JOIN dim_product p ON p.product_key = f.product_key
WHERE NOT f.is_return AND f.quantity > 0`

// RulesOptions configure association rule mining.
type RulesOptions struct {
	// Source holds the (basket, item) rows; any table or query naming a
	// basket and an item column will do. The zero Source reads the current
	// sale lines of fact_sales with dim_product: basket order_id, item
	// product_code, category category, customer customer_id, time order_ts.
	Source Source
	// MinSupport is the least share of baskets holding a rule's items, in (0, 1].
	MinSupport float64
	// MinConfidence is the least count(X ∪ Y) / count(X) of a rule X ⇒ Y, in (0, 1].
	MinConfidence float64
	// MinLen and MaxLen bound the items of a rule, antecedent and
	// consequent together (arules' minlen/maxlen); defaults 2 and 10.
	// MinLen 1 admits rules with an empty antecedent.
	MinLen, MaxLen int
	// Level is "product" (the item column, default) or "category" (the
	// source's category column).
	Level string
	// Basket is "order" (the basket column, default) or "customer" (all of
	// a customer's items in the window form one basket).
	Basket string
	// From and To keep the rows with From ≤ time < To when set (the time
	// column is then needed).
	From, To time.Time
	// Algorithm is "fpgrowth" (default) or "apriori"; both give the same rules.
	Algorithm string
	// CrossSell, when positive, also writes the top CrossSell items per
	// customer to kb_recommendation (see CrossSellSQL).
	CrossSell int
	// Rank scores a customer's cross-sell candidates: "lift-confidence"
	// (lift × confidence, the default) or "confidence" (the estimate of
	// P(item | held items), which does not favour rare items). On the
	// fixture holdouts measured (issue #12's note) confidence gave a higher
	// precision at N with category-level and customer baskets, and the same
	// within one hit with product-level order baskets.
	Rank string
	// MaxItemsets bounds the frequent itemsets held in memory (default
	// 2,000,000); more is an error (ErrTooManyItemsets), not an exhausted machine.
	MaxItemsets int
	// Top is the number of rules in RulesResult.Top (default 10).
	Top int
	// Name labels the model in kb_model ("rules").
	Name string
	// DryRun mines without writing to the knowledge base.
	DryRun bool
}

// Rule is one association rule X ⇒ {y}.
type Rule struct {
	ID              int      `json:"rule_id"`
	Antecedent      []string `json:"antecedent"`
	Consequent      string   `json:"consequent"`
	Support         float64  `json:"support"`
	Confidence      float64  `json:"confidence"`
	Lift            float64  `json:"lift"`
	Leverage        float64  `json:"leverage"`
	Conviction      *float64 `json:"conviction"` // nil: infinite (confidence 1)
	Count           int      `json:"count"`
	AntecedentCount int      `json:"antecedent_count"`
	ConsequentCount int      `json:"consequent_count"`
}

// Len is the number of items in the rule.
func (r Rule) Len() int { return len(r.Antecedent) + 1 }

// String renders the rule as {a, b} => {c}.
func (r Rule) String() string {
	return "{" + strings.Join(r.Antecedent, ", ") + "} => {" + r.Consequent + "}"
}

// RulesResult summarises a rules run.
type RulesResult struct {
	ModelID         int64          `json:"model_id"`
	Algorithm       string         `json:"algorithm"`
	Level           string         `json:"level"`
	Basket          string         `json:"basket"`
	Baskets         int            `json:"baskets"`
	Items           int            `json:"items"`
	FrequentItems   int            `json:"frequent_items"`
	Itemsets        int            `json:"itemsets"`
	RuleCount       int            `json:"rules"`
	ByLength        map[int]int    `json:"rules_by_length"`
	MineSeconds     float64        `json:"mine_seconds"`
	Recommendations int64          `json:"recommendations"`
	Top             []Rule         `json:"top"`
	Rules           []Rule         `json:"-"` // every rule, by lift, confidence, support
	params          map[string]any // the model parameters kb_model records
}

// ErrNoBaskets is returned (wrapped) when a rules source has no baskets.
var ErrNoBaskets = errors.New("no baskets")

func (o RulesOptions) withDefaults() RulesOptions {
	s := o.Source
	if s.Table == "" {
		s.Table = salesBasketsSQL
		if s.Item == "" {
			s.Item = "product_code"
		}
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&s.Basket, "order_id")
	def(&s.Item, "product_code")
	def(&s.Category, "category")
	def(&s.Customer, "customer_id")
	def(&s.Time, "order_ts")
	o.Source = s
	def(&o.Level, LevelProduct)
	def(&o.Basket, BasketOrder)
	def(&o.Algorithm, AlgoFPGrowth)
	def(&o.Name, "rules")
	if o.MinLen == 0 {
		o.MinLen = 2
	}
	if o.MaxLen == 0 {
		o.MaxLen = 10
	}
	if o.Top == 0 {
		o.Top = 10
	}
	if o.MaxItemsets == 0 {
		o.MaxItemsets = 2_000_000
	}
	if o.Rank == "" {
		o.Rank = RankLiftConfidence
	}
	return o
}

// validate names the first bad option.
func (o RulesOptions) validate() error {
	switch {
	case math.IsNaN(o.MinSupport) || o.MinSupport <= 0 || o.MinSupport > 1:
		return fmt.Errorf("rules: min support %v must be in (0, 1]", o.MinSupport)
	case math.IsNaN(o.MinConfidence) || o.MinConfidence <= 0 || o.MinConfidence > 1:
		return fmt.Errorf("rules: min confidence %v must be in (0, 1]", o.MinConfidence)
	case o.MinLen < 1 || o.MaxLen < o.MinLen:
		return fmt.Errorf("rules: need 1 ≤ min length (%d) ≤ max length (%d)", o.MinLen, o.MaxLen)
	case o.Level != LevelProduct && o.Level != LevelCategory:
		return fmt.Errorf("rules: level %q: want product or category", o.Level)
	case o.Basket != BasketOrder && o.Basket != BasketCustomer:
		return fmt.Errorf("rules: basket %q: want order or customer", o.Basket)
	case o.Algorithm != AlgoFPGrowth && o.Algorithm != AlgoApriori:
		return fmt.Errorf("rules: algorithm %q: want fpgrowth or apriori", o.Algorithm)
	case o.Rank != RankLiftConfidence && o.Rank != RankConfidence:
		return fmt.Errorf("rules: cross-sell rank %q: want lift-confidence or confidence", o.Rank)
	case o.CrossSell < 0 || o.Top < 0 || o.MaxItemsets < 0:
		return fmt.Errorf("rules: cross-sell (%d), top (%d) and max itemsets (%d) must not be negative", o.CrossSell, o.Top, o.MaxItemsets)
	case !o.From.IsZero() && !o.To.IsZero() && !o.From.Before(o.To):
		return fmt.Errorf("rules: window from %s must be before to %s", o.From.Format(time.DateOnly), o.To.Format(time.DateOnly))
	}
	return nil
}

// roles are the source columns the options need.
func (o RulesOptions) roles() []Role {
	roles := []Role{RoleBasket, RoleItem}
	if o.Basket == BasketCustomer {
		roles[0] = RoleCustomer
	}
	if o.Level == LevelCategory {
		roles[1] = RoleCategory
	}
	if !o.From.IsZero() || !o.To.IsZero() || o.CrossSell > 0 {
		roles = append(roles, RoleTime)
	}
	if o.CrossSell > 0 {
		roles = append(roles, RoleCustomer)
	}
	return roles
}

// pairsSQL selects the distinct (basket, item) pairs of the source without
// NULLs: items as text, baskets in their own type (which sorts faster than
// text).
func (o RulesOptions) pairsSQL() string {
	q := engine.QuoteIdent
	s := o.Source
	basket, item := q(s.Basket), q(s.Item)
	if o.Basket == BasketCustomer {
		basket = q(s.Customer)
	}
	if o.Level == LevelCategory {
		item = q(s.Category)
	}
	where := []string{basket + " IS NOT NULL", item + " IS NOT NULL"}
	if !o.From.IsZero() {
		where = append(where, fmt.Sprintf("%s >= %s", q(s.Time), dateLit(o.From)))
	}
	if !o.To.IsZero() {
		where = append(where, fmt.Sprintf("%s < %s", q(s.Time), dateLit(o.To)))
	}
	return fmt.Sprintf("SELECT DISTINCT %s AS basket, CAST(%s AS VARCHAR) AS item FROM %s AS src WHERE %s",
		basket, item, s.relation(), strings.Join(where, " AND "))
}

// MineRules finds the association rules of the source's baskets with one
// item on the right: DuckDB forms the distinct (basket, item) pairs, counts
// the items and numbers the frequent ones by descending frequency; Go mines
// the frequent itemsets (FP-Growth or Apriori) on the baskets as integer
// codes and forms the rules. Rules (and cross-sell recommendations) are
// written to kb_rule (kb_recommendation) with the model in one transaction.
func MineRules(ctx context.Context, w *engine.Warehouse, o RulesOptions) (*RulesResult, error) {
	o = o.withDefaults()
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
	if o.DryRun {
		return res, nil
	}
	if err := writeRulesTemp(ctx, run, res.Rules, res.Baskets); err != nil {
		return nil, run.fail(err)
	}
	writes := []kbWrite{rulesWrite}
	if o.CrossSell > 0 {
		writes = append(writes, func(ctx context.Context, tx *sql.Tx, id int64) error {
			r, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO kb_recommendation (model_id, customer_id, item, rank, score, rule_id)
                SELECT %d, customer_id, item, rank, score, rule_id FROM (%s)`, id, crossSellSQL(o.customerItemsSQL(), rulesTemp, o.CrossSell, o.scoreSQL())))
			if err != nil {
				return fmt.Errorf("recommendations: %w", err)
			}
			res.Recommendations, err = r.RowsAffected()
			return err
		})
	}
	rec := modelRecord{Name: o.Name, Status: "ok", AsOf: o.To, Params: res.params,
		Metrics: map[string]any{"baskets": res.Baskets, "items": res.Items, "frequent_items": res.FrequentItems,
			"itemsets": res.Itemsets, "rules": res.RuleCount, "rules_by_length": res.ByLength}}
	if res.ModelID, err = run.save(ctx, rec, writes...); err != nil {
		return nil, err
	}
	return res, nil
}

// mine forms the run's baskets in DuckDB and mines their rules in Go.
func (o RulesOptions) mine(ctx context.Context, run *opRun) (*RulesResult, error) {
	start := time.Now()
	res := &RulesResult{Algorithm: o.Algorithm, Level: o.Level, Basket: o.Basket, ByLength: map[int]int{}}
	const pairs, items = "ckm_rules_pairs", "ckm_rules_items"
	if err := run.temp(ctx, pairs, o.pairsSQL()); err != nil {
		return nil, run.fail(err)
	}
	if err := run.conn.QueryRowContext(ctx, "SELECT count(DISTINCT basket), count(DISTINCT item) FROM "+pairs).Scan(&res.Baskets, &res.Items); err != nil {
		return nil, run.fail(err)
	}
	if res.Baskets == 0 {
		return nil, fmt.Errorf("rules: %s: %w with an item", o.Source.name(), ErrNoBaskets)
	}
	if res.Items < 2 {
		return nil, fmt.Errorf("rules: %s: the %d baskets hold only one distinct item: rules need two", o.Source.name(), res.Baskets)
	}
	minCount := int(math.Ceil(o.MinSupport*float64(res.Baskets) - 1e-9))
	if minCount < 1 {
		minCount = 1
	}
	if err := run.temp(ctx, items, fmt.Sprintf(`SELECT item, count(*) AS baskets, CAST(row_number() OVER (ORDER BY count(*) DESC, item) - 1 AS INTEGER) AS code
        FROM %s GROUP BY item HAVING count(*) >= %d`, pairs, minCount)); err != nil {
		return nil, run.fail(err)
	}
	labels, err := readItemLabels(ctx, run.conn, items)
	if err != nil {
		return nil, run.fail(err)
	}
	res.FrequentItems = len(labels)
	b, err := readBaskets(ctx, run.conn, pairs, items, len(labels))
	if err != nil {
		return nil, run.fail(err)
	}
	mine := fpGrowth
	if o.Algorithm == AlgoApriori {
		mine = apriori
	}
	sets, err := mine(ctx, b, minCount, o.MaxLen, o.MaxItemsets)
	if err != nil {
		return nil, run.fail(err)
	}
	res.Itemsets = len(sets)
	raw, err := makeRules(ctx, sets, res.Baskets, o.MinLen, o.MaxLen, o.MinConfidence)
	if err != nil {
		return nil, run.fail(err)
	}
	res.Rules = namedRules(raw, labels, res.Baskets)
	res.RuleCount = len(res.Rules)
	for _, r := range res.Rules {
		res.ByLength[r.Len()]++
	}
	res.Top = res.Rules[:min(o.Top, len(res.Rules))]
	res.MineSeconds = time.Since(start).Seconds()
	res.params = map[string]any{"source": o.Source, "min_support": o.MinSupport, "min_confidence": o.MinConfidence,
		"min_len": o.MinLen, "max_len": o.MaxLen, "level": o.Level, "basket": o.Basket, "algorithm": o.Algorithm,
		"from": dateOrNil(o.From), "to": dateOrNil(o.To), "cross_sell": o.CrossSell, "rank": o.Rank, "min_count": minCount}
	return res, nil
}

func readItemLabels(ctx context.Context, q querier, items string) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT item FROM "+items+" ORDER BY code")
	if err != nil {
		return nil, fmt.Errorf("read items: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("read items: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// readBaskets streams the frequent items of each basket as two integer
// columns (basket number, item code), ordered, into compressed rows.
func readBaskets(ctx context.Context, q querier, pairs, items string, numItems int) (*baskets, error) {
	rows, err := q.QueryContext(ctx, `SELECT CAST(dense_rank() OVER (ORDER BY p.basket) AS INTEGER) AS b, i.code
        FROM `+pairs+` p JOIN `+items+` i USING (item) ORDER BY b, i.code`)
	if err != nil {
		return nil, fmt.Errorf("read baskets: %w", err)
	}
	defer rows.Close()
	out := &baskets{start: []int32{0}, numItems: numItems}
	last := int32(-1)
	for rows.Next() {
		var bn, code int32
		if err := rows.Scan(&bn, &code); err != nil {
			return nil, fmt.Errorf("read baskets: %w", err)
		}
		if bn != last && last >= 0 {
			out.start = append(out.start, int32(len(out.items)))
		}
		last = bn
		out.items = append(out.items, code)
	}
	if last >= 0 {
		out.start = append(out.start, int32(len(out.items)))
	}
	return out, rows.Err()
}

// namedRules turns coded rules into named ones, ordered by lift,
// confidence and support (highest first), then by length and text, and
// numbered from 1 in that order.
func namedRules(raw []assocRule, labels []string, n int) []Rule {
	out := make([]Rule, len(raw))
	for i, r := range raw {
		m := r.measures(n)
		ante := make([]string, len(r.antecedent))
		for j, c := range r.antecedent {
			ante[j] = labels[c]
		}
		sort.Strings(ante)
		var conv *float64
		if !math.IsInf(m.Conviction, 1) {
			c := m.Conviction
			conv = &c
		}
		out[i] = Rule{Antecedent: ante, Consequent: labels[r.consequent], Support: m.Support, Confidence: m.Confidence,
			Lift: m.Lift, Leverage: m.Leverage, Conviction: conv, Count: r.count, AntecedentCount: r.antecedentCount, ConsequentCount: r.consequentCount}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Lift != b.Lift {
			return a.Lift > b.Lift
		}
		if a.Confidence != b.Confidence {
			return a.Confidence > b.Confidence
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Len() != b.Len() {
			return a.Len() < b.Len()
		}
		return a.String() < b.String()
	})
	for i := range out {
		out[i].ID = i + 1
	}
	return out
}

// rulesTemp holds a run's rules before they are written to kb_rule.
const rulesTemp = "ckm_rules_found"

// writeRulesTemp appends the rules to a temp table of the run's connection
// (outside the knowledge transaction, which then copies it in one INSERT).
func writeRulesTemp(ctx context.Context, run *opRun, rules []Rule, n int) error {
	if err := run.temp(ctx, rulesTemp, `SELECT CAST(NULL AS INTEGER) AS rule_id, CAST(NULL AS VARCHAR[]) AS antecedent, CAST(NULL AS VARCHAR) AS consequent,
        CAST(NULL AS DOUBLE) AS support, CAST(NULL AS DOUBLE) AS confidence, CAST(NULL AS DOUBLE) AS lift, CAST(NULL AS DOUBLE) AS leverage,
        CAST(NULL AS DOUBLE) AS conviction, CAST(NULL AS INTEGER) AS count, CAST(NULL AS INTEGER) AS antecedent_count,
        CAST(NULL AS INTEGER) AS consequent_count, CAST(NULL AS INTEGER) AS baskets, CAST(NULL AS INTEGER) AS length LIMIT 0`); err != nil {
		return err
	}
	app, err := engine.Appender(run.conn, rulesTemp)
	if err != nil {
		return err
	}
	for _, r := range rules {
		conv := math.Inf(1)
		if r.Conviction != nil {
			conv = *r.Conviction
		}
		ante := make([]any, len(r.Antecedent))
		for i, a := range r.Antecedent {
			ante[i] = a
		}
		if err := app.AppendRow(int32(r.ID), ante, r.Consequent, r.Support, r.Confidence, r.Lift, r.Leverage, conv,
			int32(r.Count), int32(r.AntecedentCount), int32(r.ConsequentCount), int32(n), int32(r.Len())); err != nil {
			app.Close()
			return fmt.Errorf("rules: %w", err)
		}
	}
	return app.Close()
}

// rulesWrite copies the run's rules to kb_rule.
func rulesWrite(ctx context.Context, tx *sql.Tx, id int64) error {
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO kb_rule (model_id, rule_id, kind, antecedent, consequent, support, confidence, lift, count,
            leverage, conviction, antecedent_count, consequent_count, baskets, length)
        SELECT %d, rule_id, 'association', antecedent, consequent, support, confidence, lift, count,
            leverage, conviction, antecedent_count, consequent_count, baskets, length FROM %s ORDER BY rule_id`, id, rulesTemp))
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	return nil
}
