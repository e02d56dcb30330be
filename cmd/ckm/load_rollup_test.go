package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefreshesRollups: after `ckm load`, a cube query is answered
// from a rollup the load refreshed once it committed — and after a second
// load (new data version) from a fresh one again, with the new data.
func TestLoadRefreshesRollups(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	header := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	load := func(name, lines string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(header+lines), 0o644)
		if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", p, "--as-of", "2024-12-31"); code != 0 && code != exitRejected {
			t.Fatalf("load %s exit %d: %s", name, code, stderr)
		}
	}
	query := func() (string, string) {
		t.Helper()
		explain, stderr, code := runCkm(t, "", "--warehouse", wh, "cube", "explain", "sales", "--measures", "revenue", "--rows", "date.year")
		if code != 0 {
			t.Fatalf("explain exit %d: %s", code, stderr)
		}
		out, stderr, code := runCkm(t, "", "--warehouse", wh, "--format", "csv", "cube", "query", "sales", "--measures", "revenue", "--rows", "date.year")
		if code != 0 {
			t.Fatalf("query exit %d: %s", code, stderr)
		}
		return explain, strings.TrimSpace(out)
	}
	load("pos_sales_1.csv", "S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001,2,10.00,0,\n")
	explain, out := query()
	if !strings.Contains(explain, "-- source: rollup ") || !strings.HasSuffix(out, "2024,20.00") {
		t.Fatalf("after the first load:\n%s\n%s", explain, out)
	}
	load("pos_sales_2.csv", "S2,1,ST01,北京朝阳店,张三,2024/2/5 14:22,,13912345678,P001,1,5.00,0,\n")
	explain, out = query()
	if !strings.Contains(explain, "-- source: rollup ") || !strings.HasSuffix(out, "2024,25.00") {
		t.Fatalf("after the second load:\n%s\n%s", explain, out)
	}
}

// TestLoadCommitsWhenRollupsFail: the rollups are refreshed after the load
// commits, so a rollup that cannot be built (a user's cube summing a text
// column) no longer fails the load: the data is in, ckm says the rollups
// were not refreshed and how to refresh them, cube queries read the base
// tables meanwhile, and refreshing the cube later answers from its rollup.
func TestLoadCommitsWhenRollupsFail(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	cubes := filepath.Join(dir, "cubes")
	os.Mkdir(cubes, 0o755)
	os.WriteFile(filepath.Join(cubes, "broken.yaml"), []byte(`name: broken
fact: fact_sales
dimensions:
  - name: order
    hierarchies:
      - name: order
        levels:
          - {name: order, column: order_id}
measures:
  - {name: order_number, agg: sum, expr: order_id}
rollups:
  - {name: by_order, levels: [order.order], measures: [order_number]}
`), 0o644)
	cfg := filepath.Join(dir, "ckm.yaml")
	os.WriteFile(cfg, []byte("cubes_dir: "+cubes+"\n"), 0o644)
	p := filepath.Join(dir, "pos_sales_1.csv")
	os.WriteFile(p, []byte("单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001,2,10.00,0,\n"), 0o644)
	_, stderr, code := runCkm(t, "", "--config", cfg, "--warehouse", wh, "load", p, "--as-of", "2024-12-31")
	if code != 0 {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warning: run 1 committed, but its rollups were not refreshed") || !strings.Contains(stderr, "refresh rollup broken.by_order") {
		t.Errorf("the load did not say its rollups were not refreshed:\n%s", stderr)
	}
	explain := func() string {
		t.Helper()
		out, stderr, code := runCkm(t, "", "--config", cfg, "--warehouse", wh, "cube", "explain", "sales", "--measures", "revenue", "--rows", "date.year")
		if code != 0 {
			t.Fatalf("explain exit %d: %s", code, stderr)
		}
		return out
	}
	if e := explain(); !strings.Contains(e, "-- source: base tables") {
		t.Errorf("with the rollups not refreshed, the query should read the base tables:\n%s", e)
	}
	out, stderr, code := runCkm(t, "", "--config", cfg, "--warehouse", wh, "--format", "csv", "cube", "query", "sales", "--measures", "revenue", "--rows", "date.year")
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "2024,20.00") {
		t.Fatalf("the load's data is not in: exit %d\n%s%s", code, out, stderr)
	}
	if _, stderr, code := runCkm(t, "", "--config", cfg, "--warehouse", wh, "cube", "refresh", "sales"); code != 0 {
		t.Fatalf("cube refresh exit %d: %s", code, stderr)
	}
	if e := explain(); !strings.Contains(e, "-- source: rollup ") {
		t.Errorf("after ckm cube refresh sales, the query should use a rollup:\n%s", e)
	}
}

// TestAdminEditReachesRollups: the rollups are refreshed in place, only in
// the periods a load's run touched; an admin's UPDATE by hand makes no run,
// so it marks them stale and the next load rebuilds them — a 2023 line
// edited by hand shows in the cube after a load of 2024 lines only.
func TestAdminEditReachesRollups(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	header := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	load := func(name, lines string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(header+lines), 0o644)
		if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", p, "--as-of", "2024-12-31"); code != 0 && code != exitRejected {
			t.Fatalf("load %s exit %d: %s", name, code, stderr)
		}
	}
	byYear := func() (string, string) {
		t.Helper()
		explain, stderr, code := runCkm(t, "", "--warehouse", wh, "cube", "explain", "sales", "--measures", "revenue", "--rows", "date.year")
		if code != 0 {
			t.Fatalf("explain exit %d: %s", code, stderr)
		}
		out, stderr, code := runCkm(t, "", "--warehouse", wh, "--format", "csv", "cube", "query", "sales", "--measures", "revenue", "--rows", "date.year")
		if code != 0 {
			t.Fatalf("query exit %d: %s", code, stderr)
		}
		return explain, strings.TrimSpace(out)
	}
	load("pos_sales_1.csv", "S1,1,ST01,北京朝阳店,张三,2023/6/5 14:22,,13912345678,P001,2,10.00,0,\n"+
		"S2,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001,1,10.00,0,\n")
	if _, stderr, code := runCkm(t, "", append(asAdmin(t), "--warehouse", wh, "sql", "-c", "UPDATE fact_sales SET amount = 50 WHERE order_id = 'S1'")...); code != 0 {
		t.Fatalf("admin update exit %d: %s", code, stderr)
	}
	load("pos_sales_2.csv", "S3,1,ST01,北京朝阳店,张三,2024/2/5 14:22,,13912345678,P001,1,5.00,0,\n")
	explain, out := byYear()
	if !strings.Contains(explain, "-- source: rollup ") || !strings.Contains(out, "2023,50.00") || !strings.HasSuffix(out, "2024,15.00") {
		t.Errorf("after an admin's edit of 2023 and a load of 2024, the cube (from a rollup) should show the edit:\n%s\n%s", explain, out)
	}
}
