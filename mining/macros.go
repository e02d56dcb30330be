package mining

import "fmt"

// macro is a SQL table macro that runs an operator over the warehouse's
// fact tables without writing to the knowledge base.
type macro struct {
	name, params, body string
}

// macros are the table functions the engine's migrations create (version 4,
// engine/schema_v4.sql; TestMacrosAreMigrated checks the text, so a change
// here needs a new migration):
//
//	SELECT * FROM ckm_rfm(as_of := DATE '2024-12-31', window_days := 365)
//	SELECT * FROM ckm_profit(as_of := DATE '2024-12-31', contact_cost := 5)
//	SELECT * FROM ckm_anomaly(as_of := DATE '2024-12-31', period_days := 30)
//	SELECT * FROM ckm_clv_scores(model_id := 3)   -- a stored clv model, wide
//	SELECT * FROM ckm_churn(as_of := DATE '2024-12-31')  -- warnings against the latest clv model
//
// and, from version 5 (engine/schema_v5.sql), over the knowledge base:
//
//	SELECT * FROM ckm_cross_sell(42, 5)            -- customer 42's top 5 of the latest cross-sell
//	SELECT * FROM ckm_cross_sell_basket(['milk', 'bread'], 3)  -- the latest rules on a basket
//
// Every parameter has a default (as_of: the last purchase day), so each can
// also be called with none. A macro parameter replaces any unqualified
// column of the same name in the body, so parameter names must not be
// column names of the queries (hence contact_cost, and the qualified
// model_id columns).
func macros() []macro {
	src := Source{}.withDefaults()
	asOf := "coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM purchases))"
	a := AnomalyOptions{}.withDefaults()
	return []macro{
		{"ckm_rfm", "as_of := NULL, window_days := 0", rfmSQL(src, asOf, "window_days")},
		{"ckm_profit", "as_of := NULL, window_days := 0, contact_cost := 0", profitSQL(src, asOf, "window_days", "contact_cost")},
		{"ckm_anomaly", fmt.Sprintf("as_of := NULL, period_days := %d, history_periods := %d, min_history := %d, z_threshold := %v, jump_factor := %v, min_change := %v, min_relative_change := %v",
			a.PeriodDays, a.HistoryPeriods, a.MinHistory, a.ZThreshold, a.JumpFactor, a.MinChange, a.MinRelativeChange),
			anomalySQL(src, anomalyParams{asOf, "period_days", "history_periods", "min_history", "z_threshold", "jump_factor", "min_change", "min_relative_change"})},
		{"ckm_churn", "as_of := NULL, model_id := NULL, top_deciles := 3, p_alive_drop := 0.2, silence_factor := 2",
			"SELECT * FROM (" + churnSQL(src, "coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM ("+src.purchasesSQL(false)+")))",
				"coalesce(model_id, (SELECT max(m.model_id) FROM kb_model m WHERE m.kind = 'clv'))", "top_deciles", "p_alive_drop", "silence_factor") +
				") WHERE dropped OR silent ORDER BY value_at_risk DESC, customer_id"},
		{"ckm_clv_scores", "model_id := NULL", `SELECT s.customer_id,
       max(s.value) FILTER (WHERE s.metric = 'frequency') AS frequency,
       max(s.value) FILTER (WHERE s.metric = 'recency') AS recency_weeks,
       max(s.value) FILTER (WHERE s.metric = 'age') AS age_weeks,
       max(s.value) FILTER (WHERE s.metric = 'monetary') AS monetary,
       max(s.value) FILTER (WHERE s.metric = 'p_alive') AS p_alive,
       max(s.value) FILTER (WHERE s.metric = 'expected_purchases') AS expected_purchases,
       max(s.value) FILTER (WHERE s.metric = 'expected_spend') AS expected_spend,
       max(s.value) FILTER (WHERE s.metric = 'clv') AS clv,
       CAST(max(s.value) FILTER (WHERE s.metric = 'clv_decile') AS INTEGER) AS clv_decile,
       any_value(s.as_of) AS as_of, any_value(s.model_id) AS model_id
FROM kb_customer_score s
WHERE s.model_id = coalesce(model_id, (SELECT max(m.model_id) FROM kb_model m WHERE m.kind = 'clv'))
GROUP BY s.customer_id`},
		{"ckm_cross_sell", "customer_id, n, model_id := NULL", crossSellMacroSQL},
		{"ckm_cross_sell_basket", "items, n, model_id := NULL", crossSellBasketMacroSQL},
	}
}

// crossSellMacroSQL reads a customer's stored recommendations (the latest
// model with any, or model_id) with the rule that fired.
const crossSellMacroSQL = `SELECT r.customer_id, r.rank, r.item, r.score, r.rule_id, k.antecedent, k.consequent, k.support, k.confidence, k.lift, r.model_id
FROM kb_recommendation r JOIN kb_rule k ON k.model_id = r.model_id AND k.rule_id = r.rule_id
WHERE r.model_id = coalesce(model_id, (SELECT max(x.model_id) FROM kb_recommendation x))
  AND r.customer_id = customer_id AND r.rank <= n
ORDER BY r.rank`

// crossSellBasketMacroSQL is crossSellSQL for one basket of items over the
// stored rules of the latest rules model (or model_id).
const crossSellBasketMacroSQL = `WITH k AS (
    SELECT * FROM kb_rule r
    WHERE r.kind = 'association' AND r.model_id = coalesce(model_id, (SELECT max(m.model_id) FROM kb_model m WHERE m.kind = 'rules'))
),
fired AS (
    SELECT k.consequent AS item, k.rule_id, k.lift * k.confidence AS score, k.antecedent, k.confidence, k.lift, k.model_id
    FROM k
    WHERE list_has_all(CAST(items AS VARCHAR[]), k.antecedent) AND NOT list_contains(CAST(items AS VARCHAR[]), k.consequent)
    QUALIFY row_number() OVER (PARTITION BY k.consequent ORDER BY k.lift * k.confidence DESC, k.rule_id) = 1
)
SELECT CAST(row_number() OVER (ORDER BY score DESC, rule_id) AS INTEGER) AS rank, item, score, rule_id, antecedent, confidence, lift, model_id
FROM fired
QUALIFY rank <= n
ORDER BY rank`
