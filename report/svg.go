package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// point is one mark of a chart: its label, its value for the geometry and
// its exact text (data-value), e.g. a decimal sum.
type point struct {
	Label string
	Value float64
	Text  string
}

// band is a forecast point with its interval.
type band struct {
	Label            string
	Value, Low, High float64
}

const (
	chartW, chartH = 760, 300
	padL, padR     = 72, 16
	padT, padB     = 16, 56
)

// svgBuilder writes one SVG element.
type svgBuilder struct{ b strings.Builder }

func newSVG(kind, title string, w, h int) *svgBuilder {
	s := &svgBuilder{}
	fmt.Fprintf(&s.b, `<svg class="chart" data-chart="%s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		attr(kind), w, h, w, h, attr(title))
	return s
}

func (s *svgBuilder) add(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func (s *svgBuilder) done() template.HTML {
	s.b.WriteString("</svg>")
	return template.HTML(s.b.String())
}

func attr(s string) string { return html.EscapeString(s) }

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// niceMax returns a round upper bound of the axis and its step for about
// five gridlines.
func niceMax(max float64) (top, step float64) {
	if max <= 0 || math.IsNaN(max) || math.IsInf(max, 0) {
		return 1, 0.2
	}
	step = niceStep(max / 5)
	return math.Ceil(max/step) * step, step
}

// niceStep rounds raw up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// axisLabel writes large figures short: 1.2M, 35k.
func axisLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// yAxis draws gridlines from lo to top and returns the y of a value.
func (s *svgBuilder) yAxis(lo, top, step float64, pct bool) func(float64) float64 {
	y := func(v float64) float64 {
		return padT + (chartH-padT-padB)*(1-(v-lo)/(top-lo))
	}
	// Gridlines at multiples of step, none outside the plot.
	for v := math.Ceil(lo/step-1e-9)*step + 0; v <= top+step*1e-6; v += step { // (+0: no "-0%")
		label := axisLabel(v)
		if pct {
			label = strconv.FormatFloat(math.Round(v*100), 'f', -1, 64) + "%"
		}
		s.add(`<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s"/><text class="tick" x="%d" y="%s" text-anchor="end">%s</text>`,
			padL, chartW-padR, num(y(v)), num(y(v)), padL-6, num(y(v)+4), attr(label))
	}
	return y
}

// xLabels writes category labels under the plot, thinned to fit.
func (s *svgBuilder) xLabels(labels []string, x func(int) float64) {
	every := 1 + len(labels)/14
	for i, l := range labels {
		if i%every != 0 && i != len(labels)-1 {
			continue
		}
		s.add(`<text class="tick" x="%s" y="%d" text-anchor="end" transform="rotate(-40 %s %d)">%s</text>`,
			num(x(i)), chartH-padB+16, num(x(i)), chartH-padB+16, attr(l))
	}
}

