package etl

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadMergesOnProtectedWarehouse: on a protected warehouse
// etl_identity holds tokens for mobiles, so the merge planner must meet
// existing customers through the stored token, not the raw value the
// resolver stages. Two customers kept apart (cards M1 and M2, M2 with a
// mobile), then a till line naming M1's card and M2's mobile: one merge,
// B's facts re-pointed to A, B's mobile token now A's, and the record keys
// hashed in the stored (token) form so a split can find the records.
func TestLoadMergesOnProtectedWarehouse(t *testing.T) {
	ctx := context.Background()
	w, v := ProtectedWarehouse(t, filepath.Join(t.TempDir(), "w.duckdb"))
	load := func(n int, asOf string, lines ...string) {
		t.Helper()
		dir := t.TempDir()
		writeFile(t, dir, fmt.Sprintf("pos_sales_%d.csv", n), mergePOSHeader+strings.Join(lines, "\n")+"\n", false)
		if _, err := Load(ctx, w, []string{dir}, Options{AsOf: day(t, asOf), Vault: v}); err != nil {
			t.Fatalf("load %d: %v", n, err)
		}
	}
	mobile := mobileOf("M2")
	load(1, "2024-08-31",
		posLine("S1", "2024-04-10 10:00", "M1", ""),
		posLine("S3", "2024-04-11 10:00", "M2", mobile),
		posLine("S4", "2024-06-11 10:00", "M2", ""))
	id := func(card string) int64 {
		return queryInt(t, w, `SELECT customer_id FROM etl_identity WHERE key_type = 'member_card' AND key_value = ?`, card)
	}
	a, b := id("M1"), id("M2")
	if a == b || a > b {
		t.Fatalf("customers A %d, B %d: want two, A older", a, b)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM etl_identity WHERE key_type = 'mobile' AND key_value LIKE '%' || ? || '%'`, mobile[3:]); n != 0 {
		t.Fatalf("etl_identity holds the raw mobile %d times on a protected warehouse", n)
	}
	load(2, "2024-12-31", posLine("S5", "2024-12-01 10:00", "M1", mobile))

	if n := queryInt(t, w, `SELECT count(*) FROM customer_merge WHERE kind = 'load_merge' AND survivor = ? AND other = ?`, a, b); n != 1 {
		t.Fatalf("%d load merges of %d into %d, want 1", n, b, a)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE customer_id = ?`, b); n != 0 {
		t.Errorf("%d sales lines still name the merged-away customer %d", n, b)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM fact_sales WHERE customer_id = ?`, a); n != 4 {
		t.Errorf("customer %d has %d sales lines, want 4 (S1, S3, S4, S5)", a, n)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM etl_identity WHERE key_type = 'mobile' AND customer_id = ?`, a); n != 1 {
		t.Errorf("the survivor holds %d mobile tokens, want 1", n)
	}
	// Record keys are hashed as etl_identity stores the key: every record
	// key of the mobile matches the token's hash.
	if n := queryInt(t, w, `SELECT count(*) FROM etl_record_key r JOIN etl_identity ei
		ON r.key_hash = hash(ei.key_type, CAST(ei.key_value AS VARCHAR)) WHERE ei.key_type = 'mobile'`); n != 2 {
		t.Errorf("%d record keys match the stored mobile token, want 2 (S3 and S5)", n)
	}
}
