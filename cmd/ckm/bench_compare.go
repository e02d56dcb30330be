package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/olap"
)

// ssbHandColumns maps the ssb cube's output columns to the names the
// hand-written SSB queries give them.
var ssbHandColumns = map[string]string{
	"date.year":        "d_year",
	"part.brand":       "p_brand1",
	"part.category":    "p_category",
	"customer.nation":  "c_nation",
	"supplier.nation":  "s_nation",
	"customer.city":    "c_city",
	"supplier.city":    "s_city",
	"discount_revenue": "revenue",
}

// handColumnOrder returns, for each cube column, the position of the same
// column in the result of the hand-written SQL.
func handColumnOrder(ctx context.Context, w *engine.Warehouse, cube []olap.Column, handSQL string) ([]int, error) {
	rows, err := w.DB.QueryContext(ctx, "SELECT * FROM ("+handSQL+") LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	at := map[string]int{}
	for i, n := range names {
		at[n] = i
	}
	order := make([]int, len(cube))
	for i, c := range cube {
		name := c.Name
		if h, ok := ssbHandColumns[name]; ok {
			name = h
		}
		j, ok := at[name]
		if !ok {
			return nil, fmt.Errorf("the hand-written SQL has no column %s (for the cube's %s)", name, c.Name)
		}
		order[i] = j
	}
	return order, nil
}

// answerDiff compares the rows of a cube query with those of the
// hand-written SQL, whose columns are at order: "" when they hold the same
// rows (in any order: ties in ORDER BY may be broken differently), else the
// first row that differs.
func answerDiff(cube, hand [][]any, order []int) string {
	if len(cube) != len(hand) {
		return fmt.Sprintf("cube returned %d rows, hand-written SQL %d", len(cube), len(hand))
	}
	c := make([]string, len(cube))
	h := make([]string, len(hand))
	for i := range cube {
		c[i] = rowKey(cube[i], nil)
		h[i] = rowKey(hand[i], order)
	}
	sort.Strings(c)
	sort.Strings(h)
	for i := range c {
		if c[i] != h[i] {
			return fmt.Sprintf("cube row (%s), hand-written SQL row (%s)", c[i], h[i])
		}
	}
	return ""
}

// rowKey prints a row's cells (those at order, when given) comparably:
// numbers of any Go type to 10 significant digits.
func rowKey(row []any, order []int) string {
	cells := make([]string, 0, len(row))
	if order == nil {
		for _, v := range row {
			cells = append(cells, cellKey(v))
		}
	} else {
		for _, j := range order {
			cells = append(cells, cellKey(row[j]))
		}
	}
	return strings.Join(cells, " | ")
}

func cellKey(v any) string {
	var f float64
	switch x := v.(type) {
	case nil:
		return "NULL"
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return x.String()
		}
	case int64:
		f = float64(x)
	case int32:
		f = float64(x)
	case int16:
		f = float64(x)
	case int8:
		f = float64(x)
	case int:
		f = float64(x)
	case uint64:
		f = float64(x)
	case uint32:
		f = float64(x)
	case uint16:
		f = float64(x)
	case uint8:
		f = float64(x)
	case float32:
		f = float64(x)
	case float64:
		f = x
	default:
		return fmt.Sprint(v)
	}
	return strconv.FormatFloat(f, 'g', 10, 64)
}
