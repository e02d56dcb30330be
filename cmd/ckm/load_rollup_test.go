package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefreshesRollups: after `ckm load`, a cube query is answered
// from a rollup the load refreshed in its transaction — and after a second
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