// lineChart draws actual values as a line of dots and a forecast as a
// dashed line in a shaded interval.
func lineChart(title string, actual []point, forecast []band) template.HTML {
	s := newSVG("line", title, chartW, chartH)
	max := 0.0
	for _, p := range actual {
		max = math.Max(max, p.Value)
	}
	for _, f := range forecast {
		max = math.Max(max, math.Max(f.Value, f.High))
	}
	top, step := niceMax(max)
	y := s.yAxis(0, top, step, false)
	n := len(actual) + len(forecast)
	x := func(i int) float64 {
		if n <= 1 {
			return (padL + chartW - padR) / 2
		}
		return padL + 8 + float64(i)*(chartW-padL-padR-16)/float64(n-1)
	}
	labels := make([]string, 0, n)
	var pts []string
	for i, p := range actual {
		labels = append(labels, p.Label)
		pts = append(pts, num(x(i))+","+num(y(p.Value)))
	}
	if len(forecast) > 0 {
		var upper, lower []string
		fpts := []string{}
		if len(actual) > 0 {
			fpts = append(fpts, pts[len(pts)-1])
		}
		for j, f := range forecast {
			i := len(actual) + j
			labels = append(labels, f.Label)
			fpts = append(fpts, num(x(i))+","+num(y(f.Value)))
			upper = append(upper, num(x(i))+","+num(y(f.High)))
			lower = append([]string{num(x(i)) + "," + num(y(math.Max(f.Low, 0)))}, lower...)
		}
		s.add(`<polygon class="band" points="%s"/>`, strings.Join(append(upper, lower...), " "))
		s.add(`<polyline class="forecast" points="%s"/>`, strings.Join(fpts, " "))
		for j, f := range forecast {
			i := len(actual) + j
			s.add(`<circle class="mark forecast-mark" cx="%s" cy="%s" r="3" data-label="%s" data-value="%s"><title>%s forecast %s (%s–%s)</title></circle>`,
				num(x(i)), num(y(f.Value)), attr(f.Label), money(f.Value), attr(f.Label), money(f.Value), money(f.Low), money(f.High))
		}
	}
	s.add(`<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
	for i, p := range actual {
		s.add(`<circle class="mark" cx="%s" cy="%s" r="3.5" data-label="%s" data-value="%s"><title>%s: %s</title></circle>`,
			num(x(i)), num(y(p.Value)), attr(p.Label), attr(p.Text), attr(p.Label), attr(p.Text))
	}
	s.xLabels(labels, x)
	return s.done()
}

// barChart draws horizontal bars, one per point, in the order given.
func barChart(title string, bars []point) template.HTML {
	const rowH = 22
	labelW := 60
	for _, b := range bars {
		labelW = max(labelW, textWidth(b.Label)+12)
	}
	labelW = min(labelW, 320)
	h := padT + rowH*len(bars) + 24
	s := newSVG("bar", title, chartW, h)
	max := 0.0
	for _, b := range bars {
		max = math.Max(max, b.Value)
	}
	top, _ := niceMax(max)
	width := float64(chartW - labelW - padR - 90)
	for i, b := range bars {
		y := padT + i*rowH
		w := math.Max(0, b.Value) / top * width
		s.add(`<text class="label" x="%d" y="%d" text-anchor="end">%s</text>`, labelW-6, y+15, attr(b.Label))
		s.add(`<rect class="mark" x="%d" y="%d" width="%s" height="%d" data-label="%s" data-value="%s"><title>%s: %s</title></rect>`,
			labelW, y+3, num(w), rowH-6, attr(b.Label), attr(b.Text), attr(b.Label), attr(b.Text))
		s.add(`<text class="value" x="%s" y="%d">%s</text>`, num(float64(labelW)+w+6), y+15, attr(b.Text))
	}
	return s.done()
}

// cell is one square of a heat grid.
type cell struct {
	Row, Col string
	Value    float64
	Text     string
	Note     string
}

// heatGrid draws rows × cols squares shaded by value.
func heatGrid(title, rowName, colName string, rows, cols []string, cells []cell) template.HTML {
	const size, left, topPad = 64, 90, 28
	w, h := left+size*len(cols)+20, topPad+size*len(rows)+40
	s := newSVG("grid", title, w, h)
	max := 0.0
	for _, c := range cells {
		max = math.Max(max, c.Value)
	}
	at := map[[2]string]cell{}
	for _, c := range cells {
		at[[2]string{c.Row, c.Col}] = c
	}
	for j, col := range cols {
		s.add(`<text class="label" x="%d" y="%d" text-anchor="middle">%s %s</text>`, left+j*size+size/2, topPad-8, attr(colName), attr(col))
	}
	for i, row := range rows {
		s.add(`<text class="label" x="%d" y="%d" text-anchor="end">%s %s</text>`, left-8, topPad+i*size+size/2+4, attr(rowName), attr(row))
		for j, col := range cols {
			c, ok := at[[2]string{row, col}]
			if !ok {
				c = cell{Row: row, Col: col, Text: "0"}
			}
			shade := 0.0
			if max > 0 {
				shade = 0.08 + 0.85*c.Value/max
			}
			x, y := left+j*size, topPad+i*size
			s.add(`<rect class="mark cell" x="%d" y="%d" width="%d" height="%d" fill-opacity="%s" data-label="%s" data-value="%s"><title>%s %s, %s %s: %s customers%s</title></rect>`,
				x+1, y+1, size-2, size-2, strconv.FormatFloat(shade, 'f', 3, 64), attr(row+"/"+col), attr(c.Text),
				attr(rowName), attr(row), attr(colName), attr(col), attr(c.Text), attr(c.Note))
			s.add(`<text class="cell-text" x="%d" y="%d" text-anchor="middle">%s</text>`, x+size/2, y+size/2+4, attr(c.Text))
		}
	}
	return s.done()
}

// curveChart draws a cumulative share curve (x and y from 0 to 1) with the
// diagonal of equal shares and a marker at markX.
func curveChart(title string, xs, ys []float64, markX float64, markText string) template.HTML {
	s := newSVG("curve", title, chartW, chartH)
	lo, top := math.Min(0, minOf(ys)), math.Max(1, maxOf(ys))
	// (A sum of shares ends a hair above 1; customers with a loss lift
	// the curve a little above it before it comes back.) The plot reaches
	// the next 5 %, the gridlines stay at 20 % steps within it: a curve
	// peaking at 100.3 % has no empty band up to a 120 % line.
	lo, top = math.Floor(lo*20+1e-9)/20, math.Ceil(top*20-1e-9)/20
	y := s.yAxis(lo, top, 0.2, true)
	x := func(v float64) float64 { return padL + v*(chartW-padL-padR) }
	s.add(`<line class="diagonal" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x(0)), num(y(0)), num(x(1)), num(y(1)))
	var pts []string
	for i := range xs {
		pts = append(pts, num(x(xs[i]))+","+num(y(ys[i])))
	}
	s.add(`<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
	for _, v := range []float64{0, 0.2, 0.4, 0.6, 0.8, 1} {
		s.add(`<text class="tick" x="%s" y="%d" text-anchor="middle">%s%%</text>`, num(x(v)), chartH-padB+18, strconv.Itoa(int(v*100)))
	}
	s.add(`<text class="tick" x="%s" y="%d" text-anchor="middle">share of customers, most profitable first</text>`, num(x(0.5)), chartH-padB+38)
	if markText != "" {
		my := interpolate(xs, ys, markX)
		s.add(`<line class="marker" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x(markX)), num(y(lo)), num(x(markX)), num(y(my)))
		s.add(`<circle class="mark" cx="%s" cy="%s" r="4" data-label="top %s%%" data-value="%s"><title>%s</title></circle>`,
			num(x(markX)), num(y(my)), strconv.Itoa(int(markX*100)), attr(markText), attr(markText))
		s.add(`<text class="value" x="%s" y="%s">%s</text>`, num(x(markX)+6), num(y(my)+14), attr(markText))
	}
	return s.done()
}

