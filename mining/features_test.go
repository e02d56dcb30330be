package mining

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// featureWarehouse is a hand-made star schema around the cut-off
// 2024-07-01: every customer has rows on both sides of it.
func featureWarehouse(t *testing.T) *engine.Warehouse {
	t.Helper()
	w := handWarehouse(t, nil)
	for _, q := range []string{
		`INSERT INTO dim_customer (customer_key, customer_id, region_code, customer_type, member_level, registered_date, valid_from, valid_to, is_current) VALUES
            (1, 1, '310101', 'current', 'gold', DATE '2023-01-01', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true),
            (2, 2, '440305', 'current', 'silver', DATE '2023-01-01', TIMESTAMP '1900-01-01', TIMESTAMP '2024-08-01', false),
            (3, 2, '440305', 'current', 'gold', DATE '2023-01-01', TIMESTAMP '2024-08-01', TIMESTAMP '9999-12-31', true),
            (4, 3, '110101', 'potential', 'none', DATE '2023-01-01', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true),
            (5, 4, '110101', 'current', 'none', DATE '2024-07-15', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true)`,
		`INSERT INTO fact_sales (order_id, line_no, order_ts, customer_id, channel_key, amount, is_return, etl_run_id) VALUES
            ('a', 1, TIMESTAMP '2024-06-01 10:00', 1, 2, 100, false, 1), ('b', 1, TIMESTAMP '2024-06-21 10:00', 1, 1, 50, false, 1),
            ('c', 1, TIMESTAMP '2024-07-10 10:00', 1, 1, 999, false, 1), ('d', 1, TIMESTAMP '2024-03-02 10:00', 2, 1, 30, false, 1),
            ('e', 1, TIMESTAMP '2024-03-05 10:00', 2, 1, -10, true, 1), ('f', 1, TIMESTAMP '2024-07-02 10:00', 3, 1, 20, false, 1),
            ('g', 1, TIMESTAMP '2024-07-20 10:00', 4, 1, 20, false, 1)`,
		`INSERT INTO fact_interaction (interaction_id, contact_ts, customer_id, satisfaction) VALUES
            ('i1', TIMESTAMP '2024-05-01 09:00', 1, 2), ('i2', TIMESTAMP '2024-07-05 09:00', 1, 5)`,
		`INSERT INTO fact_campaign (response_id, campaign_key, date_key, customer_id, targeted, responded, response_date_key, revenue) VALUES
            ('r1', 1, 20240610, 1, true, true, 20240705, 80), ('r2', 2, 20240301, 2, true, true, 20240303, 30),
            ('r3', 3, 20240710, 3, true, false, NULL, 0)`,
		`INSERT INTO kb_customer_score (model_id, customer_id, metric, value, as_of) VALUES
            (7, 1, 'clv', 500, DATE '2024-06-30'), (8, 1, 'clv', 900, DATE '2024-07-31')`,
	} {
		if _, err := w.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// labelAfterCutoff labels a customer 'yes' when they buy from the cut-off on.
const labelAfterCutoff = `SELECT customer_id, CASE WHEN count(order_id) > 0 THEN 'yes' ELSE 'no' END AS label
    FROM (SELECT DISTINCT customer_id FROM dim_customer WHERE customer_id > 0) LEFT JOIN (SELECT * FROM fact_sales WHERE order_ts >= DATE '2024-07-01') USING (customer_id)
    GROUP BY customer_id`

var cutoff = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)

// The warehouse features of each customer are the hand-computed values
// from the rows before 2024-07-01 only: the sale, contact, late campaign
// response, CLV score and dimension version dated after it are unseen,
// and customer 4 (registered after it) is left out.
func TestWarehouseFeaturesBeforeCutoff(t *testing.T) {
	ctx := context.Background()
	w := featureWarehouse(t)
	run, src, st, err := startFeatureRun(ctx, w, "tree", FeatureOptions{AsOf: cutoff, LabelSQL: labelAfterCutoff}, Source{Label: "label", Features: "warehouse"})
	if err != nil {
		t.Fatal(err)
	}
	defer run.close()
	if src.Table != featureTable || src.Label != "label" || src.Features != "" || st.Labelled != 4 || st.Cases != 3 || st.Unknown != 1 {
		t.Fatalf("source %+v, stats %+v; want ckm_features, 4 labelled, 3 cases, 1 unknown", src, st)
	}
	rows, err := run.conn.QueryContext(ctx, `SELECT customer_id, concat_ws(' ', coalesce(CAST(recency_days AS VARCHAR), '-'), frequency, monetary,
            coalesce(CAST(round(avg_order_value, 2) AS VARCHAR), '-'), returns, tenure_days, round(coalesce(web_share, -1), 4), round(coalesce(pos_share, -1), 4),
            interactions, coalesce(CAST(avg_satisfaction AS VARCHAR), '-'), low_satisfaction, campaigns_targeted, campaigns_responded, campaign_revenue,
            coalesce(CAST(clv AS VARCHAR), '-'), province, customer_type, member_level, label) FROM ckm_features ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[int64]string{
		// recency 2024-07-01 − 06-21 = 10; 2 orders, 150; web 100/150; tenure 2023-01-01 → 2024-07-01 = 547 days.
		1: "10 2 150.0 75.0 0 547 0.6667 0.3333 1 2.0 1 1 0 0.0 500.0 31 current gold yes",
		// recency to the return on 03-05 = 118; the return is no order; the silver version was in force.
		2: "118 1 20.0 20.0 1 547 0.0 1.0 0 - 0 1 1 30.0 - 44 current silver no",
		// no purchase before the cut-off; the campaign of 07-10 is after it.
		3: "- 0 0.0 - 0 547 -1.0 -1.0 0 - 0 0 0 0.0 - 11 potential none yes",
	}
	n := 0
	for rows.Next() {
		var id int64
		var got string
		if err := rows.Scan(&id, &got); err != nil {
			t.Fatal(err)
		}
		n++
		if got != want[id] {
			t.Errorf("customer %d: %s\nwant        %s", id, got, want[id])
		}
	}
	if n != 3 {
		t.Errorf("%d cases, want 3", n)
	}
	// The fence is gone: the run's connection sees every sale again.
	var sales int
	if err := run.conn.QueryRowContext(ctx, `SELECT count(*) FROM fact_sales`).Scan(&sales); err != nil || sales != 7 {
		t.Errorf("after the build fact_sales has %d rows (%v), want 7", sales, err)
	}
}

// A feature query that reads the label window is refused with a message
// naming the column, the cut-off and an example customer; one that keeps
// to the rows before the cut-off joins the cases. A label query carrying
// another column, a label query with two rows for a customer and a missing
// cut-off are refused too.
func TestFeatureLeaksRefused(t *testing.T) {
	ctx := context.Background()
	w := featureWarehouse(t)
	build := func(f FeatureOptions) error {
		run, _, _, err := startFeatureRun(ctx, w, "tree", f, Source{Label: "label"})
		if err == nil {
			run.close()
		}
		return err
	}
	for _, c := range []struct {
		name, featureSQL, labelSQL, msg string
		leak                            bool
	}{
		{"all sales", "SELECT customer_id, sum(amount) AS spend FROM fact_sales GROUP BY 1", "",
			`feature query: column "spend" reads data from the cut-off 2024-07-01 on: it changes for 3 labelled customers (e.g. customer 1)`, true},
		{"main-qualified", "SELECT customer_id, max(order_ts) AS last_seen FROM main.fact_sales GROUP BY 1", "",
			`column "last_seen" reads data from the cut-off 2024-07-01 on`, true},
		{"current version", "SELECT customer_id, member_level AS level_now FROM dim_customer WHERE is_current", "",
			`column "level_now" reads data from the cut-off 2024-07-01 on: it changes for 2 labelled customers (e.g. customer 2)`, true},
		{"response after cut-off", "SELECT customer_id, bool_or(responded) AS ever_responded FROM fact_campaign GROUP BY 1", "",
			`column "ever_responded" reads data`, true},
		{"label with a feature", "", `SELECT customer_id, 'yes' AS label, (SELECT count(*) FROM fact_sales s WHERE s.customer_id = d.customer_id) AS orders FROM dim_customer d WHERE is_current AND customer_id > 0`,
			`label query: column "orders" beside customer_id and "label"`, true},
		{"two labels", "", "SELECT customer_id, 'yes' AS label FROM dim_customer WHERE customer_id > 0", `label query: customer 2 (and 0 more) has more than one row`, false},
		{"no customer_id", "SELECT 1 AS x", "", `feature query: no column "customer_id"`, false},
		{"clash", "SELECT customer_id, 1 AS recency_days FROM dim_customer", "", `column "recency_days" clashes`, false},
	} {
		label := labelAfterCutoff
		if c.labelSQL != "" {
			label = c.labelSQL
		}
		err := build(FeatureOptions{AsOf: cutoff, LabelSQL: label, FeatureSQL: c.featureSQL})
		if err == nil || !strings.Contains(err.Error(), c.msg) || errors.Is(err, ErrLeak) != c.leak {
			t.Errorf("%s: %v\nwant %q (leak %v)", c.name, err, c.msg, c.leak)
		}
	}
	if err := build(FeatureOptions{LabelSQL: labelAfterCutoff}); err == nil || !strings.Contains(err.Error(), "no cut-off date (--as-of)") {
		t.Errorf("no cut-off: %v", err)
	}
	// The same spend, kept before the cut-off, is accepted: 150 and 20.
	run, _, st, err := startFeatureRun(ctx, w, "tree", FeatureOptions{AsOf: cutoff, LabelSQL: labelAfterCutoff,
		FeatureSQL: "SELECT customer_id, sum(amount) AS spend FROM fact_sales WHERE order_ts < DATE '2024-07-01' GROUP BY 1"}, Source{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	defer run.close()
	var got string
	if err := run.conn.QueryRowContext(ctx, `SELECT string_agg(customer_id || ':' || coalesce(CAST(spend AS VARCHAR), '-'), ' ' ORDER BY customer_id) FROM ckm_features`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "1:150.00 2:20.00 3:-" || fmt.Sprint(st.Extra) != "[spend]" {
		t.Errorf("spend %q, extra %v; want 1:150.00 2:20.00 3:- and [spend]", got, st.Extra)
	}
}
