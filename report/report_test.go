package report

import (
	"context"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
)

// fixtureWarehouse generates a small retailer's exports, loads them into
// an in-memory warehouse and stores a hand-made knowledge base: a
// forecast, a CLV model, a churn warning, segments and rules.
func fixtureWarehouse(t *testing.T) (*engine.Warehouse, *fixtures.Expected) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: 300, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	asOf, _ := time.Parse(time.DateOnly, exp.ExportDate)
	if _, err := etl.Load(ctx, w, []string{dir}, etl.Options{AsOf: asOf.Add(24*time.Hour - time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.ExecContext(ctx, `
INSERT INTO kb_model (model_id, kind, name, created_at) VALUES
  (901, 'forecast', 'revenue', now()), (902, 'clv', 'clv', now()), (903, 'churn', 'churn', now()),
  (904, 'kmeans', 'segments', now()), (905, 'rules', 'rules', now());
-- Three months of forecast after the last month of sales, as weeks and months.
INSERT INTO kb_forecast (model_id, series, period, value, lower, upper)
SELECT 901, 'revenue', (date_trunc('month', max(order_ts)) + INTERVAL (m) MONTH)::DATE, 1000.25 * m, 900 * m, 1100 * m
FROM fact_sales, range(1, 4) r(m) GROUP BY m;
-- CLV: every customer who bought, value = 10 × their customer id mod 97.
INSERT INTO kb_customer_score (model_id, customer_id, metric, value, as_of)
SELECT DISTINCT 902, customer_id, 'clv', 10.0 * (customer_id % 97), DATE '`+exp.ExportDate+`' FROM fact_sales WHERE customer_id > 0;
-- Churn: the 12 customers with the highest ids, at risk by id.
INSERT INTO kb_customer_score (model_id, customer_id, metric, value, label, as_of)
SELECT 903, customer_id, 'churn_value_at_risk', customer_id * 1.5, 'silent', DATE '`+exp.ExportDate+`'
FROM (SELECT DISTINCT customer_id FROM fact_sales WHERE customer_id > 0 ORDER BY customer_id DESC LIMIT 12);
INSERT INTO kb_segment (model_id, segment_id, label, size, centroid, description) VALUES (904, 0, 'loyal', 120, [1.0, 2.0], 'buy often'), (904, 1, 'sleeping', 80, [3.0, 0.5], 'quiet since spring');
INSERT INTO kb_rule (model_id, rule_id, kind, antecedent, consequent, support, confidence, lift, count) VALUES
  (905, 1, 'association', ['milk'], 'bread', 0.1, 0.5, 2.5, 10), (905, 2, 'association', ['tea', 'cups'], 'honey', 0.05, 0.4, 3.25, 5);
INSERT INTO kb_recommendation VALUES (905, 1, 'bread', 1, 1.2, 1), (905, 2, 'bread', 1, 1.2, 1), (905, 2, 'honey', 2, 1.3, 2);`); err != nil {
		t.Fatal(err)
	}
	return w, exp
}

// mark is one drawn mark of a chart.
type mark struct{ label, value string }

var (
	svgRE   = regexp.MustCompile(`(?s)<svg class="chart" data-chart="(\w+)"[^>]*aria-label="([^"]*)">(.*?)</svg>`)
	markRE  = regexp.MustCompile(`class="mark[^"]*"[^>]*data-label="([^"]*)" data-value="([^"]*)"`)
	tableRE = regexp.MustCompile(`(?s)<caption>(.*?)</caption>.*?<tbody>(.*?)</tbody>`)
	rowRE   = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellRE  = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	moneyRE = regexp.MustCompile(`^-?\d+\.\d\d$`)
)

// charts returns the marks of every chart by title, forecast marks under
// title + " forecast".
func charts(page string) map[string][]mark {
	out := map[string][]mark{}
	for _, m := range svgRE.FindAllStringSubmatch(page, -1) {
		title := html.UnescapeString(m[2])
		for _, el := range regexp.MustCompile(`<(?:rect|circle)[^>]*>`).FindAllString(m[3], -1) {
			mm := markRE.FindStringSubmatch(el)
			if mm == nil {
				continue
			}
			key := title
			if strings.Contains(el, "forecast-mark") {
				key += " forecast"
			}
			out[key] = append(out[key], mark{html.UnescapeString(mm[1]), html.UnescapeString(mm[2])})
		}
	}
	return out
}

// tables returns every table's rows by caption prefix.
func tables(page string) map[string][][]string {
	out := map[string][][]string{}
	for _, m := range tableRE.FindAllStringSubmatch(page, -1) {
		var rows [][]string
		for _, r := range rowRE.FindAllStringSubmatch(m[2], -1) {
			var cells []string
			for _, c := range cellRE.FindAllStringSubmatch(r[1], -1) {
				cells = append(cells, html.UnescapeString(c[1]))
			}
			rows = append(rows, cells)
		}
		out[html.UnescapeString(m[1])] = rows
	}
	return out
}

func tableStarting(t *testing.T, tabs map[string][][]string, prefix string) [][]string {
	t.Helper()
	for k, v := range tabs {
		if strings.HasPrefix(k, prefix) {
			return v
		}
	}
	t.Fatalf("no table captioned %q…", prefix)
	return nil
}

// sqlPairs runs a query of (label, value) text pairs.
func sqlPairs(t *testing.T, w *engine.Warehouse, q string) []mark {
	t.Helper()
	rows, err := w.DB.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []mark
	for rows.Next() {
		var m mark
		if err := rows.Scan(&m.label, &m.value); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func writeReport(t *testing.T, w *engine.Warehouse, opts Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	if err := WriteFile(context.Background(), w, path, opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("report mode %v", st.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".report.html.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	return string(b)
}

func TestReportFiguresMatchSQL(t *testing.T) {
	w, exp := fixtureWarehouse(t)
	page := writeReport(t, w, Options{})
	ch, tabs := charts(page), tables(page)

	// Revenue by month: each month's mark equals SQL over the date
	// dimension (not the order timestamp the report groups by), and the
	// months add up to the generator's own net revenue.
	want := sqlPairs(t, w, `SELECT d.year_month, CAST(sum(f.amount) AS VARCHAR) FROM fact_sales f JOIN dim_date d ON d.date_key = f.date_key GROUP BY 1 ORDER BY 1`)
	got := ch["Revenue by month"]
	if len(got) == 0 || !equalMarks(got, want) {
		t.Errorf("month marks %v\nwant %v", got, want)
	}
	total := 0.0
	for _, m := range got {
		total += mustFloat(t, m.value)
	}
	if strconv.FormatFloat(total, 'f', 2, 64) != exp.NetRevenue {
		t.Errorf("months sum to %.2f, the generator's net revenue is %s", total, exp.NetRevenue)
	}
	// The forecast: three months after the last, as stored.
	fc := ch["Revenue by month forecast"]
	if len(fc) != 3 || fc[0].value != "1000.25" || fc[2].value != "3000.75" || fc[0].label <= got[len(got)-1].label {
		t.Errorf("forecast marks %v", fc)
	}

	// Provinces: bars equal revenue per province by SQL, top 12.
	want = sqlPairs(t, w, `SELECT r.province, CAST(sum(f.amount) AS VARCHAR) FROM dim_region r JOIN fact_sales f USING (region_key)
		GROUP BY 1 ORDER BY sum(f.amount) DESC, 1 LIMIT 12`)
	if bars := ch["Revenue by province"]; !equalMarks(bars, want) {
		t.Errorf("province bars %v\nwant %v", bars, want)
	}

	// RFM grid: one cell per customer who bought.
	var buyers int
	w.DB.QueryRow(`SELECT count(DISTINCT customer_id) FROM fact_sales WHERE customer_id >= 0 AND order_ts IS NOT NULL`).Scan(&buyers)
	cells := 0
	for _, m := range ch["RFM grid"] {
		cells += int(mustFloat(t, m.value))
	}
	if cells != buyers || len(ch["RFM grid"]) != 25 {
		t.Errorf("RFM grid: %d cells holding %d customers, want 25 holding %d", len(ch["RFM grid"]), cells, buyers)
	}

	// Pareto: the top 20 % share, by SQL's window functions.
	var share float64
	if err := w.DB.QueryRow(`SELECT sum(profit) FILTER (WHERE rn <= ceil(0.2 * n)) / sum(profit) FROM (
		SELECT profit, row_number() OVER (ORDER BY profit DESC, customer_id) AS rn, count(*) OVER () AS n
		FROM ckm_profit(as_of := DATE '` + exp.ExportDate + `'))`).Scan(&share); err != nil {
		t.Fatal(err)
	}
	p := ch["Pareto curve of customer profit"]
	if wantText := "top 20%: " + strconv.FormatFloat(100*share, 'f', 1, 64) + "% of profit"; len(p) != 1 || p[0].value != wantText {
		t.Errorf("pareto mark %v, want %q", p, wantText)
	}

	// CLV: the histogram counts every scored customer; churn: the 12
	// stored warnings' top 10 by value, named only by masks.
	n := 0
	for _, m := range ch["CLV distribution"] {
		n += int(mustFloat(t, m.value))
	}
	var scored int
	w.DB.QueryRow(`SELECT count(*) FROM kb_customer_score WHERE model_id = 902`).Scan(&scored)
	if n != scored || scored == 0 {
		t.Errorf("CLV histogram counts %d customers, %d are scored", n, scored)
	}
	if clv := tableStarting(t, tabs, "Lifetime value, model"); len(clv) != 1 || !moneyRE.MatchString(clv[0][1]) || !moneyRE.MatchString(clv[0][2]) || !moneyRE.MatchString(clv[0][3]) {
		t.Errorf("lifetime value table %q: want mean, median and total with two decimals", clv)
	}
	risk := tableStarting(t, tabs, "Top 10 customers at churn risk")
	wantRisk := sqlPairs(t, w, `SELECT CAST(customer_id AS VARCHAR), CAST(round(customer_id * 1.5, 2) AS VARCHAR) FROM kb_customer_score
		WHERE model_id = 903 ORDER BY customer_id DESC LIMIT 10`)
	if len(risk) != 10 {
		t.Fatalf("churn table has %d rows", len(risk))
	}
	for i, r := range risk {
		// Money with two decimals in every row (14464.3 beside 15406.51 read as a misprint).
		if r[0] != wantRisk[i].label || mustFloat(t, r[3]) != mustFloat(t, wantRisk[i].value) || r[4] != "silent" || !moneyRE.MatchString(r[3]) {
			t.Errorf("churn row %d: %q, want customer %s value %s", i, r, wantRisk[i].label, wantRisk[i].value)
		}
	}

	// Segments and rules as stored.
	if seg := ch["Segment sizes"]; !equalMarks(seg, []mark{{"loyal", "120"}, {"sleeping", "80"}}) {
		t.Errorf("segment bars %v", seg)
	}
	rules := tableStarting(t, tabs, "Top 10 association rules")
	if len(rules) != 2 || strings.Join(rules[0], "|") != "tea, cups|honey|0.05|0.4|3.25" {
		t.Errorf("rules %q", rules)
	}
	if !strings.Contains(page, "Cross-sell: 3 recommendations stored for 2 customers, up to 2 each (SELECT * FROM ckm_cross_sell(customer_id, 2) in ckm sql)") {
		t.Error("cross-sell note missing")
	}

	// Data quality: the load's counts are the generator's truth.
	var rowsN, loaded, rejected, dups int64
	rejectsByRule := map[string]int{}
	for _, f := range exp.Files {
		rowsN, loaded, rejected, dups = rowsN+f.Rows, loaded+f.Loaded, rejected+f.Rejected, dups+f.Duplicates
		for _, is := range f.Rejects {
			rejectsByRule[is.Rule]++
		}
	}
	runs := tableStarting(t, tabs, "Loads")
	if len(runs) != 1 || runs[0][3] != strconv.FormatInt(rowsN, 10) || runs[0][4] != strconv.FormatInt(loaded, 10) ||
		runs[0][5] != strconv.FormatInt(rejected, 10) || runs[0][6] != strconv.FormatInt(dups, 10) || runs[0][8] != "yes" {
		t.Errorf("load row %q, want read %d loaded %d rejected %d duplicates %d", runs, rowsN, loaded, rejected, dups)
	}
	// A row may break several rules: the ledger holds a hit for each, the
	// generator's truth one rule per rejected row.
	hits := map[string]string{}
	for _, m := range sqlPairs(t, w, `SELECT rule, CAST(count(*) AS VARCHAR) FROM etl_reject WHERE severity = 'error' GROUP BY 1`) {
		hits[m.label] = m.value
	}
	for _, m := range ch["Rejected rows by rule"] {
		if hits[m.label] != m.value || int(mustFloat(t, m.value)) < rejectsByRule[m.label] {
			t.Errorf("rule %s: %s hits drawn; the ledger holds %s, the generator planted %d rows", m.label, m.value, hits[m.label], rejectsByRule[m.label])
		}
	}
	if len(ch["Rejected rows by rule"]) == 0 {
		t.Error("no rejected rows drawn; the fixture plants some")
	}

	assertSelfContained(t, page)
	assertNoRawPersonalData(t, w, page)
}

func equalMarks(got, want []mark) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("figure %q: %v", s, err)
	}
	return f
}

// assertSelfContained checks that opening the page needs nothing else.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, ref := range []string{"http://", "https://", "//cdn", "<script", "<link", "<img", "<iframe", "url(", "@import", "src="} {
		if strings.Contains(strings.ToLower(page), ref) {
			t.Errorf("the page holds %q: it would need something outside the file", ref)
		}
	}
}

// assertNoRawPersonalData checks that no raw ID number, mobile, e-mail or
// name of a customer appears in the page.
func assertNoRawPersonalData(t *testing.T, w *engine.Warehouse, page string) {
	t.Helper()
	rows, err := w.DB.Query(`SELECT DISTINCT v FROM (SELECT unnest([id_number, mobile, email, name]) AS v FROM main.dim_customer) WHERE length(v) >= 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var raw []string
	for rows.Next() {
		var v string
		rows.Scan(&v)
		raw = append(raw, v)
	}
	if len(raw) < 100 {
		t.Fatalf("only %d raw values to look for", len(raw))
	}
	sort.Strings(raw)
	for _, v := range raw {
		if strings.Contains(page, v) || strings.Contains(page, html.EscapeString(v)) {
			t.Errorf("raw personal value %q in the report", v)
		}
	}
}

func TestReportEmptyWarehouse(t *testing.T) {
	w, err := engine.Open(context.Background(), "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	page := writeReport(t, w, Options{})
	for _, s := range sections {
		if !strings.Contains(page, `data-empty="`+s.id+`"`) {
			t.Errorf("section %s does not say it has no data", s.id)
		}
	}
	if strings.Contains(page, "<svg") || !strings.Contains(page, "No data yet") || !strings.Contains(page, "No data. No sales in the warehouse yet") {
		t.Errorf("empty report:\n%s", page)
	}
	assertSelfContained(t, page)
}

func TestReportAsOf(t *testing.T) {
	w, exp := fixtureWarehouse(t)
	end, _ := time.Parse(time.DateOnly, exp.ExportDate)
	asOf := end.AddDate(0, -3, 0)
	page := writeReport(t, w, Options{AsOf: asOf})
	got := charts(page)["Revenue by month"]
	want := sqlPairs(t, w, `SELECT d.year_month, CAST(sum(f.amount) AS VARCHAR) FROM fact_sales f JOIN dim_date d ON d.date_key = f.date_key
		WHERE d.date <= DATE '`+asOf.Format(time.DateOnly)+`' GROUP BY 1 ORDER BY 1`)
	if !equalMarks(got, want) || got[len(got)-1].label != asOf.Format("2006-01") {
		t.Errorf("as of %s: months %v\nwant %v", asOf.Format(time.DateOnly), got, want)
	}
	if !strings.Contains(page, "Sales up to and including "+asOf.Format(time.DateOnly)) {
		t.Error("the page does not say its as-of day")
	}
}

// TestReportPartialForecastMonth: a daily forecast of 14 days plus one of
// a whole month after the last month of sales (model 906, newer than the
// fixture's 901). The whole month is plotted; the partial month is not
// (summed by calendar month it would read as revenue collapsing) and the
// table says which days it covers.
func TestReportPartialForecastMonth(t *testing.T) {
	w, _ := fixtureWarehouse(t)
	ctx := context.Background()
	if _, err := w.DB.ExecContext(ctx, `
INSERT INTO kb_model (model_id, kind, name, created_at, params) VALUES (906, 'forecast', 'daily', now(), '{"grain": "day"}');
INSERT INTO kb_forecast (model_id, series, period, value, lower, upper)
SELECT 906, 'revenue', (date_trunc('month', (SELECT max(order_ts) FROM fact_sales)) + INTERVAL 1 MONTH + INTERVAL (d) DAY)::DATE, 10.0, 9.0, 11.0
FROM range(0, 31 + 14) r(d);`); err != nil {
		t.Fatal(err)
	}
	var first, second string
	var days1 int
	if err := w.DB.QueryRowContext(ctx, `SELECT strftime(m1, '%Y-%m'), strftime(m1 + INTERVAL 1 MONTH, '%Y-%m'), day(last_day(m1))
		FROM (SELECT (date_trunc('month', max(order_ts)) + INTERVAL 1 MONTH)::DATE AS m1 FROM fact_sales)`).Scan(&first, &second, &days1); err != nil {
		t.Fatal(err)
	}
	page := writeReport(t, w, Options{})
	fc := charts(page)["Revenue by month forecast"]
	// 45 days from the first of month 1: month 1 whole, month 2 partial.
	if len(fc) != 1 || fc[0].label != first || mustFloat(t, fc[0].value) != 10.0*float64(days1) {
		t.Errorf("forecast marks %v, want only %s = %.2f", fc, first, 10.0*float64(days1))
	}
	rows := tableStarting(t, tables(page), "Forecast")
	if len(rows) != 2 || rows[1][0] != second || rows[1][4] != fmt.Sprintf("%d of %d days (not plotted)", 45-days1, daysIn(t, w, second)) {
		t.Errorf("forecast table %v: want %s listed as partial", rows, second)
	}
}

func daysIn(t *testing.T, w *engine.Warehouse, month string) int {
	t.Helper()
	var n int
	if err := w.DB.QueryRow(`SELECT day(last_day(CAST(? || '-01' AS DATE)))`, month).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReportDailyForecast: a forecast stored by day (the demo's 14 days)
// covers no whole month, so the report plots it at its own grain beside
// the last 56 days of revenue. Each day's actual mark is checked against
// a sum in Go over the fact lines, days without sales as 0; each forecast
// mark against the stored value. With only the fixture's monthly model
// there is no daily chart.
func TestReportDailyForecast(t *testing.T) {
	w, _ := fixtureWarehouse(t)
	ctx := context.Background()
	if _, ok := charts(writeReport(t, w, Options{}))["Revenue by day"]; ok {
		t.Fatal("a daily chart without a daily forecast")
	}
	var last time.Time
	if err := w.DB.QueryRowContext(ctx, `SELECT max(order_ts)::DATE FROM fact_sales`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.ExecContext(ctx, `
INSERT INTO kb_model (model_id, kind, name, created_at, params) VALUES (907, 'forecast', 'daily', now(), '{"grain": "day"}');
INSERT INTO kb_forecast (model_id, series, period, value, lower, upper)
SELECT 907, 'revenue', (DATE '`+last.Format(time.DateOnly)+`' + INTERVAL (d) DAY)::DATE, 100.0 + d, 50.0 + d, 150.0 + d FROM range(1, 15) r(d);`); err != nil {
		t.Fatal(err)
	}
	page := writeReport(t, w, Options{})
	ch := charts(page)
	fc := ch["Revenue by day forecast"]
	if len(fc) != 14 {
		t.Fatalf("%d forecast marks, want 14: %v", len(fc), fc)
	}
	for i, m := range fc {
		day := last.AddDate(0, 0, i+1).Format(time.DateOnly)
		if m.label != day || mustFloat(t, m.value) != 100.0+float64(i+1) {
			t.Errorf("forecast mark %d = %v, want %s %.2f", i, m, day, 100.0+float64(i+1))
		}
	}
	// The actuals: every fact line's amount summed by its day in Go.
	from := last.AddDate(0, 0, -55)
	rows, err := w.DB.QueryContext(ctx, `SELECT order_ts, CAST(amount AS VARCHAR) FROM fact_sales WHERE order_ts >= ?`, from)
	if err != nil {
		t.Fatal(err)
	}
	cents := map[string]int64{}
	for rows.Next() {
		var ts time.Time
		var amount string
		if err := rows.Scan(&ts, &amount); err != nil {
			t.Fatal(err)
		}
		f, _ := strconv.ParseFloat(amount, 64)
		cents[ts.Format(time.DateOnly)] += int64(math.Round(f * 100))
	}
	rows.Close()
	act := ch["Revenue by day"]
	if len(act) != 56 {
		t.Fatalf("%d daily marks, want 56", len(act))
	}
	for i, m := range act {
		day := from.AddDate(0, 0, i).Format(time.DateOnly)
		if m.label != day || int64(math.Round(mustFloat(t, m.value)*100)) != cents[day] {
			t.Errorf("daily mark %d = %v, want %s %d cents", i, m, day, cents[day])
		}
	}
	if !strings.Contains(page, "the forecast of model 907 (dashed, 14 days ahead)") {
		t.Error("the daily chart's caption does not name the model and horizon")
	}
}
