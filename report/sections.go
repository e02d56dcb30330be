package report

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// sectionDef is one part of the report and how it is built.
type sectionDef struct {
	id, title, intro string
	build            func(ctx context.Context, b *builder, s *Section) error
}

var sections = []sectionDef{
	{"revenue", "Revenue by month", "Net revenue (sales less returns) per calendar month of the order, and the latest stored revenue forecast ahead of it.", revenueSection},
	{"regions", "Revenue by region", "Net revenue by province of the sale, then the first province drilled into its cities.", regionSection},
	{"rfm", "RFM segments", "Customers by recency (R) and frequency (F) score, 5 the best, as of the report's day (ckm_rfm).", rfmSection},
	{"pareto", "Where the profit comes from", "Cumulative share of customer profit (revenue less returns, cost and service cost), customers sorted from the most profitable (ckm_profit).", paretoSection},
	{"clv", "Lifetime value and churn risk", "The latest stored lifetime-value model (ckm mine clv) and the customers its churn warning (ckm mine churn) puts most value at risk.", clvSection},
	{"segments", "Segments and cross-sell", "The latest stored segmentation (ckm mine segments) and association rules (ckm mine rules).", segmentSection},
	{"quality", "Data quality per load", "Every load's rows read, loaded, rejected and duplicate (read = loaded + rejected + duplicates), and the rules that rejected or flagged rows.", qualitySection},
}

const noSales = "No sales in the warehouse yet: load the channel exports with ckm load (or try ckm demo)."

