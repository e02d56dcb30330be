package mining

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// FeatureOptions ask for a learner's cases to be built from the star
// schema: one row per customer of the label query, with the warehouse
// features (WarehouseFeatures) computed strictly from rows dated before
// the cut-off AsOf, the extra features of FeatureSQL, and the label.
type FeatureOptions struct {
	// AsOf is the cut-off: the first day of the label window. Features see
	// only rows dated before it.
	AsOf time.Time
	// LabelSQL is a SELECT of customer_id and the label column (named by
	// the learner's Source.Label), one row per labelled customer. It may
	// read the label window; any other column is refused, since it would
	// become a feature without the leak check.
	LabelSQL string
	// FeatureSQL, optional, is a SELECT of customer_id and extra feature
	// columns. It is run twice, on the warehouse and with every row from
	// the cut-off on hidden; if any value differs it reads the label
	// window and is refused.
	FeatureSQL string
}

// Enabled says whether cases come from the warehouse.
func (f FeatureOptions) Enabled() bool { return strings.TrimSpace(f.LabelSQL) != "" }

// ErrLeak is wrapped by the refusal of a feature or label query that
// reads data from the cut-off on.
var ErrLeak = errors.New("leak")

// featureTable is the temp table the cases are built in.
const featureTable = "ckm_features"

// WarehouseFeatures are the features computed from the star schema for
// each customer, from rows dated before the cut-off.
var WarehouseFeatures = []string{"recency_days", "frequency", "monetary", "avg_order_value", "returns", "tenure_days",
	"web_share", "pos_share", "interactions", "avg_satisfaction", "low_satisfaction", "campaigns_targeted",
	"campaigns_responded", "campaign_revenue", "clv", "province", "customer_type", "member_level"}

// fencedTables are the tables whose rows from the cut-off on are hidden
// while features are computed, and how: a temp view of the same name
// shadows the table (unqualified or main.-qualified) on the run's
// connection.
func fencedTables(catalog string, asOf time.Time) map[string]string {
	d := dateLit(asOf)
	key := asOf.Format("20060102")
	t := func(name string) string { return engine.QuoteIdent(catalog) + ".main." + name }
	return map[string]string{
		"fact_sales":       "SELECT * FROM " + t("fact_sales") + " WHERE order_ts < " + d,
		"fact_interaction": "SELECT * FROM " + t("fact_interaction") + " WHERE contact_ts < " + d,
		// A member targeted before the cut-off who responds after it has
		// not responded yet as of the cut-off.
		"fact_campaign": "SELECT * REPLACE (CASE WHEN response_date_key >= " + key + " THEN false ELSE responded END AS responded, " +
			"CASE WHEN response_date_key >= " + key + " THEN NULL ELSE response_date_key END AS response_date_key, " +
			"CASE WHEN response_date_key >= " + key + " THEN 0 ELSE revenue END AS revenue) FROM " + t("fact_campaign") +
			" WHERE date_key < " + key,
		// The versions known before the cut-off; the one in force then is current.
		"dim_customer": "SELECT * REPLACE (CASE WHEN valid_to >= " + d + " THEN " + engine.HistoryEnd + " ELSE valid_to END AS valid_to, " +
			"valid_to >= " + d + " AS is_current) FROM " + t("dim_customer") +
			" WHERE valid_from < " + d + " AND (registered_date IS NULL OR registered_date < " + d + ")",
		"kb_customer_score": "SELECT * FROM " + t("kb_customer_score") + " WHERE as_of < " + d,
	}
}

