-- Version 4: the engine owns every persistent object.
--
-- The OLAP query log (read by `ckm cube advise`) and the rollup registry
-- were created by the olap package on first use, and the mining table
-- macros at every start; a read-only warehouse could have neither. Warehouses
-- that created the two tables already keep them (and their rows).

-- olap_query_log records the aggregate cube queries answered, for Advise.
CREATE TABLE IF NOT EXISTS olap_query_log (
    ts TIMESTAMP, cube VARCHAR, levels VARCHAR[], measures VARCHAR[], rollup VARCHAR, elapsed_ms DOUBLE);

-- olap_rollup_state is the registry of materialized rollup tables: the cube
-- and rollup a table was built for, from which model (hash) and data version,
-- and its size. A rollup of another model or an older data version is stale.
-- Rollup tables are created only through engine.CreateRollupTable.
CREATE TABLE IF NOT EXISTS olap_rollup_state (
    cube VARCHAR, rollup VARCHAR, table_name VARCHAR, model_hash VARCHAR,
    data_version BIGINT, row_count BIGINT, refreshed_at TIMESTAMP, PRIMARY KEY (cube, rollup));

-- The mining table macros (mining/macros.go generates this text and
-- TestMacrosAreMigrated checks it; a change to it is a new migration).
-- They call no Go function: none is registered when migrations run.

