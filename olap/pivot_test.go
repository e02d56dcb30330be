package olap

import (
	"fmt"
	"strings"
	"testing"
)

// TestPivotGrid lays provinces × years with subtotals out as a grid with
// indented subtotal rows and a Total column.
func TestPivotGrid(t *testing.T) {
	w := smallWarehouse(t)
	sales := builtinCube(t, "sales")
	p, data := runCube(t, w, sales, Query{Measures: []string{"revenue"}, Rows: []string{"region.province", "region.city"}, Cols: []string{"date.year"}, Totals: true})
	g := Pivot(p, data)
	var b strings.Builder
	b.WriteString(strings.Join(g.Header, " | ") + "\n")
	for _, r := range g.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = fmt.Sprint(v)
		}
		b.WriteString(strings.Join(cells, " | ") + "\n")
	}
	want := `region.province > region.city | Total | 2023 | 2024
Total | 1525.00 | 275.00 | 1250.00
Guangdong | 1075.00 | 275.00 | 800.00
  Guangzhou | 710.00 | 125.00 | 585.00
  Shenzhen | 365.00 | 150.00 | 215.00
Zhejiang | 450.00 | <nil> | 450.00
  Hangzhou | 450.00 | <nil> | 450.00
`
	if b.String() != want {
		t.Fatalf("grid:\n%s\nwant:\n%s", b.String(), want)
	}
	// Without column levels and subtotals the grid is the plain result.
	p, data = runCube(t, w, sales, Query{Measures: []string{"revenue", "orders"}, Rows: []string{"region.province"}})
	g = Pivot(p, data)
	if fmt.Sprint(g.Header) != "[region.province revenue orders]" || len(g.Rows) != 2 {
		t.Fatalf("plain grid %v %v", g.Header, g.Rows)
	}
}