// warehouseFeaturesSQL is the SELECT of the warehouse features of every
// customer known before the cut-off, over the fenced tables (so it cannot
// read the label window even if it tried).
func warehouseFeaturesSQL(asOf time.Time) string {
	d := dateLit(asOf)
	return `WITH cust AS (
    SELECT customer_id, left(region_code, 2) AS province, customer_type, member_level, registered_date
    FROM dim_customer WHERE customer_id > 0 AND is_current
    QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY valid_from DESC) = 1),
sales AS (
    SELECT s.customer_id, max(CAST(s.order_ts AS DATE)) AS last_day, min(CAST(s.order_ts AS DATE)) AS first_day,
        count(DISTINCT s.order_id) FILTER (WHERE NOT coalesce(s.is_return, false)) AS frequency,
        sum(s.amount) AS monetary,
        count(*) FILTER (WHERE coalesce(s.is_return, false)) AS returns,
        sum(s.amount) FILTER (WHERE s.amount > 0 AND c.channel_code = 'web') AS web_amount,
        sum(s.amount) FILTER (WHERE s.amount > 0 AND c.channel_code = 'pos') AS pos_amount,
        sum(s.amount) FILTER (WHERE s.amount > 0) AS gross
    FROM fact_sales s LEFT JOIN dim_channel c USING (channel_key)
    WHERE s.customer_id > 0 GROUP BY s.customer_id),
contacts AS (
    SELECT customer_id, count(*) AS interactions, avg(satisfaction) AS avg_satisfaction,
        count(*) FILTER (WHERE satisfaction <= 2) AS low_satisfaction
    FROM fact_interaction WHERE customer_id > 0 GROUP BY customer_id),
camps AS (
    SELECT customer_id, count(*) FILTER (WHERE targeted) AS campaigns_targeted,
        count(*) FILTER (WHERE responded) AS campaigns_responded, coalesce(sum(revenue), 0) AS campaign_revenue
    FROM fact_campaign WHERE customer_id > 0 GROUP BY customer_id),
clv AS (
    SELECT customer_id, value AS clv FROM kb_customer_score WHERE metric = 'clv'
    QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY as_of DESC, model_id DESC) = 1)
SELECT cust.customer_id,
    CAST(` + d + ` - s.last_day AS INTEGER) AS recency_days,
    CAST(coalesce(s.frequency, 0) AS INTEGER) AS frequency,
    CAST(coalesce(s.monetary, 0) AS DOUBLE) AS monetary,
    CAST(s.monetary / nullif(s.frequency, 0) AS DOUBLE) AS avg_order_value,
    CAST(coalesce(s.returns, 0) AS INTEGER) AS returns,
    CAST(` + d + ` - coalesce(least(cust.registered_date, s.first_day), cust.registered_date, s.first_day) AS INTEGER) AS tenure_days,
    CAST(coalesce(s.web_amount, 0) / nullif(s.gross, 0) AS DOUBLE) AS web_share,
    CAST(coalesce(s.pos_amount, 0) / nullif(s.gross, 0) AS DOUBLE) AS pos_share,
    CAST(coalesce(k.interactions, 0) AS INTEGER) AS interactions,
    CAST(k.avg_satisfaction AS DOUBLE) AS avg_satisfaction,
    CAST(coalesce(k.low_satisfaction, 0) AS INTEGER) AS low_satisfaction,
    CAST(coalesce(m.campaigns_targeted, 0) AS INTEGER) AS campaigns_targeted,
    CAST(coalesce(m.campaigns_responded, 0) AS INTEGER) AS campaigns_responded,
    CAST(coalesce(m.campaign_revenue, 0) AS DOUBLE) AS campaign_revenue,
    CAST(v.clv AS DOUBLE) AS clv,
    cust.province, cust.customer_type, cust.member_level
FROM cust LEFT JOIN sales s USING (customer_id) LEFT JOIN contacts k USING (customer_id)
    LEFT JOIN camps m USING (customer_id) LEFT JOIN clv v USING (customer_id)`
}

// FeatureStats say how the cases were built.
type FeatureStats struct {
	AsOf     string `json:"as_of"`
	Labelled int    `json:"labelled"` // rows of the label query
	Cases    int    `json:"cases"`    // labelled customers known before the cut-off
	// Unknown are labelled customers without a dim_customer version before
	// the cut-off (registered later, or not customers): left out.
	Unknown int      `json:"unknown_before_cutoff"`
	Extra   []string `json:"extra_features,omitempty"`
}