func parse(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func revenueSection(ctx context.Context, b *builder, s *Section) error {
	if b.asOf == "" {
		s.Empty = noSales
		return nil
	}
	rows, err := b.rows(ctx, `SELECT strftime(order_ts, '%Y-%m') AS month, CAST(sum(amount) AS VARCHAR) AS revenue,
       count(DISTINCT order_id) AS orders, count(DISTINCT customer_id) FILTER (WHERE customer_id > 0) AS customers
FROM fact_sales WHERE order_ts < `+b.until()+` GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		s.Empty = "No sales on or before " + b.asOf + "."
		return nil
	}
	var actual []point
	for _, r := range rows {
		actual = append(actual, point{Label: r[0], Value: parse(r[1]), Text: r[1]})
	}
	last := rows[len(rows)-1][0]
	// A forecast stored by day or week is summed by calendar month; a month
	// it covers only in part (a 14-day forecast ends mid-month) would read as
	// a collapse of revenue, so only whole months are plotted and a partial
	// one is listed with the days it covers.
	fc, err := b.rows(ctx, `WITH m AS (SELECT max(model_id) AS id FROM kb_model WHERE kind = 'forecast'),
g AS (SELECT coalesce(json_extract_string(params, '$.grain'), 'month') AS grain FROM kb_model WHERE model_id = (SELECT id FROM m)),
p AS (SELECT date_trunc('month', period)::DATE AS month, period, value, lower, upper, f.model_id, g.grain,
        CASE g.grain WHEN 'week' THEN 7 WHEN 'day' THEN 1 ELSE NULL END AS span
    FROM kb_forecast f, g WHERE f.model_id = (SELECT id FROM m) AND f.series = 'revenue'),
cov AS (SELECT date_trunc('month', t.d)::DATE AS month, count(DISTINCT t.d::DATE) AS covered
    FROM p, unnest(generate_series(p.period::TIMESTAMP, (p.period + p.span - 1)::TIMESTAMP, INTERVAL 1 DAY)) t(d)
    WHERE p.span IS NOT NULL GROUP BY 1)
SELECT strftime(p.month, '%Y-%m'), sum(value), sum(lower), sum(upper), any_value(model_id),
    CASE WHEN any_value(span) IS NULL THEN day(last_day(p.month)) ELSE coalesce(any_value(cov.covered), 0) END AS covered,
    day(last_day(p.month)) AS days
FROM p LEFT JOIN cov USING (month)
WHERE strftime(p.month, '%Y-%m') > ?
GROUP BY p.month ORDER BY p.month`, last)
	if err != nil {
		return err
	}
	var forecast []band
	var partial [][]string
	for _, r := range fc {
		if r[5] != r[6] {
			partial = append(partial, r)
			continue
		}
		forecast = append(forecast, band{Label: r[0], Value: parse(r[1]), Low: parse(r[2]), High: parse(r[3])})
	}
	caption := "Net revenue by month"
	if len(forecast) > 0 {
		caption += fmt.Sprintf("; dashed: forecast of model %s with its interval", fc[0][4])
	} else if len(partial) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("The stored forecast (model %s) covers no whole month after %s: see the table.", partial[0][4], last))
	} else {
		s.Notes = append(s.Notes, "No revenue forecast is stored beyond "+last+": ckm mine forecast writes one.")
	}
	s.Figures = append(s.Figures, Figure{Caption: caption, SVG: lineChart("Revenue by month", actual, forecast)})
	t := Table{Caption: "The last 12 months", Header: []string{"month", "revenue", "orders", "customers"}, Numeric: []bool{false, true, true, true}}
	t.Rows = rows[max(0, len(rows)-12):]
	s.Tables = append(s.Tables, t)
	if err := shortForecast(ctx, b, s); err != nil {
		return err
	}
	if len(fc) > 0 {
		ft := Table{Caption: "Forecast (the interval is the sum of the stored periods' bounds)", Header: []string{"month", "forecast", "low", "high", "covers"},
			Numeric: []bool{false, true, true, true, false}}
		for _, r := range fc {
			covers := "whole month"
			if r[5] != r[6] {
				covers = fmt.Sprintf("%s of %s days (not plotted)", r[5], r[6])
			}
			ft.Rows = append(ft.Rows, []string{r[0], money(parse(r[1])), money(parse(r[2])), money(parse(r[3])), covers})
		}
		s.Tables = append(s.Tables, ft)
	}
	return nil
}

// shortForecast plots a forecast stored by day or by week at its own
// grain: the last eight weeks of net revenue (days without sales as 0)
// and every forecast period after them with its interval. A 14-day
// forecast covers no whole month, so without this the monthly chart
// would show no forecast at all.
func shortForecast(ctx context.Context, b *builder, s *Section) error {
	rows, err := b.rows(ctx, `WITH m AS (SELECT model_id, coalesce(json_extract_string(params, '$.grain'), 'month') AS grain
    FROM kb_model WHERE kind = 'forecast' ORDER BY model_id DESC LIMIT 1)
SELECT m.model_id, m.grain, strftime(f.period, '%Y-%m-%d'), f.value, f.lower, f.upper
FROM m JOIN kb_forecast f ON f.model_id = m.model_id AND f.series = 'revenue'
WHERE m.grain IN ('day', 'week') AND f.period >= `+b.until()+` - INTERVAL 1 DAY
ORDER BY f.period`)
	if err != nil || len(rows) == 0 {
		return err
	}
	grain, first := rows[0][1], rows[0][2]
	back := map[string]string{"day": "56 days", "week": "8 weeks"}[grain]
	actual, err := b.rows(ctx, `WITH p AS (SELECT CAST(t.p AS DATE) AS period
    FROM unnest(generate_series(CAST(DATE '`+first+`' - INTERVAL `+back+` AS TIMESTAMP), CAST(DATE '`+first+`' AS TIMESTAMP) - INTERVAL 1 `+grain+`, INTERVAL 1 `+grain+`)) t(p)),
s AS (SELECT CAST(date_trunc('`+grain+`', order_ts) AS DATE) AS period, sum(amount) AS revenue
    FROM fact_sales WHERE order_ts >= DATE '`+first+`' - INTERVAL `+back+` AND order_ts < DATE '`+first+`' AND order_ts < `+b.until()+` GROUP BY 1)
SELECT strftime(p.period, '%Y-%m-%d'), CAST(coalesce(s.revenue, 0) AS VARCHAR) FROM p LEFT JOIN s USING (period)
WHERE p.period < `+b.until()+` ORDER BY p.period`)
	if err != nil {
		return err
	}
	var pts []point
	for _, r := range actual {
		pts = append(pts, point{Label: r[0], Value: parse(r[1]), Text: r[1]})
	}
	var bands []band
	for _, r := range rows {
		bands = append(bands, band{Label: r[2], Value: parse(r[3]), Low: parse(r[4]), High: parse(r[5])})
	}
	title := map[string]string{"day": "Revenue by day", "week": "Revenue by week"}[grain]
	s.Figures = append(s.Figures, Figure{
		Caption: fmt.Sprintf("%s, the last %s and the forecast of model %s (dashed, %d %ss ahead) with its interval", title, back, rows[0][0], len(rows), grain),
		SVG:     lineChart(title, pts, bands)})
	return nil
}

func regionSection(ctx context.Context, b *builder, s *Section) error {
	if b.asOf == "" {
		s.Empty = noSales
		return nil
	}
	q := `SELECT coalesce(r.%[1]s, '(unknown)') AS name, CAST(sum(f.amount) AS VARCHAR) AS revenue,
       CAST(round(100 * sum(f.amount) / sum(sum(f.amount)) OVER (), 1) AS VARCHAR) AS share,
       count(DISTINCT f.customer_id) FILTER (WHERE f.customer_id > 0) AS customers
FROM fact_sales f LEFT JOIN dim_region r ON r.region_key = f.region_key
WHERE f.order_ts < ` + b.until() + ` %[2]s
GROUP BY 1 ORDER BY sum(f.amount) DESC, 1`
	prov, err := b.rows(ctx, fmt.Sprintf(q, "province", ""))
	if err != nil {
		return err
	}
	if len(prov) == 0 {
		s.Empty = "No sales on or before " + b.asOf + "."
		return nil
	}
	bars := func(rows [][]string) []point {
		var ps []point
		for _, r := range rows[:min(len(rows), 12)] {
			ps = append(ps, point{Label: r[0], Value: parse(r[1]), Text: r[1]})
		}
		return ps
	}
	s.Figures = append(s.Figures, Figure{Caption: "Net revenue by province (top 12)", SVG: barChart("Revenue by province", bars(prov))})
	s.Tables = append(s.Tables, Table{Caption: "Provinces", Header: []string{"province", "revenue", "share %", "customers"},
		Numeric: []bool{false, true, true, true}, Rows: prov[:min(len(prov), 12)]})
	top := prov[0][0]
	if top == "(unknown)" {
		return nil
	}
	city, err := b.rows(ctx, fmt.Sprintf(q, "city", "AND r.province = ?"), top)
	if err != nil {
		return err
	}
	s.Figures = append(s.Figures, Figure{Caption: "Drill: " + top + " by city", SVG: barChart("Revenue of "+top+" by city", bars(city))})
	return nil
}

func rfmSection(ctx context.Context, b *builder, s *Section) error {
	if b.asOf == "" {
		s.Empty = noSales
		return nil
	}
	rfm := "ckm_rfm(as_of := DATE '" + b.asOf + "')"
	grid, err := b.rows(ctx, `SELECT CAST(r_score AS VARCHAR), CAST(f_score AS VARCHAR), count(*), CAST(round(avg(monetary), 2) AS VARCHAR)
FROM `+rfm+` GROUP BY ALL`)
	if err != nil {
		return err
	}
	if len(grid) == 0 {
		s.Empty = "No customer bought on or before " + b.asOf + "."
		return nil
	}
	var cells []cell
	rs, fs := map[string]bool{}, map[string]bool{}
	for _, r := range grid {
		cells = append(cells, cell{Row: r[0], Col: r[1], Value: parse(r[2]), Text: r[2], Note: ", average spend " + r[3]})
		rs[r[0]], fs[r[1]] = true, true
	}
	rows, cols := keys(rs), keys(fs)
	sort.Sort(sort.Reverse(sort.StringSlice(rows)))
	s.Figures = append(s.Figures, Figure{Caption: "Customers by R score (rows, 5 = most recent) and F score (columns, 5 = most frequent)",
		SVG: heatGrid("RFM grid", "R", "F", rows, cols, cells)})
	seg, err := b.rows(ctx, `SELECT segment, count(*) AS customers, CAST(round(avg(recency_days)) AS BIGINT) AS recency_days,
       CAST(round(avg(frequency), 1) AS VARCHAR) AS orders, CAST(CAST(sum(monetary) AS DECIMAL(18,2)) AS VARCHAR) AS spend
FROM `+rfm+` GROUP BY 1 ORDER BY 2 DESC, 1`)
	if err != nil {
		return err
	}
	s.Tables = append(s.Tables, Table{Caption: "Segments", Header: []string{"segment", "customers", "avg recency days", "avg orders", "spend"},
		Numeric: []bool{false, true, true, true, true}, Rows: seg})
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func paretoSection(ctx context.Context, b *builder, s *Section) error {
	if b.asOf == "" {
		s.Empty = noSales
		return nil
	}
	profits, err := b.rows(ctx, `SELECT CAST(profit AS VARCHAR) FROM ckm_profit(as_of := DATE '`+b.asOf+`') ORDER BY profit DESC, customer_id`)
	if err != nil {
		return err
	}
	n := len(profits)
	if n == 0 {
		s.Empty = "No customer bought on or before " + b.asOf + "."
		return nil
	}
	total := 0.0
	for _, p := range profits {
		total += parse(p[0])
	}
	if total <= 0 {
		s.Empty = fmt.Sprintf("The %d customers' profit sums to %s: no share to draw.", n, money(total))
		return nil
	}
	xs, ys := []float64{0}, []float64{0}
	step := max(1, n/400)
	cum := 0.0
	for i, p := range profits {
		cum += parse(p[0])
		if (i+1)%step == 0 || i == n-1 {
			xs, ys = append(xs, float64(i+1)/float64(n)), append(ys, cum/total)
		}
	}
	top := TopShare(profits, 0.2)
	mark := fmt.Sprintf("top 20%%: %.1f%% of profit", 100*top)
	s.Figures = append(s.Figures, Figure{Caption: fmt.Sprintf("Cumulative share of profit over %d customers; the diagonal is an even spread", n),
		SVG: curveChart("Pareto curve of customer profit", xs, ys, 0.2, mark)})
	dec, err := b.rows(ctx, `SELECT profit_decile AS decile, count(*) AS customers, CAST(CAST(sum(profit) AS DECIMAL(18,2)) AS VARCHAR) AS profit,
       CAST(round(100 * sum(profit) / sum(sum(profit)) OVER (), 1) AS VARCHAR) AS share
FROM ckm_profit(as_of := DATE '`+b.asOf+`') GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return err
	}
	s.Tables = append(s.Tables, Table{Caption: "Profit by decile (1 = most profitable)", Header: []string{"decile", "customers", "profit", "share %"},
		Numeric: []bool{true, true, true, true}, Rows: dec})
	return nil
}

// TopShare returns the share of the total that the first ceil(frac·n)
// values of sorted (descending, as text) hold.
func TopShare(sorted [][]string, frac float64) float64 {
	k := int(math.Ceil(frac * float64(len(sorted))))
	top, total := 0.0, 0.0
	for i, p := range sorted {
		v := parse(p[0])
		total += v
		if i < k {
			top += v
		}
	}
	if total == 0 {
		return 0
	}
	return top / total
}

// latestModel returns the newest model of a kind and its as-of day.
func (b *builder) latestModel(ctx context.Context, kind string) (id, asOf string, err error) {
	rows, err := b.rows(ctx, `SELECT m.model_id, (SELECT max(as_of) FROM kb_customer_score s WHERE s.model_id = m.model_id)
FROM kb_model m WHERE kind = ? ORDER BY model_id DESC LIMIT 1`, kind)
	if err != nil || len(rows) == 0 {
		return "", "", err
	}
	return rows[0][0], rows[0][1], nil
}

func clvSection(ctx context.Context, b *builder, s *Section) error {
	clv, clvAsOf, err := b.latestModel(ctx, "clv")
	if err != nil {
		return err
	}
	if clv == "" {
		s.Empty = "No lifetime-value model is stored yet: ckm mine clv writes one (and ckm mine churn its warnings)."
		return nil
	}
	vals, err := b.rows(ctx, `SELECT value FROM kb_customer_score WHERE model_id = ? AND metric = 'clv' ORDER BY value`, clv)
	if err != nil {
		return err
	}
	if len(vals) > 0 {
		s.Figures = append(s.Figures, Figure{Caption: fmt.Sprintf("Customers by lifetime value, model %s as of %s (the last bar holds the top 1 %%)", clv, clvAsOf),
			SVG: columnChart("CLV distribution", histogram(vals, 12))})
		sum, err := b.rows(ctx, `SELECT count(*), CAST(CAST(avg(value) AS DECIMAL(18,2)) AS VARCHAR), CAST(CAST(median(value) AS DECIMAL(18,2)) AS VARCHAR), CAST(CAST(sum(value) AS DECIMAL(18,2)) AS VARCHAR)
FROM kb_customer_score WHERE model_id = ? AND metric = 'clv'`, clv)
		if err != nil {
			return err
		}
		s.Tables = append(s.Tables, Table{Caption: "Lifetime value, model " + clv, Header: []string{"customers", "mean", "median", "total"},
			Numeric: []bool{true, true, true, true}, Rows: sum})
	}
	churn, _, err := b.latestModel(ctx, "churn")
	if err != nil {
		return err
	}
	if churn == "" {
		s.Notes = append(s.Notes, "No churn warning is stored: ckm mine churn writes one.")
		return nil
	}
	risk, err := b.rows(ctx, `SELECT s.customer_id, c.name, c.member_level, CAST(CAST(s.value AS DECIMAL(18,2)) AS VARCHAR) AS value_at_risk, s.label AS reason
FROM kb_customer_score s LEFT JOIN analyst.dim_customer c ON c.customer_id = s.customer_id AND c.is_current
WHERE s.model_id = ? AND s.metric = 'churn_value_at_risk'
ORDER BY s.value DESC, s.customer_id LIMIT 10`, churn)
	if err != nil {
		return err
	}
	s.Tables = append(s.Tables, Table{Caption: "Top 10 customers at churn risk, model " + churn + " (value at risk = CLV × (1 − P(alive)))",
		Header: []string{"customer_id", "name", "member level", "value at risk", "reason"}, Numeric: []bool{true, false, false, true, false}, Rows: risk})
	return nil
}

// histogram bins sorted values into n equal bins up to the 99th
// percentile; the last bin holds everything above.
func histogram(sorted [][]string, n int) []point {
	v := make([]float64, len(sorted))
	for i, r := range sorted {
		v[i] = parse(r[0])
	}
	lo, hi := v[0], v[int(math.Ceil(0.99*float64(len(v))))-1]
	width := 1.0
	if hi > lo {
		width = niceStep((hi - lo) / float64(n-1))
	}
	lo = math.Floor(lo/width) * width
	n = min(n, int(math.Ceil((hi-lo)/width))+1)
	counts := make([]int, n)
	for _, x := range v {
		i := int((x - lo) / width)
		counts[min(max(i, 0), n-1)]++
	}
	ps := make([]point, n)
	for i, c := range counts {
		label := axisLabel(lo+float64(i)*width) + "–" + axisLabel(lo+float64(i+1)*width)
		if i == n-1 {
			label = "≥ " + axisLabel(lo+float64(i)*width)
		}
		ps[i] = point{Label: label, Value: float64(c), Text: strconv.Itoa(c)}
	}
	return ps
}

func segmentSection(ctx context.Context, b *builder, s *Section) error {
	segs, err := b.rows(ctx, `SELECT s.segment_id, s.label, s.size, s.description, s.model_id
FROM kb_segment s WHERE s.model_id = (SELECT max(model_id) FROM kb_segment) ORDER BY s.size DESC, s.segment_id`)
	if err != nil {
		return err
	}
	rules, err := b.rows(ctx, `SELECT antecedent, consequent, CAST(round(support, 4) AS VARCHAR), CAST(round(confidence, 3) AS VARCHAR), CAST(round(lift, 2) AS VARCHAR), model_id
FROM kb_rule WHERE kind = 'association' AND model_id = (SELECT max(model_id) FROM kb_rule WHERE kind = 'association')
ORDER BY lift DESC, confidence DESC, rule_id LIMIT 10`)
	if err != nil {
		return err
	}
	if len(segs) == 0 && len(rules) == 0 {
		s.Empty = "No segments or rules are stored yet: ckm mine segments and ckm mine rules write them."
		return nil
	}
	if len(segs) > 0 {
		var bars []point
		for _, r := range segs {
			bars = append(bars, point{Label: r[1], Value: parse(r[2]), Text: r[2]})
		}
		s.Figures = append(s.Figures, Figure{Caption: "Customers per segment, model " + segs[0][4], SVG: barChart("Segment sizes", bars)})
		t := Table{Caption: "Segments", Header: []string{"segment", "label", "customers", "description"}, Numeric: []bool{true, false, true, false}}
		for _, r := range segs {
			t.Rows = append(t.Rows, r[:4])
		}
		s.Tables = append(s.Tables, t)
	} else {
		s.Notes = append(s.Notes, "No segmentation is stored: ckm mine segments writes one.")
	}
	if len(rules) > 0 {
		t := Table{Caption: "Top 10 association rules by lift, model " + rules[0][5], Header: []string{"if bought", "then", "support", "confidence", "lift"},
			Numeric: []bool{false, false, true, true, true}}
		for _, r := range rules {
			t.Rows = append(t.Rows, r[:5])
		}
		s.Tables = append(s.Tables, t)
		recs, err := b.rows(ctx, `SELECT count(DISTINCT customer_id), count(*), max(rank) FROM kb_recommendation WHERE model_id = (SELECT max(model_id) FROM kb_recommendation)`)
		if err != nil {
			return err
		}
		if len(recs) > 0 && recs[0][0] != "0" {
			s.Notes = append(s.Notes, fmt.Sprintf("Cross-sell: %s recommendations stored for %s customers, up to %s each (SELECT * FROM ckm_cross_sell(customer_id, %s) in ckm sql).", recs[0][1], recs[0][0], recs[0][2], recs[0][2]))
		}
	} else {
		s.Notes = append(s.Notes, "No association rules are stored: ckm mine rules writes them.")
	}
	return nil
}

func qualitySection(ctx context.Context, b *builder, s *Section) error {
	runs, err := b.rows(ctx, `SELECT run_id, strftime(started_at, '%Y-%m-%d %H:%M') AS started, files_loaded, rows_read, rows_loaded, rows_rejected, rows_duplicate, rows_warned,
       CASE WHEN rows_read = rows_loaded + rows_rejected + rows_duplicate THEN 'yes' ELSE 'NO' END AS balanced
FROM etl_run ORDER BY run_id DESC LIMIT 20`)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		s.Empty = "No loads yet: ckm load records every run here."
		return nil
	}
	s.Tables = append(s.Tables, Table{Caption: "Loads (newest first, at most 20)",
		Header:  []string{"run", "started", "files", "read", "loaded", "rejected", "duplicates", "flagged", "balanced"},
		Numeric: []bool{true, false, true, true, true, true, true, true, false}, Rows: runs})
	byRule, err := b.rows(ctx, `SELECT rule, count(*) FROM etl_reject WHERE severity = 'error' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 12`)
	if err != nil {
		return err
	}
	if len(byRule) > 0 {
		var bars []point
		for _, r := range byRule {
			bars = append(bars, point{Label: r[0], Value: parse(r[1]), Text: r[1]})
		}
		s.Figures = append(s.Figures, Figure{Caption: "Rule hits that rejected rows, all loads (a row may break several rules)", SVG: barChart("Rejected rows by rule", bars)})
	}
	detail, err := b.rows(ctx, `SELECT run_id, stage, rule, severity, count(*) AS rows FROM etl_reject GROUP BY ALL ORDER BY run_id DESC, rows DESC, rule LIMIT 30`)
	if err != nil {
		return err
	}
	if len(detail) > 0 {
		s.Tables = append(s.Tables, Table{Caption: "Rejected (error) and flagged (warn) rows by run and rule; the rows themselves, with personal data masked, are in ckm rejects",
			Header: []string{"run", "stage", "rule", "severity", "rows"}, Numeric: []bool{true, false, false, false, true}, Rows: detail})
	} else {
		s.Notes = append(s.Notes, "No row was rejected or flagged.")
	}
	return nil
}
