package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ckm-dev/ckm/engine"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// browserMark is one mark of a chart as the browser laid it out: its data
// attributes and its box on the page (CSS pixels, page coordinates).
type browserMark struct {
	Class, Label, Value string
	X, Y, W, H          float64
	Fill                string
}

type browserChart struct {
	Kind, Title string
	W, H        float64
	Shapes      int           // rect, circle, path, line, polyline, polygon drawn
	Marks       []browserMark // the figures, in document order
	Texts       []string      // the figures written beside the marks (bar values, grid cells)
}

type browserPage struct {
	Title            string
	Charts           []browserChart
	ScrollW, ScrollH float64
	DPR              float64
}

// readCharts runs in the page after it rendered: every chart's drawn
// shapes, the laid-out box and data of every mark, and the figures
// written beside them.
const readCharts = `(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const r = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll('.mark')].map(m => {
      const b = m.getBoundingClientRect();
      return {Class: m.getAttribute('class'), Label: m.dataset.label, Value: m.dataset.value,
        X: b.left + scrollX, Y: b.top + scrollY, W: b.width, H: b.height, Fill: getComputedStyle(m).fill};
    });
    return {Kind: svg.dataset.chart, Title: svg.getAttribute('aria-label'), W: r.width, H: r.height,
      Shapes: svg.querySelectorAll('rect, circle, path, line, polyline, polygon').length, Marks: marks,
      Texts: [...svg.querySelectorAll('text.value, text.cell-text')].map(t => t.textContent)};
  });
  return {Title: document.title, Charts: charts, ScrollW: document.documentElement.scrollWidth,
    ScrollH: document.documentElement.scrollHeight, DPR: devicePixelRatio};
})()`

