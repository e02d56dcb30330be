package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// mineWarehouse writes a warehouse file with the purchases of five customers.
func mineWarehouse(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.Exec(`INSERT INTO fact_sales (order_id, order_ts, customer_id, amount, cost_amount) VALUES
        ('a', TIMESTAMP '2024-12-30', 1, 100, 60), ('b', TIMESTAMP '2024-12-01', 1, 50, 30), ('c', TIMESTAMP '2024-11-01', 1, 50, 30),
        ('d', TIMESTAMP '2024-12-30', 2, 50, 25), ('e', TIMESTAMP '2024-06-01', 3, 300, 100), ('f', TIMESTAMP '2024-07-01', 3, 100, 50),
        ('g', TIMESTAMP '2024-03-01', 4, 20, 10), ('h', TIMESTAMP '2024-10-01', 5, 80, 40)`); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMineCommands(t *testing.T) {
	wh := mineWarehouse(t)
	out, stderr, code := runCkm(t, "", "mine", "rfm", "--warehouse", wh, "--as-of", "2024-12-31", "--format", "json")
	if code != 0 {
		t.Fatalf("mine rfm: exit %d: %s", code, stderr)
	}
	var rfm struct {
		ModelID   int64 `json:"model_id"`
		Customers int64 `json:"customers"`
		Segments  []struct {
			Segment   string `json:"segment"`
			Customers int64  `json:"customers"`
		} `json:"segments"`
	}
	if err := json.Unmarshal([]byte(out), &rfm); err != nil {
		t.Fatalf("mine rfm json: %v\n%s", err, out)
	}
	if rfm.ModelID != 1 || rfm.Customers != 5 || len(rfm.Segments) != 5 {
		t.Errorf("mine rfm: %+v", rfm)
	}
	out, stderr, code = runCkm(t, "", "mine", "profit", "--warehouse", wh, "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "decile,customers,profit,share_pct,cumulative_pct\n1,1,250,61.7,61.7\n") {
		t.Errorf("mine profit: exit %d\n%s%s", code, out, stderr)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"mine", "rfm", "--as-of", "31.12.2024"}, 2, `--as-of "31.12.2024": want a date YYYY-MM-DD`},
		{[]string{"mine", "rfm", "--amount-col", "amt"}, 1, `unknown amount column "amt"`},
		{[]string{"mine", "rfm", "--as-of", "2020-01-01"}, 1, "first purchase in the source table fact_sales is on 2024-03-01"},
		{[]string{"mine", "churn"}, 1, "no clv model in kb_model"},
		{[]string{"mine", "lifecycle"}, 1, "no current customers"},
	} {
		_, stderr, code := runCkm(t, "", append(c.args, "--warehouse", wh)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}
