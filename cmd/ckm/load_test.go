package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func TestLoadWithConfiguredMapping(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	exports := filepath.Join(dir, "in")
	os.MkdirAll(exports, 0o755)
	os.WriteFile(filepath.Join(exports, "orders_2024.csv"), []byte(
		"订单号;下单时间;联系电话;sku;qty;price\n"+
			"A1;2024-05-01 10:00;138 0013 8000;X1;2;9.50\n"+
			"A2;2024-05-02 11:00;13800138000;X1;1;9.50\n"+
			"A3;2024-02-30 11:00;13800138000;X1;1;9.50\n"), 0o644)
	cfg := filepath.Join(dir, "ckm.yaml")
	os.WriteFile(cfg, []byte(`warehouse: `+wh+`
sources:
  - name: shop_orders
    target: sales
    channel: web
    pattern: "orders_*.csv"
    columns:
      order_id: [订单号]
      ts: [下单时间]
      mobile: [联系电话]
      product_code: [sku]
      quantity: [qty]
      unit_price: [price]
`), 0o644)
	out, stderr, code := runCkm(t, "", "--config", cfg, "load", exports, "--as-of", "2024-12-31", "--format", "json")
	if code != exitRejected {
		t.Fatalf("exit %d, want %d (one row rejected); stderr: %s", code, exitRejected, stderr)
	}
	var rep struct {
		RunID int64 `json:"run_id"`
		Files []struct {
			Source   string `json:"source"`
			Read     int64  `json:"read"`
			Loaded   int64  `json:"loaded"`
			Rejected int64  `json:"rejected"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if len(rep.Files) != 1 || rep.Files[0].Source != "shop_orders" || rep.Files[0].Read != 3 || rep.Files[0].Loaded != 2 || rep.Files[0].Rejected != 1 {
		t.Fatalf("report: %+v", rep)
	}
	out, _, code = runCkm(t, "", "--config", cfg, "rejects", "--format", "csv")
	if code != 0 || !strings.Contains(out, "date_invalid") || !strings.Contains(out, ",4,") {
		t.Errorf("rejects (%d): %s", code, out)
	}
	out, _, code = runCkm(t, "", "--config", cfg, "sql", "-c", "SELECT count(DISTINCT customer_id) AS n, sum(amount) AS total FROM fact_sales", "--format", "csv")
	if code != 0 || !strings.Contains(out, "1,28.50") {
		t.Errorf("one customer, 28.50 of sales; got (%d) %s", code, out)
	}
	// A second run of the same file is a no-op.
	_, stderr, code = runCkm(t, "", "--config", cfg, "load", exports)
	if code != 0 || !strings.Contains(stderr, "nothing to load") {
		t.Errorf("re-load: exit %d, %s", code, stderr)
	}
}

func TestLoadUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "ckm.yaml")
	os.WriteFile(bad, []byte("sources:\n  - name: x\n    target: orders\n    pattern: \"*.csv\"\n"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no paths", []string{"--warehouse", filepath.Join(dir, "a.duckdb"), "load"}, exitUsage, "nothing to load"},
		{"bad as-of", []string{"--warehouse", filepath.Join(dir, "a.duckdb"), "load", dir, "--as-of", "31/12/2024"}, exitUsage, "--as-of"},
		{"unknown target", []string{"--config", bad, "--warehouse", filepath.Join(dir, "a.duckdb"), "load", dir}, exitUsage, `target "orders"`},
		{"missing path", []string{"--warehouse", filepath.Join(dir, "a.duckdb"), "load", filepath.Join(dir, "nope")}, exitFailure, "nope"},
		{"unmatched file", []string{"--warehouse", filepath.Join(dir, "a.duckdb"), "load", bad}, exitFailure, "no source mapping matches"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCkm(t, "", c.args...)
			if code != c.code || !strings.Contains(stderr, c.msg) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, c.code, stderr, c.msg)
			}
		})
	}
}

// TestNewLoadCmd checks what ckm load's arguments, flags, environment and
// config resolve to, without a warehouse.
func TestNewLoadCmd(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ckm.yaml")
	os.WriteFile(cfg, []byte("load:\n  paths: [a, b]\n  as-of: 2024-06-30\n"), 0o644)
	endOf := func(day string) time.Time {
		d, _ := time.ParseInLocation(time.DateOnly, day, time.Local)
		return d.Add(24*time.Hour - time.Second)
	}
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		paths []string
		asOf  time.Time
		err   string
	}{
		{"paths, no as-of", nil, []string{"load", "x", "y"}, []string{"x", "y"}, time.Time{}, ""},
		{"as-of is the end of the day", nil, []string{"load", "x", "--as-of", "2024-12-31"}, []string{"x"}, endOf("2024-12-31"), ""},
		{"as-of from the environment", map[string]string{"CKM_LOAD_AS_OF": "2000-01-01"}, []string{"load", "x"}, []string{"x"}, endOf("2000-01-01"), ""},
		{"paths and as-of from the config", nil, []string{"--config", cfg, "load"}, []string{"a", "b"}, endOf("2024-06-30"), ""},
		{"arguments beat load.paths", nil, []string{"--config", cfg, "load", "z"}, []string{"z"}, endOf("2024-06-30"), ""},
		{"nothing to load", nil, []string{"load"}, nil, time.Time{}, "nothing to load"},
		{"bad as-of", nil, []string{"load", "x", "--as-of", "31/12/2024"}, nil, time.Time{}, `--as-of "31/12/2024"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var got *loadOptions
			err := parseWith(t, nil, func(a *app) *cobra.Command {
				return newLoadCmd(a, func(_ context.Context, o *loadOptions) error { got = o; return nil })
			}, c.args...)
			if c.err != "" {
				var ue usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want a usage error with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.paths, c.paths) || !got.asOf.Equal(c.asOf) {
				t.Errorf("paths %v as-of %v, want %v %v", got.paths, got.asOf, c.paths, c.asOf)
			}
		})
	}
}