// TestReportInBrowser opens the demo's report as a person would, in
// headless Chromium, and checks what it shows: every chart drew its
// marks, the page logged no error and fetched nothing, a screenshot of the
// whole page shows the bars in the accent colour where the layout put
// them, the Chinese labels are drawn with a font that has their glyphs,
// and the figures read from the rendered charts equal SQL written here
// against the demo's warehouse.
//
// It drives Chromium through the DevTools protocol (chromedp) rather than
// --dump-dom and --screenshot: the report holds no script and must not be
// given one, and the protocol reads the laid-out DOM, the console, the
// network and the fonts used without changing the page.
func TestReportInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("Debian's chromium is not installed at %s (apt-get install chromium; .ci/run installs it): the report's browser test needs it", chromiumPath)
	}
	dir := t.TempDir()
	wh := filepath.Join(dir, "ckm.duckdb")
	demoDir := filepath.Join(dir, "demo")
	stdout, stderr, code := runCkm(t, "", "demo", "--warehouse", wh, "--dir", demoDir)
	if code != 0 {
		t.Fatalf("ckm demo: exit %d\n%s", code, stderr)
	}
	reportPath := filepath.Join(demoDir, "report.html")
	if !strings.Contains(stdout, reportPath) {
		t.Fatalf("ckm demo does not print the report's path %s:\n%s", reportPath, stdout)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()

	var mu sync.Mutex
	var problems, requests []string
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems = append(problems, fmt.Sprintf("console.%s %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception "+ev.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("log %s %s: %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		}
	}))
	defer cancelBrowser()

	pageURL := (&url.URL{Scheme: "file", Path: reportPath}).String()
	if err := chromedp.Do(bctx, chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.CSS("footer"))); err != nil {
		t.Fatalf("chromium opening %s: %v", pageURL, err)
	}
	pg, err := chromedp.Run(bctx, chromedp.Evaluate[browserPage](readCharts))
	if err != nil {
		t.Fatalf("reading the rendered charts: %v", err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if keep := os.Getenv("CKM_REPORT_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, shot, 0o644); err != nil {
			t.Error(err)
		}
	}

	// The page, its charts and their marks.
	if !strings.HasPrefix(pg.Title, "Customer knowledge report — as of ") {
		t.Errorf("page title %q", pg.Title)
	}
	byTitle := map[string]browserChart{}
	for _, c := range pg.Charts {
		byTitle[c.Title] = c
		drawn := 0
		for _, m := range c.Marks {
			if m.W > 0 && m.H > 0 {
				drawn++
			}
		}
		if c.W < 200 || c.H < 50 || c.Shapes == 0 || drawn == 0 {
			t.Errorf("chart %q (%s) is %.0f×%.0f px with %d shapes, %d of %d marks drawn with an area", c.Title, c.Kind, c.W, c.H, c.Shapes, drawn, len(c.Marks))
		}
		if c.W > pg.ScrollW {
			t.Errorf("chart %q is %.0f px wide on a page of %.0f", c.Title, c.W, pg.ScrollW)
		}
	}
	var top string // the province with the most revenue, drilled into
	for title := range byTitle {
		if p, ok := strings.CutPrefix(title, "Revenue of "); ok {
			top, _ = strings.CutSuffix(p, " by city")
		}
	}
	for _, want := range []string{"Revenue by month", "Revenue by province", "Revenue of " + top + " by city", "RFM grid",
		"Pareto curve of customer profit", "CLV distribution", "Segment sizes", "Rejected rows by rule"} {
		if _, ok := byTitle[want]; !ok {
			t.Errorf("the demo's report has no chart %q; it has %d charts", want, len(pg.Charts))
		}
	}

	// The screenshot: a PNG of the whole page at one CSS pixel a pixel,
	// in which the longest bar of every bar chart and the tallest column
	// are painted in the accent colour where the layout says they are.
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot (%d bytes) is no PNG: %v", len(shot), err)
	}
	b := img.Bounds()
	t.Logf("screenshot %d×%d px, %d bytes; page %.0f×%.0f CSS px, device pixel ratio %g", b.Dx(), b.Dy(), len(shot), pg.ScrollW, pg.ScrollH, pg.DPR)
	if pg.DPR != 1 || b.Dx() != 1280 || math.Abs(float64(b.Dy())-pg.ScrollH) > 1 || pg.ScrollH < 3000 || len(shot) < 100_000 {
		t.Errorf("screenshot %d×%d px (%d bytes) of a page %.0f×%.0f at ratio %g: want the whole page, 1280 px wide", b.Dx(), b.Dy(), len(shot), pg.ScrollW, pg.ScrollH, pg.DPR)
	}
	for _, c := range pg.Charts {
		if c.Kind != "bar" && c.Kind != "columns" {
			continue
		}
		var big browserMark
		for _, m := range c.Marks {
			if m.W*m.H > big.W*big.H {
				big = m
			}
		}
		r, g, bl, _ := img.At(int(big.X+big.W/2), int(big.Y+big.H/2)).RGBA()
		if got := [3]uint32{r >> 8, g >> 8, bl >> 8}; !near(got, [3]uint32{0x2f, 0x6f, 0xdb}, 3) {
			t.Errorf("chart %q: the screenshot at the centre of mark %q (%.0f, %.0f) is rgb%v, not the accent colour (computed fill %s)",
				c.Title, big.Label, big.X+big.W/2, big.Y+big.H/2, got, big.Fill)
		}
	}

	// Nothing fetched but the file itself; no error or warning logged. The
	// watch is live: an error written now is seen.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`console.error("ckm-test-probe"), true`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(problems)
		probe := n > 0 && strings.Contains(problems[n-1], "ckm-test-probe")
		mu.Unlock()
		if probe || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	if len(problems) == 0 || !strings.Contains(problems[len(problems)-1], "ckm-test-probe") {
		t.Errorf("the console watch did not see the probe error: %q", problems)
	} else if len(problems) > 1 {
		t.Errorf("the page logged %d errors or warnings: %q", len(problems)-1, problems[:len(problems)-1])
	}
	if len(requests) != 1 || requests[0] != pageURL {
		t.Errorf("the page fetched %q; want only itself, %s", requests, pageURL)
	}
	mu.Unlock()

	// The province labels are Chinese: drawn with a font that has their
	// glyphs, not as empty boxes. fontconfig names the fonts that do.
	cjk := map[string]bool{}
	if out, err := exec.Command("fc-list", ":lang=zh", "family").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			for _, f := range strings.Split(line, ",") {
				if f = strings.TrimSpace(f); f != "" {
					cjk[f] = true
				}
			}
		}
	}
	fonts, err := chromedp.Run(bctx, func(ctx context.Context, tg *chromedp.Target) ([]*css.PlatformFontUsage, error) {
		ids, err := chromedp.QueryNodeIDs(chromedp.CSS(`svg[aria-label="Revenue by province"] text.label`))(ctx, tg)
		if err != nil {
			return nil, err
		}
		if _, err := cdp.Call(ctx, tg, css.Enable, cdp.Empty{}); err != nil {
			return nil, err
		}
		r, err := cdp.Call(ctx, tg, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: ids[0]})
		return r.Fonts, err
	})
	if err != nil {
		t.Fatalf("fonts of a province label: %v", err)
	}
	var used []string
	covered := false
	for _, f := range fonts {
		used = append(used, fmt.Sprintf("%s (%g glyphs)", f.FamilyName, f.GlyphCount))
		covered = covered || cjk[f.FamilyName]
	}
	if !covered {
		t.Errorf("the province labels are drawn with %v, none of which has Chinese glyphs (fontconfig's Chinese fonts: %v): a reader sees empty boxes; install one, e.g. apt-get install fonts-wqy-microhei (.ci/run does)", used, keysOf(cjk))
	}

	checkChartsAgainstSQL(t, wh, byTitle, top)
}

