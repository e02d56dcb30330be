package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// TestDimCustomerViewScansOneKindPerJoin checks the plan schema v21 was
// written for: each of analyst.dim_customer's four look-ups scans
// vault_display with its own kind as a filter of the scan, so each hash
// table is built from one kind's displays. Without v21 (token-only joins)
// the four scans carry no filter; with the kind left in the join condition
// the filter would sit on the join, not on the scan.
func TestDimCustomerViewScansOneKindPerJoin(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Enough displays of every kind that the planner keeps the scans (an
	// empty table is planned as EMPTY_RESULT).
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO vault_display
		SELECT k || '-' || i, k, 'd' || i
		FROM unnest(['id_number', 'name', 'mobile', 'email']) t(k), range(3000) r(i)`); err != nil {
		t.Fatal(err)
	}
	var kind, plan string
	if err := w.DB.QueryRowContext(ctx, `EXPLAIN (FORMAT json) SELECT * FROM analyst.dim_customer`).Scan(&kind, &plan); err != nil {
		t.Fatal(err)
	}
	type node struct {
		Name      string         `json:"name"`
		Children  []node         `json:"children"`
		ExtraInfo map[string]any `json:"extra_info"`
	}
	var roots []node
	if err := json.Unmarshal([]byte(plan), &roots); err != nil {
		t.Fatalf("EXPLAIN (FORMAT json): %v\n%s", err, plan)
	}
	var filters []string
	var walk func(n node)
	walk = func(n node) {
		if n.Name == "SEQ_SCAN" && strings.HasSuffix(fmt.Sprint(n.ExtraInfo["Table"]), ".vault_display") {
			filters = append(filters, strings.ReplaceAll(fmt.Sprint(n.ExtraInfo["Filters"]), " ", ""))
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	sort.Strings(filters)
	want := []string{"kind='email'", "kind='id_number'", "kind='mobile'", "kind='name'"}
	if strings.Join(filters, "|") != strings.Join(want, "|") {
		t.Errorf("vault_display scans' filters = %q, want one scan per kind %q\n%s", filters, want, plan)
	}
}
