package olap

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// planNode is one operator of DuckDB's EXPLAIN (FORMAT json) output.
type planNode struct {
	Name      string          `json:"name"`
	ExtraInfo json.RawMessage `json:"extra_info"`
	Children  []planNode      `json:"children"`
}

// planShape returns the physical plan DuckDB chooses for text as an
// indented operator tree: each operator with its table, join type and
// join conditions, but no costs, timings, cardinalities or projections.
func planShape(ctx context.Context, q engine.Querier, text string, args []any) (string, error) {
	rows, err := q.QueryContext(ctx, "EXPLAIN (FORMAT json) "+text, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan string
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			return "", err
		}
		if key == "physical_plan" {
			plan = value
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	var nodes []planNode
	if err := json.Unmarshal([]byte(plan), &nodes); err != nil {
		return "", fmt.Errorf("plan %q: %w", plan, err)
	}
	var b strings.Builder
	for _, n := range nodes {
		writeShape(&b, n, 0)
	}
	return b.String(), nil
}

// paramRef is a bound parameter or a literal in a plan's text: shapes
// compare where values go, not which values.
var paramRef = regexp.MustCompile(`\$\d+|'[^']*'|\b\d+\b`)

func writeShape(b *strings.Builder, n planNode, depth int) {
	var info map[string]any
	_ = json.Unmarshal(n.ExtraInfo, &info)
	var attrs []string
	for _, k := range []string{"Table", "Join Type", "Conditions", "Filters", "Groups", "Order By"} {
		v, ok := info[k]
		if !ok {
			continue
		}
		var s string
		switch v := v.(type) {
		case []any:
			parts := make([]string, len(v))
			for i, x := range v {
				parts[i] = fmt.Sprint(x)
			}
			s = strings.Join(parts, "; ")
		default:
			s = fmt.Sprint(v)
		}
		s = paramRef.ReplaceAllString(s, "?")
		if k == "Table" {
			// The catalog is the warehouse's file name.
			s = s[strings.LastIndex(s, ".")+1:]
		}
		attrs = append(attrs, k+": "+s)
	}
	sort.Strings(attrs)
	fmt.Fprintf(b, "%s%s", strings.Repeat("  ", depth), n.Name)
	if len(attrs) > 0 {
		fmt.Fprintf(b, " [%s]", strings.Join(attrs, ", "))
	}
	b.WriteByte('\n')
	for _, c := range n.Children {
		writeShape(b, c, depth+1)
	}
}
