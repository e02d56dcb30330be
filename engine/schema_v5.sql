-- Version 5: the knowledge base of pattern mining — rules (association,
-- decision-tree and rough-set), cross-sell recommendations, segments with
-- their scaling, and every customer's segment per model, so the segment
-- history of a customer across successive models is a query.

-- kb_rule (version 1: model_id, rule_id, kind, antecedent, consequent,
-- support, confidence, lift, count, detail) gains the measures and counts
-- every rule kind can state. For association rules the antecedent is a list
-- of items and the consequent one item; for decision-tree and rough-set rules
-- the antecedent is a list of conditions ('tenure <= 12') and the consequent
-- the class. count is the number of baskets (rows) holding antecedent and
-- consequent together; support = count / baskets.
ALTER TABLE kb_rule ADD COLUMN leverage DOUBLE;           -- support − P(antecedent)·P(consequent)
ALTER TABLE kb_rule ADD COLUMN conviction DOUBLE;         -- (1 − P(consequent)) / (1 − confidence); +inf at confidence 1
ALTER TABLE kb_rule ADD COLUMN antecedent_count BIGINT;   -- baskets (rows) holding the antecedent
ALTER TABLE kb_rule ADD COLUMN consequent_count BIGINT;   -- baskets (rows) holding the consequent
ALTER TABLE kb_rule ADD COLUMN baskets BIGINT;            -- baskets (rows) the rule was mined on
ALTER TABLE kb_rule ADD COLUMN length INTEGER;            -- items (conditions) in antecedent and consequent

-- kb_recommendation: cross-sell, the top items per customer not yet bought,
-- ranked by score (lift × confidence of the best rule that fired), with the
-- rule (kb_rule of the same model) that fired.
CREATE TABLE kb_recommendation (
    model_id    BIGINT,
    customer_id BIGINT,
    item        VARCHAR,
    rank        INTEGER,
    score       DOUBLE,
    rule_id     INTEGER
);

-- kb_segment (version 1: model_id, segment_id, label, size, centroid,
-- description) gains what assigning a customer needs: centroid is in the
-- standardised space, x_std[i] = (x[i] − center[i]) / scale[i] over the
-- features in feature_names; feature_means is the profile in raw units.
ALTER TABLE kb_segment ADD COLUMN feature_names VARCHAR[];
ALTER TABLE kb_segment ADD COLUMN center DOUBLE[];
ALTER TABLE kb_segment ADD COLUMN scale DOUBLE[];
ALTER TABLE kb_segment ADD COLUMN feature_means DOUBLE[];
ALTER TABLE kb_segment ADD COLUMN value_share DOUBLE;     -- share of the customers' value in the segment
ALTER TABLE kb_segment ADD COLUMN inertia DOUBLE;         -- within-segment sum of squared distances

-- kb_customer_segment: every customer's segment under a model.
CREATE TABLE kb_customer_segment (
    model_id    BIGINT,
    customer_id BIGINT,
    segment_id  INTEGER,
    distance    DOUBLE,                    -- to the segment's centroid, standardised
    as_of       DATE
);

-- kb_segment_history: each customer's segment under each model with the
-- segment it had under the previous model of the same name (NULL at the
-- first), so "who moved from which segment to which" is a GROUP BY.
CREATE VIEW kb_segment_history AS
SELECT cs.customer_id, cs.model_id, m.name AS model_name, m.created_at, cs.as_of,
    cs.segment_id, s.label,
    lag(cs.model_id) OVER w AS prev_model_id,
    lag(cs.segment_id) OVER w AS prev_segment_id,
    lag(s.label) OVER w AS prev_label
FROM kb_customer_segment cs
JOIN kb_model m ON m.model_id = cs.model_id
LEFT JOIN kb_segment s ON s.model_id = cs.model_id AND s.segment_id = cs.segment_id
WINDOW w AS (PARTITION BY cs.customer_id, m.name ORDER BY cs.as_of, cs.model_id);

-- The cross-sell table macros (mining/macros.go generates this text and
-- TestMacrosAreMigrated checks it; a change to it is a new migration):
-- a customer's stored recommendations, and the stored rules fired by one basket.

CREATE OR REPLACE MACRO ckm_cross_sell(customer_id, n, model_id := NULL) AS TABLE SELECT r.customer_id, r.rank, r.item, r.score, r.rule_id, k.antecedent, k.consequent, k.support, k.confidence, k.lift, r.model_id
FROM kb_recommendation r JOIN kb_rule k ON k.model_id = r.model_id AND k.rule_id = r.rule_id
WHERE r.model_id = coalesce(model_id, (SELECT max(x.model_id) FROM kb_recommendation x))
  AND r.customer_id = customer_id AND r.rank <= n
ORDER BY r.rank;

CREATE OR REPLACE MACRO ckm_cross_sell_basket(items, n, model_id := NULL) AS TABLE WITH k AS (
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
ORDER BY rank;
