package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/fixtures"
)

// TestFixturesMarketplaceLoads generates a marketplace export of 3,000
// orders and loads it with the mapping written beside it: the warehouse
// holds exactly the figures the generator counted as it wrote the files
// (lines, customers, revenue, freight, the lines of orders paid two
// ways, the cancelled orders' lines rejected), and the same seed writes
// the same files.
func TestFixturesMarketplaceLoads(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mk")
	stdout, stderr, code := runCkm(t, "", "fixtures", "marketplace", "--out", out, "--orders", "3000", "--seed", "4", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var truth fixtures.MarketplaceTruth
	if err := json.Unmarshal([]byte(stdout), &truth); err != nil {
		t.Fatalf("stdout is not the truth as JSON: %v\n%s", err, stdout)
	}
	onDisk, err := os.ReadFile(filepath.Join(out, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var written fixtures.MarketplaceTruth
	if err := json.Unmarshal(onDisk, &written); err != nil || written != truth {
		t.Fatalf("expected.json %+v (%v), stdout %+v", written, err, truth)
	}
	if truth.Cancelled == 0 || truth.TwoTypes == 0 || truth.Customers >= truth.Orders || truth.ItemLines <= truth.Orders {
		t.Fatalf("the export lacks a case: %+v", truth)
	}
	wh := filepath.Join(t.TempDir(), "w.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--config", filepath.Join(out, "ckm.yaml"), "load", out, "--as-of", "2024-12-31"); code != 3 {
		t.Fatalf("load: exit %d (want 3: rows rejected): %s", code, stderr)
	}
	stdout, stderr, code = runCkm(t, "", "--warehouse", wh, "--format", "csv", "sql", "-c",
		`SELECT count(*), CAST(sum(amount) * 100 AS BIGINT), CAST(sum(freight) * 100 AS BIGINT), count(DISTINCT customer_id),
			count(*) FILTER (WHERE payment_type LIKE '%,%') FROM fact_sales_current`)
	if code != 0 {
		t.Fatalf("sql: exit %d: %s", code, stderr)
	}
	got := strings.TrimSpace(stdout[strings.Index(stdout, "\n")+1:])
	if want := fmt.Sprintf("%d,%d,%d,%d,%d", truth.Loaded, truth.RevenueCents, truth.FreightCents, truth.Customers, truth.TwoTypes); got != want {
		t.Errorf("lines, revenue, freight (cents), customers, lines paid two ways = %s, want %s", got, want)
	}
	stdout, _, _ = runCkm(t, "", "--warehouse", wh, "--format", "csv", "sql", "-c",
		`SELECT count(*) FROM analyst.etl_reject WHERE rule = 'order_cancelled'`)
	if got := strings.TrimSpace(stdout[strings.Index(stdout, "\n")+1:]); got != fmt.Sprint(truth.Excluded) {
		t.Errorf("order_cancelled rejects %s, want %d", got, truth.Excluded)
	}
	// The same seed, the same files; another seed, others.
	again := filepath.Join(t.TempDir(), "again")
	if _, err := fixtures.WriteMarketplace(again, 3000, 4); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if _, err := fixtures.WriteMarketplace(other, 3000, 5); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shop_orders.csv", "shop_customers.csv", "shop_order_items.csv", "shop_order_payments.csv"} {
		a, _ := os.ReadFile(filepath.Join(out, name))
		b, _ := os.ReadFile(filepath.Join(again, name))
		c, _ := os.ReadFile(filepath.Join(other, name))
		if len(a) == 0 || !bytes.Equal(a, b) || bytes.Equal(a, c) {
			t.Errorf("%s: %d bytes; seed 4 twice alike %v, seed 5 alike %v", name, len(a), bytes.Equal(a, b), bytes.Equal(a, c))
		}
	}
	if _, stderr, code := runCkm(t, "", "fixtures", "marketplace", "--orders", "10"); code != 2 || !strings.Contains(stderr, "--out is required") {
		t.Errorf("no --out: exit %d, %q", code, stderr)
	}
}
