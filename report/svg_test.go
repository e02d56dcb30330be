package report

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var gridRE = regexp.MustCompile(`<line class="grid" x1="\d+" x2="\d+" y1="([\d.]+)" y2="[\d.]+"/><text class="tick"[^>]*>([^<]*)</text>`)

// TestCurveChartAxis: a Pareto curve that peaks a little above 100 %
// (customers with a loss at the tail) gets gridlines 0 %…100 % inside the
// plot, not an empty band up to 120 %; one that dips below 0 gets its
// gridlines at multiples of 20 %, all within the plot.
func TestCurveChartAxis(t *testing.T) {
	cases := []struct {
		ys   []float64
		want string
	}{
		{[]float64{0, 0.55, 0.9, 1.003, 1}, "0% 20% 40% 60% 80% 100%"},
		{[]float64{0, 0.6, 1}, "0% 20% 40% 60% 80% 100%"},
		{[]float64{0, -0.03, 0.5, 1.12, 1}, "0% 20% 40% 60% 80% 100%"},
		{[]float64{0, -0.21, 0.5, 1}, "-20% 0% 20% 40% 60% 80% 100%"},
	}
	for _, c := range cases {
		xs := make([]float64, len(c.ys))
		for i := range xs {
			xs[i] = float64(i) / float64(len(xs)-1)
		}
		svg := string(curveChart("t", xs, c.ys, 0.2, "top 20%"))
		var labels []string
		for _, m := range gridRE.FindAllStringSubmatch(svg, -1) {
			labels = append(labels, m[2])
			if y, _ := strconv.ParseFloat(m[1], 64); y < padT-0.05 || y > chartH-padB+0.05 {
				t.Errorf("ys %v: gridline %s at y %.1f, outside the plot %d…%d", c.ys, m[2], y, padT, chartH-padB)
			}
		}
		if got := strings.Join(labels, " "); got != c.want {
			t.Errorf("ys %v: gridlines %q, want %q", c.ys, got, c.want)
		}
	}
}
