package etl

import (
	"context"
	"testing"
)

// TestRestatementRecordsChange: a load that restates an earlier line
// records the month of the restated row in ckm_change (the lake's
// incremental export re-reads it: a restatement updates a row in place,
// which DuckDB's storage need not show); a load that only appends
// records nothing.
func TestRestatementRecordsChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := openMem(t)
	opts := Options{AsOf: asOf2024(), Mappings: []Mapping{sourceLike(t, "pos_sales", "till", "till_*.csv", CorrectionsRestate)}}
	records := func() []string {
		return queryLines(t, w, `SELECT table_name || ':' || coalesce(CAST(month AS VARCHAR), 'any') FROM ckm_change WHERE table_name <> '*' ORDER BY seq`)
	}
	writeFile(t, dir, "till_0105.csv", tillHeader+till("S1", 1, "ST01", 5, "10.00")+till("S2", 1, "ST01", 2, "7.50"), false)
	if _, err := Load(ctx, w, []string{dir + "/till_0105.csv"}, opts); err != nil {
		t.Fatal(err)
	}
	if r := records(); len(r) != 0 {
		t.Errorf("an appending load recorded %v, want nothing", r)
	}
	// S1 line 1 corrected (quantity 5 → 6): the row of 2024-01-05 is restated.
	writeFile(t, dir, "till_0105_v2.csv", tillHeader+till("S1", 1, "ST01", 6, "10.00")+till("S2", 1, "ST01", 2, "7.50"), false)
	if _, err := Load(ctx, w, []string{dir + "/till_0105_v2.csv"}, opts); err != nil {
		t.Fatal(err)
	}
	if r := records(); len(r) != 1 || r[0] != "fact_sales:202401" {
		t.Errorf("the restating load recorded %v, want [fact_sales:202401]", r)
	}
}