// buildFeatures builds the cases of a learner from the warehouse on the
// run's connection: the label query (unfenced), the extra feature query
// run with and without the fence (refused if they differ), and the
// warehouse features (fenced), joined into the temp table ckm_features
// (customer_id, features…, label). It returns the stats.
func buildFeatures(ctx context.Context, run *opRun, f FeatureOptions, label string) (*FeatureStats, error) {
	if f.AsOf.IsZero() {
		return nil, fmt.Errorf("features: no cut-off date (--as-of): features must come from rows before the label window")
	}
	if strings.TrimSpace(label) == "" {
		return nil, fmt.Errorf("features: no label column named")
	}
	st := &FeatureStats{AsOf: f.AsOf.Format(time.DateOnly)}
	q := engine.QuoteIdent
	cols, err := queryColumns(ctx, run.conn, f.LabelSQL)
	if err != nil {
		return nil, fmt.Errorf("label query: %w", err)
	}
	if err := needColumns("label query", cols, "customer_id", label); err != nil {
		return nil, err
	}
	for _, c := range cols {
		if !strings.EqualFold(c, "customer_id") && !strings.EqualFold(c, label) {
			return nil, fmt.Errorf("label query: column %q beside customer_id and %q: a label query gives the label only "+
				"(it may read the label window, so a column it adds could carry the future into the features: %w); "+
				"put features in the feature query, which is checked", c, label, ErrLeak)
		}
	}
	if err := run.temp(ctx, "ckm_feature_labels", "SELECT CAST(customer_id AS BIGINT) AS customer_id, "+q(label)+" AS label FROM ("+f.LabelSQL+")"); err != nil {
		return nil, fmt.Errorf("label query: %w", err)
	}
	var dups int64
	var dupID sql.NullInt64
	if err := run.conn.QueryRowContext(ctx, `SELECT count(*), min(customer_id) FROM (SELECT customer_id FROM ckm_feature_labels GROUP BY 1 HAVING count(*) > 1)`).Scan(&dups, &dupID); err != nil {
		return nil, fmt.Errorf("label query: %w", err)
	}
	if dups > 0 {
		return nil, fmt.Errorf("label query: customer %d (and %d more) has more than one row: give one label per customer", dupID.Int64, dups-1)
	}
	var extraCols []string
	if strings.TrimSpace(f.FeatureSQL) != "" {
		cols, err := queryColumns(ctx, run.conn, f.FeatureSQL)
		if err != nil {
			return nil, fmt.Errorf("feature query: %w", err)
		}
		if err := needColumns("feature query", cols, "customer_id"); err != nil {
			return nil, err
		}
		taken := map[string]bool{"label": true, strings.ToLower(label): true}
		for _, w := range WarehouseFeatures {
			taken[w] = true
		}
		for _, c := range cols {
			if strings.EqualFold(c, "customer_id") {
				continue
			}
			if taken[strings.ToLower(c)] {
				return nil, fmt.Errorf("feature query: column %q clashes with a warehouse feature or the label: rename it", c)
			}
			extraCols = append(extraCols, c)
		}
		if len(extraCols) == 0 {
			return nil, fmt.Errorf("feature query: no feature column beside customer_id")
		}
		if err := run.temp(ctx, "ckm_feature_extra_open", f.FeatureSQL); err != nil {
			return nil, fmt.Errorf("feature query: %w", err)
		}
	}
	if err := fence(ctx, run, f.AsOf); err != nil {
		return nil, err
	}
	defer unfence(run)
	if len(extraCols) > 0 {
		if err := run.temp(ctx, "ckm_feature_extra", f.FeatureSQL); err != nil {
			return nil, fmt.Errorf("feature query, with rows from the cut-off on hidden: %w", err)
		}
		if err := checkExtraLeak(ctx, run, extraCols, f.AsOf); err != nil {
			return nil, err
		}
		st.Extra = extraCols
	}
	if err := run.temp(ctx, "ckm_feature_base", warehouseFeaturesSQL(f.AsOf)); err != nil {
		return nil, fmt.Errorf("warehouse features: %w", err)
	}
	sel := "b.*"
	join := ""
	for _, c := range extraCols {
		sel += ", x." + q(c)
	}
	if len(extraCols) > 0 {
		join = " LEFT JOIN (SELECT * FROM ckm_feature_extra QUALIFY row_number() OVER (PARTITION BY customer_id) = 1) x ON x.customer_id = b.customer_id"
	}
	if err := run.temp(ctx, featureTable, "SELECT "+sel+", l.label AS "+q(label)+
		" FROM ckm_feature_labels l JOIN ckm_feature_base b ON b.customer_id = l.customer_id"+join+" ORDER BY b.customer_id"); err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	if err := run.conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ckm_feature_labels), (SELECT count(*) FROM `+featureTable+`)`).Scan(&st.Labelled, &st.Cases); err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	st.Unknown = st.Labelled - st.Cases
	if st.Cases == 0 {
		return nil, fmt.Errorf("features: none of the %d labelled customers has a dim_customer version before %s", st.Labelled, st.AsOf)
	}
	return st, nil
}

// checkExtraLeak compares the feature query's values with and without the
// fence, column by column, and refuses the first column that differs.
func checkExtraLeak(ctx context.Context, run *opRun, cols []string, asOf time.Time) error {
	q := engine.QuoteIdent
	for _, c := range cols {
		var n int64
		var example sql.NullInt64
		err := run.conn.QueryRowContext(ctx, `SELECT count(*), min(coalesce(o.customer_id, f.customer_id))
            FROM ckm_feature_extra_open o FULL JOIN ckm_feature_extra f ON o.customer_id = f.customer_id
            WHERE coalesce(o.customer_id, f.customer_id) IN (SELECT customer_id FROM ckm_feature_labels)
              AND (o.customer_id IS NULL OR f.customer_id IS NULL OR o.`+q(c)+` IS DISTINCT FROM f.`+q(c)+`)`).Scan(&n, &example)
		if err != nil {
			return fmt.Errorf("feature query: leak check of %q: %w", c, err)
		}
		if n > 0 {
			return fmt.Errorf("feature query: column %q reads data from the cut-off %s on: it changes for %d labelled customers "+
				"(e.g. customer %d) when the rows dated from %s on are hidden (fact_sales, fact_interaction, fact_campaign, "+
				"later dim_customer versions, kb_customer_score): %w; compute it from rows before the cut-off",
				c, asOf.Format(time.DateOnly), n, example.Int64, asOf.Format(time.DateOnly), ErrLeak)
		}
	}
	return nil
}

var fenceOrder = []string{"fact_sales", "fact_interaction", "fact_campaign", "dim_customer", "kb_customer_score"}

// fence shadows the dated tables with views of their rows before asOf on
// the run's connection.
func fence(ctx context.Context, run *opRun, asOf time.Time) error {
	var catalog string
	if err := run.conn.QueryRowContext(ctx, `SELECT current_database()`).Scan(&catalog); err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	views := fencedTables(catalog, asOf)
	for _, name := range fenceOrder {
		if _, err := run.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP VIEW "+name+" AS "+views[name]); err != nil {
			unfence(run)
			return fmt.Errorf("fence %s at the cut-off: %w", name, err)
		}
	}
	return nil
}

// unfence drops the fence's views.
func unfence(run *opRun) {
	for _, name := range fenceOrder {
		run.conn.ExecContext(context.Background(), "DROP VIEW IF EXISTS temp.main."+name)
	}
}

// queryColumns returns the columns of a query.
func queryColumns(ctx context.Context, conn *sql.Conn, query string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT * FROM ("+query+") AS q LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

func needColumns(what string, cols []string, need ...string) error {
	for _, n := range need {
		found := false
		for _, c := range cols {
			if strings.EqualFold(c, n) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: no column %q (columns: %s)", what, n, strings.Join(cols, ", "))
		}
	}
	return nil
}

// startFeatureRun opens a learner's run whose cases come from the
// warehouse: it builds ckm_features on the run's connection and returns
// the source to learn from (that table, the label, the features asked
// for: all but customer_id when src.Features is "" or "warehouse").
func startFeatureRun(ctx context.Context, w *engine.Warehouse, kind string, f FeatureOptions, src Source) (*opRun, Source, *FeatureStats, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, src, nil, fmt.Errorf("%s: %w", kind, err)
	}
	// Lineage: the runs of the facts the features read.
	run := &opRun{kind: kind, w: w, src: Source{Table: "fact_sales"}, conn: conn}
	st, err := buildFeatures(ctx, run, f, src.Label)
	if err != nil {
		run.close()
		return nil, src, nil, run.fail(err)
	}
	out := Source{Table: featureTable, Label: src.Label}
	if fs := strings.TrimSpace(src.Features); fs != "" && !strings.EqualFold(fs, "warehouse") {
		out.Features = src.Features
	}
	return run, out, st, nil
}

// featureParams is how kb_model's params record cases built from the
// warehouse, so the model can be rebuilt or re-scored.
func featureParams(f FeatureOptions) map[string]any {
	return map[string]any{"as_of": f.AsOf.Format(time.DateOnly), "label_sql": f.LabelSQL, "feature_sql": f.FeatureSQL,
		"warehouse_features": WarehouseFeatures, "warehouse_features_sql": warehouseFeaturesSQL(f.AsOf)}
}