CREATE OR REPLACE MACRO ckm_rfm(as_of := NULL, window_days := 0) AS TABLE WITH purchases AS (SELECT CAST("customer_id" AS BIGINT) AS customer_id, CAST("order_ts" AS DATE) AS day, CAST("amount" AS DECIMAL(18,2)) AS amount FROM "fact_sales" AS src WHERE "customer_id" IS NOT NULL AND "order_ts" IS NOT NULL AND CAST("customer_id" AS BIGINT) >= 0),
days AS (
    SELECT customer_id, day, sum(amount) AS amount, bool_or(amount >= 0) AS purchase
    FROM purchases
    WHERE day <= coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM purchases)) AND (coalesce(window_days, 0) <= 0 OR day > coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM purchases)) - CAST(coalesce(window_days, 0) AS INTEGER))
    GROUP BY customer_id, day
),
totals AS (
    SELECT customer_id, max(day) FILTER (WHERE purchase) AS last_day,
           count(*) FILTER (WHERE purchase) AS frequency,
           CAST(sum(amount) AS DOUBLE) AS monetary
    FROM days GROUP BY customer_id
    HAVING count(*) FILTER (WHERE purchase) > 0
),
customers AS (
    SELECT customer_id, datediff('day', last_day, coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM purchases))) AS recency_days, frequency, monetary FROM totals
),
ranked AS (
    SELECT *, count(*) OVER () AS n,
           rank() OVER (ORDER BY recency_days DESC) AS r_rank,
           rank() OVER (ORDER BY frequency) AS f_rank,
           rank() OVER (ORDER BY monetary) AS m_rank
    FROM customers
),
scored AS (
    SELECT customer_id, recency_days, frequency, monetary,
           CAST(1 + (5 * (r_rank - 1)) // n AS INTEGER) AS r_score,
           CAST(1 + (5 * (f_rank - 1)) // n AS INTEGER) AS f_score,
           CAST(1 + (5 * (m_rank - 1)) // n AS INTEGER) AS m_score
    FROM ranked
)
SELECT customer_id, recency_days, frequency, monetary, r_score, f_score, m_score,
       CAST((f_score + m_score + 1) // 2 AS INTEGER) AS fm_score,
       100 * r_score + 10 * f_score + m_score AS rfm_score,
       CASE WHEN r_score BETWEEN 5 AND 5 AND (f_score + m_score + 1) // 2 BETWEEN 4 AND 5 THEN 'champions' WHEN r_score BETWEEN 3 AND 4 AND (f_score + m_score + 1) // 2 BETWEEN 4 AND 5 THEN 'loyal' WHEN r_score BETWEEN 4 AND 5 AND (f_score + m_score + 1) // 2 BETWEEN 2 AND 3 THEN 'potential loyalists' WHEN r_score BETWEEN 5 AND 5 AND (f_score + m_score + 1) // 2 BETWEEN 1 AND 1 THEN 'new customers' WHEN r_score BETWEEN 4 AND 4 AND (f_score + m_score + 1) // 2 BETWEEN 1 AND 1 THEN 'promising' WHEN r_score BETWEEN 3 AND 3 AND (f_score + m_score + 1) // 2 BETWEEN 3 AND 3 THEN 'need attention' WHEN r_score BETWEEN 3 AND 3 AND (f_score + m_score + 1) // 2 BETWEEN 1 AND 2 THEN 'about to sleep' WHEN r_score BETWEEN 1 AND 2 AND (f_score + m_score + 1) // 2 BETWEEN 5 AND 5 THEN 'can''t lose' WHEN r_score BETWEEN 1 AND 2 AND (f_score + m_score + 1) // 2 BETWEEN 3 AND 4 THEN 'at risk' WHEN r_score BETWEEN 2 AND 2 AND (f_score + m_score + 1) // 2 BETWEEN 1 AND 2 THEN 'hibernating' WHEN r_score BETWEEN 1 AND 1 AND (f_score + m_score + 1) // 2 BETWEEN 2 AND 2 THEN 'hibernating' WHEN r_score BETWEEN 1 AND 1 AND (f_score + m_score + 1) // 2 BETWEEN 1 AND 1 THEN 'lost' END AS segment,
       coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM purchases)) AS as_of
FROM scored;

CREATE OR REPLACE MACRO ckm_profit(as_of := NULL, window_days := 0, contact_cost := 0) AS TABLE WITH purchases AS (SELECT CAST("customer_id" AS BIGINT) AS customer_id, CAST("order_ts" AS DATE) AS day, CAST("amount" AS DECIMAL(18,2)) AS amount, CAST(coalesce("cost_amount", 0) AS DECIMAL(18,2)) AS cost FROM "fact_sales" AS src WHERE "customer_id" IS NOT NULL AND "order_ts" IS NOT NULL AND CAST("customer_id" AS BIGINT) >= 0),
params AS (SELECT coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM purchases)) AS ref_day, coalesce(window_days, 0) AS window_len, coalesce(contact_cost, 0) AS svc_rate),
sales AS (
    SELECT customer_id,
           sum(amount) FILTER (WHERE amount >= 0) AS revenue,
           -sum(amount) FILTER (WHERE amount < 0) AS returns,
           sum(cost) AS cost
    FROM purchases, params WHERE day <= ref_day AND (window_len <= 0 OR day > ref_day - CAST(window_len AS INTEGER))
    GROUP BY customer_id
),
service AS (
    SELECT customer_id, count(*) AS interactions FROM fact_interaction, params
    WHERE svc_rate > 0 AND customer_id >= 0 AND CAST(contact_ts AS DATE) <= ref_day
      AND (window_len <= 0 OR CAST(contact_ts AS DATE) > ref_day - CAST(window_len AS INTEGER))
    GROUP BY customer_id
),
customers AS (
    SELECT customer_id,
           CAST(coalesce(s.revenue, 0) AS DOUBLE) AS revenue,
           CAST(coalesce(s.returns, 0) AS DOUBLE) AS returns,
           CAST(coalesce(s.cost, 0) AS DOUBLE) AS cost,
           coalesce(v.interactions, 0) * (SELECT svc_rate FROM params) AS service_cost
    FROM sales s FULL JOIN service v USING (customer_id)
)
SELECT *, revenue - returns - cost - service_cost AS profit,
       ntile(10) OVER (ORDER BY revenue - returns - cost - service_cost DESC, customer_id) AS profit_decile
FROM customers;