func near(a, b [3]uint32, tol uint32) bool {
	for i := range a {
		if max(a[i], b[i])-min(a[i], b[i]) > tol {
			return false
		}
	}
	return true
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkChartsAgainstSQL compares the figures read from the rendered charts
// with SQL over the demo's warehouse, and their drawn sizes with the
// figures.
func checkChartsAgainstSQL(t *testing.T, wh string, byTitle map[string]browserChart, top string) {
	ctx := context.Background()
	w, err := engine.Open(ctx, wh, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pairs := func(q string, args ...any) [][2]string {
		t.Helper()
		rows, err := w.DB.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		defer rows.Close()
		var out [][2]string
		for rows.Next() {
			var p [2]string
			if err := rows.Scan(&p[0], &p[1]); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
		return out
	}
	marks := func(title string, written bool) [][2]string {
		c := byTitle[title]
		var out [][2]string
		for i, m := range c.Marks {
			if strings.Contains(m.Class, "forecast") {
				continue
			}
			v := m.Value
			if written { // the figure printed beside the mark, as a reader sees it
				if i >= len(c.Texts) {
					t.Errorf("chart %q: mark %q has no figure written beside it", title, m.Label)
					continue
				}
				v = c.Texts[i]
			}
			out = append(out, [2]string{m.Label, v})
		}
		return out
	}
	same := func(what string, got, want [][2]string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 {
			t.Errorf("%s: the rendered chart shows %v\nSQL says %v", what, got, want)
		}
	}
	var asOf string
	if err := w.DB.QueryRowContext(ctx, `SELECT CAST(max(d.date) AS VARCHAR) FROM fact_sales f JOIN dim_date d ON d.date_key = f.date_key`).Scan(&asOf); err != nil {
		t.Fatal(err)
	}

	// Revenue by month, over the date dimension (the report groups the
	// order timestamp), and the dots' heights linear in the figures.
	same("revenue by month", marks("Revenue by month", false),
		pairs(`SELECT d.year_month, CAST(sum(f.amount) AS VARCHAR) FROM fact_sales f JOIN dim_date d ON d.date_key = f.date_key GROUP BY 1 ORDER BY 1`))
	checkLinear(t, "Revenue by month", actualMarks(byTitle["Revenue by month"].Marks), func(m browserMark) float64 { return m.Y + m.H/2 })

	// Provinces and the drill into the first, as the figures written
	// beside the bars; the bars' lengths proportional to them.
	same("revenue by province", marks("Revenue by province", true),
		pairs(`SELECT r.province, CAST(sum(f.amount) AS VARCHAR) FROM dim_region r JOIN fact_sales f USING (region_key)
			GROUP BY 1 ORDER BY sum(f.amount) DESC, 1 LIMIT 12`))
	same("drill into "+top, marks("Revenue of "+top+" by city", true),
		pairs(`SELECT r.city, CAST(sum(f.amount) AS VARCHAR) FROM dim_region r JOIN fact_sales f USING (region_key)
			WHERE r.province = ? GROUP BY 1 ORDER BY sum(f.amount) DESC, 1 LIMIT 12`, top))
	for _, title := range []string{"Revenue by province", "Revenue of " + top + " by city", "Segment sizes", "Rejected rows by rule"} {
		checkProportional(t, title, byTitle[title].Marks, func(m browserMark) float64 { return m.W })
	}

	// The RFM grid: 25 cells whose written counts hold every customer who
	// bought by the report's day (a line of amount ≥ 0: a customer whose
	// only line is a return bought nothing; the demo's data has one).
	var buyers, inGrid int
	if err := w.DB.QueryRowContext(ctx, `SELECT count(DISTINCT customer_id) FROM fact_sales WHERE customer_id > 0 AND amount >= 0 AND order_ts < CAST(? AS DATE) + 1`, asOf).Scan(&buyers); err != nil {
		t.Fatal(err)
	}
	grid := marks("RFM grid", true)
	for _, c := range grid {
		inGrid += atoi(t, c[1])
	}
	if len(grid) != 25 || inGrid != buyers {
		t.Errorf("RFM grid: %d cells holding %d customers; SQL counts %d buyers", len(grid), inGrid, buyers)
	}

	// Pareto: the top fifth's share of profit, by SQL's window functions.
	var share float64
	if err := w.DB.QueryRowContext(ctx, `SELECT sum(profit) FILTER (WHERE rn <= ceil(0.2 * n)) / sum(profit) FROM (
		SELECT profit, row_number() OVER (ORDER BY profit DESC, customer_id) AS rn, count(*) OVER () AS n
		FROM ckm_profit(as_of := CAST(? AS DATE)))`, asOf).Scan(&share); err != nil {
		t.Fatal(err)
	}
	same("Pareto marker", marks("Pareto curve of customer profit", false),
		[][2]string{{"top 20%", "top 20%: " + strconv.FormatFloat(100*share, 'f', 1, 64) + "% of profit"}})

	// CLV: each column counts the newest CLV model's customers from its
	// label's lower edge to the next column's (the last: at or above its
	// label), and its label's upper edge is the next one's lower edge.
	clv := byTitle["CLV distribution"].Marks
	var want [][2]string
	for i, m := range clv {
		lo := axisValue(t, m.Label)
		q := `SELECT ?, CAST(count(*) AS VARCHAR) FROM kb_customer_score WHERE metric = 'clv'
			AND model_id = (SELECT max(model_id) FROM kb_model WHERE kind = 'clv') AND value >= ?`
		args := []any{m.Label, lo}
		if i < len(clv)-1 {
			q += ` AND value < ?`
			args = append(args, axisValue(t, clv[i+1].Label))
			if _, hi, _ := strings.Cut(m.Label, "–"); hi == "" || axisValue(t, hi) != axisValue(t, clv[i+1].Label) {
				t.Errorf("CLV column %q ends where column %q does not begin", m.Label, clv[i+1].Label)
			}
		}
		want = append(want, pairs(q, args...)...)
	}
	same("CLV histogram", marks("CLV distribution", false), want)
	checkProportional(t, "CLV distribution", clv, func(m browserMark) float64 { return m.H })

	// Segments and rejected rows by rule, as written beside the bars.
	same("segment sizes", marks("Segment sizes", true),
		pairs(`SELECT label, CAST(size AS VARCHAR) FROM kb_segment WHERE model_id = (SELECT max(model_id) FROM kb_segment) ORDER BY size DESC, segment_id`))
	same("rejected rows by rule", marks("Rejected rows by rule", true),
		pairs(`SELECT rule, CAST(count(*) AS VARCHAR) FROM etl_reject WHERE severity = 'error' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 12`))
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("figure %q: %v", s, err)
	}
	return n
}

// axisValue reads a histogram label such as "2500–5000", "10k–12.5k" or
// "≥ 27.5k" as its lower edge.
func axisValue(t *testing.T, label string) float64 {
	t.Helper()
	s, _, _ := strings.Cut(strings.TrimPrefix(label, "≥ "), "–")
	mult := 1.0
	if v, ok := strings.CutSuffix(s, "k"); ok {
		s, mult = v, 1e3
	} else if v, ok := strings.CutSuffix(s, "M"); ok {
		s, mult = v, 1e6
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("histogram label %q: %v", label, err)
	}
	return f * mult
}

// checkProportional checks that the drawn size of every mark is its
// figure times one scale, to within a pixel.
func checkProportional(t *testing.T, title string, marks []browserMark, size func(browserMark) float64) {
	t.Helper()
	var big browserMark
	for _, m := range marks {
		if size(m) > size(big) {
			big = m
		}
	}
	scale := size(big) / parseFigure(t, big.Value)
	for _, m := range marks {
		if want := parseFigure(t, m.Value) * scale; math.Abs(size(m)-want) > 1 {
			t.Errorf("chart %q: mark %q (%s) is drawn %.1f px, %.1f px for its figure at the scale of %q", title, m.Label, m.Value, size(m), want, big.Label)
		}
	}
}

// checkLinear checks that the drawn position of every mark lies on the
// line through the smallest and the largest figure's, to within a pixel.
func checkLinear(t *testing.T, title string, marks []browserMark, pos func(browserMark) float64) {
	t.Helper()
	lo, hi := marks[0], marks[0]
	for _, m := range marks {
		if parseFigure(t, m.Value) < parseFigure(t, lo.Value) {
			lo = m
		}
		if parseFigure(t, m.Value) > parseFigure(t, hi.Value) {
			hi = m
		}
	}
	slope := (pos(hi) - pos(lo)) / (parseFigure(t, hi.Value) - parseFigure(t, lo.Value))
	if slope >= 0 {
		t.Errorf("chart %q: the largest figure is drawn no higher than the smallest", title)
	}
	for _, m := range marks {
		if want := pos(lo) + slope*(parseFigure(t, m.Value)-parseFigure(t, lo.Value)); math.Abs(pos(m)-want) > 1 {
			t.Errorf("chart %q: mark %q (%s) at %.1f px, %.1f px on the line of the others", title, m.Label, m.Value, pos(m), want)
		}
	}
}

func parseFigure(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("figure %q: %v", s, err)
	}
	return f
}

// actualMarks leaves out a line chart's forecast marks.
func actualMarks(marks []browserMark) []browserMark {
	var out []browserMark
	for _, m := range marks {
		if !strings.Contains(m.Class, "forecast") {
			out = append(out, m)
		}
	}
	return out
}