// columnChart draws vertical bars (a histogram).
func columnChart(title string, bars []point) template.HTML {
	s := newSVG("columns", title, chartW, chartH)
	max := 0.0
	for _, b := range bars {
		max = math.Max(max, b.Value)
	}
	top, step := niceMax(max)
	y := s.yAxis(0, top, step, false)
	bw := float64(chartW-padL-padR) / float64(max1(len(bars)))
	x := func(i int) float64 { return padL + bw*float64(i) + bw/2 }
	labels := make([]string, len(bars))
	for i, b := range bars {
		labels[i] = b.Label
		s.add(`<rect class="mark" x="%s" y="%s" width="%s" height="%s" data-label="%s" data-value="%s"><title>%s: %s</title></rect>`,
			num(padL+bw*float64(i)+1), num(y(b.Value)), num(math.Max(bw-2, 1)), num(y(0)-y(b.Value)), attr(b.Label), attr(b.Text), attr(b.Label), attr(b.Text))
	}
	s.xLabels(labels, x)
	return s.done()
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// interpolate reads the curve (xs ascending) at x.
func interpolate(xs, ys []float64, x float64) float64 {
	for i := 1; i < len(xs); i++ {
		if xs[i] >= x {
			if xs[i] == xs[i-1] {
				return ys[i]
			}
			return ys[i-1] + (ys[i]-ys[i-1])*(x-xs[i-1])/(xs[i]-xs[i-1])
		}
	}
	if len(ys) == 0 {
		return 0
	}
	return ys[len(ys)-1]
}

// money formats an amount with two decimals.
func money(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// textWidth estimates the width in pixels of a label at 11px: about 6.5
// for a Latin character, 11 for a CJK one.
func textWidth(s string) int {
	w := 0.0
	for _, r := range s {
		if r > 0x2E80 {
			w += 11
		} else {
			w += 6.5
		}
	}
	return int(w)
}