CREATE OR REPLACE MACRO ckm_anomaly(as_of := NULL, period_days := 30, history_periods := 12, min_history := 4, z_threshold := 3.5, jump_factor := 3, min_change := 0, min_relative_change := 0.25) AS TABLE WITH purchases AS (SELECT CAST("customer_id" AS BIGINT) AS customer_id, CAST("order_ts" AS DATE) AS day, CAST("amount" AS DECIMAL(18,2)) AS amount FROM "fact_sales" AS src WHERE "customer_id" IS NOT NULL AND "order_ts" IS NOT NULL AND CAST("customer_id" AS BIGINT) >= 0),
params AS (
    SELECT coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM purchases)) AS ref_day, CAST(period_days AS INTEGER) AS pd,
           CAST(history_periods AS INTEGER) AS hp, CAST(min_history AS INTEGER) AS min_hist, CAST(z_threshold AS DOUBLE) AS zt,
           CAST(jump_factor AS DOUBLE) AS jf, CAST(min_change AS DOUBLE) AS min_chg, CAST(min_relative_change AS DOUBLE) AS min_rel
),
per AS (
    SELECT customer_id, CAST(datediff('day', day, ref_day) // pd AS INTEGER) AS k, sum(amount) AS amount
    FROM purchases, params WHERE day <= ref_day AND day > ref_day - pd * (hp + 1)
    GROUP BY ALL
),
span AS (SELECT customer_id, max(k) AS oldest FROM per GROUP BY customer_id),
series AS (
    SELECT s.customer_id, g.k, CAST(coalesce(p.amount, 0) AS DOUBLE) AS amount
    FROM span s JOIN range(0, (SELECT hp FROM params) + 1) g(k) ON g.k <= s.oldest
    LEFT JOIN per p ON p.customer_id = s.customer_id AND p.k = g.k
),
hist AS (SELECT customer_id, median(amount) AS med, count(*) AS n FROM series WHERE k >= 1 GROUP BY customer_id),
spread AS (
    SELECT s.customer_id, median(abs(s.amount - h.med)) AS mad, avg(abs(s.amount - h.med)) AS meanad
    FROM series s JOIN hist h USING (customer_id) WHERE s.k >= 1 GROUP BY s.customer_id
),
periods AS (
    SELECT h.customer_id, h.n, h.med, d.mad, d.meanad,
           max(s.amount) FILTER (WHERE s.k = 0) AS cur,
           max(s.amount) FILTER (WHERE s.k = 1) AS prev
    FROM hist h JOIN spread d USING (customer_id) JOIN series s USING (customer_id)
    WHERE h.n >= (SELECT min_hist FROM params) GROUP BY h.customer_id, h.n, h.med, d.mad, d.meanad
),
scored AS (
    SELECT *, CASE WHEN med <= 0 THEN NULL
                   WHEN mad > 0 THEN 0.6745 * (cur - med) / mad
                   WHEN meanad > 0 THEN (cur - med) / (1.2533 * meanad) END AS z
    FROM periods
),
flags AS (
    SELECT scored.*, cur - prev AS change,
           abs(z) >= zt AND abs(cur - med) >= min_chg AND abs(cur - med) >= min_rel * abs(med) AS z_flag,
           prev > 0 AND abs(cur - prev) >= min_chg AND (cur >= prev * jf OR cur <= prev / jf) AS jump_flag
    FROM scored, params
)
SELECT customer_id, cur, prev, med, z, change,
       concat_ws('; ',
           CASE WHEN z_flag THEN printf('amount %.2f in the last %d days vs median %.2f (robust z %.1f)', cur, (SELECT pd FROM params), med, z) END,
           CASE WHEN jump_flag THEN printf('amount %s from %.2f to %.2f (%+.0f%%)', CASE WHEN cur > prev THEN 'jumped' ELSE 'fell' END, prev, cur, 100 * (cur - prev) / prev) END
       ) AS reason
FROM flags WHERE z_flag OR jump_flag;

CREATE OR REPLACE MACRO ckm_churn(as_of := NULL, model_id := NULL, top_deciles := 3, p_alive_drop := 0.2, silence_factor := 2) AS TABLE SELECT * FROM (WITH bg AS (
    SELECT CAST(params->>'$.bgnbd.r' AS DOUBLE) AS r, CAST(params->>'$.bgnbd.alpha' AS DOUBLE) AS alpha,
           CAST(params->>'$.bgnbd.a' AS DOUBLE) AS a, CAST(params->>'$.bgnbd.b' AS DOUBLE) AS b
    FROM kb_model km WHERE km.model_id = coalesce(model_id, (SELECT max(m.model_id) FROM kb_model m WHERE m.kind = 'clv')) AND km.kind = 'clv'
),
scores AS (
    SELECT ks.customer_id,
           max(ks.value) FILTER (WHERE ks.metric = 'clv') AS clv,
           max(ks.value) FILTER (WHERE ks.metric = 'clv_decile') AS decile,
           max(ks.value) FILTER (WHERE ks.metric = 'p_alive') AS p_then
    FROM kb_customer_score ks WHERE ks.model_id = coalesce(model_id, (SELECT max(m.model_id) FROM kb_model m WHERE m.kind = 'clv')) AND ks.metric IN ('clv', 'clv_decile', 'p_alive')
    GROUP BY ks.customer_id
),
base AS (SELECT * FROM scores WHERE decile <= top_deciles),
summary AS (WITH purchases AS (SELECT CAST("customer_id" AS BIGINT) AS customer_id, CAST("order_ts" AS DATE) AS day, CAST("amount" AS DECIMAL(18,2)) AS amount FROM "fact_sales" AS src WHERE "customer_id" IS NOT NULL AND "order_ts" IS NOT NULL AND CAST("customer_id" AS BIGINT) >= 0),
days AS (
    SELECT customer_id, day, sum(amount) AS amount FROM purchases WHERE day <= coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM (SELECT CAST("customer_id" AS BIGINT) AS customer_id, CAST("order_ts" AS DATE) AS day, CAST("amount" AS DECIMAL(18,2)) AS amount FROM "fact_sales" AS src WHERE "customer_id" IS NOT NULL AND "order_ts" IS NOT NULL AND CAST("customer_id" AS BIGINT) >= 0)))
    GROUP BY customer_id, day HAVING bool_or(amount >= 0)
),
cal AS (
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day, count(*) - 1 AS frequency,
           CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, day)) / (count(*) - 1) END AS monetary
    FROM days GROUP BY customer_id
),
hold AS (SELECT NULL::BIGINT AS customer_id, 0 AS holdout WHERE false)
SELECT c.customer_id,
       CAST(c.frequency AS DOUBLE) AS frequency,
       datediff('day', c.first_day, c.last_day) / 7 AS recency,
       datediff('day', c.first_day, coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM (SELECT CAST("customer_id" AS BIGINT) AS customer_id, CAST("order_ts" AS DATE) AS day, CAST("amount" AS DECIMAL(18,2)) AS amount FROM "fact_sales" AS src WHERE "customer_id" IS NOT NULL AND "order_ts" IS NOT NULL AND CAST("customer_id" AS BIGINT) >= 0)))) / 7 AS age,
       CAST(c.monetary AS DOUBLE) AS monetary,
       CAST(coalesce(h.holdout, 0) AS DOUBLE) AS holdout,
       c.first_day, c.last_day
FROM cal c LEFT JOIN hold h USING (customer_id)
),
now AS (
    SELECT customer_id, CASE WHEN frequency = 0 THEN 1.0 ELSE 1 / (1 + bg.a / (bg.b + frequency - 1) * exp((bg.r + frequency) * (ln(bg.alpha + age) - ln(bg.alpha + recency)))) END AS p_now,
           datediff('day', last_day, coalesce(CAST(as_of AS DATE), (SELECT max(day) FROM (SELECT CAST("customer_id" AS BIGINT) AS customer_id, CAST("order_ts" AS DATE) AS day, CAST("amount" AS DECIMAL(18,2)) AS amount FROM "fact_sales" AS src WHERE "customer_id" IS NOT NULL AND "order_ts" IS NOT NULL AND CAST("customer_id" AS BIGINT) >= 0)))) AS silent_days,
           CASE WHEN frequency > 0 THEN datediff('day', first_day, last_day) / frequency END AS usual_gap
    FROM summary, bg
),
judged AS (
    SELECT b.customer_id, b.clv, CAST(b.decile AS INTEGER) AS decile, b.p_then, n.p_now, n.silent_days, n.usual_gap,
           b.p_then - n.p_now >= p_alive_drop AS dropped,
           n.usual_gap IS NOT NULL AND n.silent_days > silence_factor * n.usual_gap AS silent
    FROM base b JOIN now n USING (customer_id)
)
SELECT *, clv * (1 - p_now) AS value_at_risk,
       concat_ws('; ',
           CASE WHEN dropped THEN printf('P(alive) fell from %.2f to %.2f', p_then, p_now) END,
           CASE WHEN silent THEN printf('silent %d days, usually buys every %.0f days', silent_days, usual_gap) END) AS reason
FROM judged) WHERE dropped OR silent ORDER BY value_at_risk DESC, customer_id;

CREATE OR REPLACE MACRO ckm_clv_scores(model_id := NULL) AS TABLE SELECT s.customer_id,
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
GROUP BY s.customer_id;
