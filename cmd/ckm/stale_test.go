package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestatementMarksModelsStale: a model mined before a load that
// restates facts says so in kb_model_status.
func TestRestatementMarksModelsStale(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	header := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	line := func(order, qty string) string {
		return order + ",1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001," + qty + ",10.00,0,\n"
	}
	load := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(header+content), 0o644)
		if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", p, "--as-of", "2024-12-31"); code != 0 && code != exitRejected {
			t.Fatalf("load %s exit %d: %s", name, code, stderr)
		}
	}
	status := func() string {
		t.Helper()
		out, stderr, code := runCkm(t, "", "--warehouse", wh, "sql", "--format", "csv", "-c",
			"SELECT stale, restated FROM kb_model_status ORDER BY model_id")
		if code != 0 {
			t.Fatalf("sql exit %d: %s", code, stderr)
		}
		return strings.TrimSpace(out)
	}
	load("pos_sales_1.csv", line("S1", "5")+line("S2", "1"))
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "mine", "rfm", "--as-of", "2024-12-31"); code != 0 {
		t.Fatalf("mine rfm exit %d: %s", code, stderr)
	}
	if got := status(); got != "stale,restated\nfalse,false" {
		t.Fatalf("after mining: %q", got)
	}
	load("pos_sales_2.csv", line("S3", "1")) // new data, nothing restated
	if got := status(); got != "stale,restated\ntrue,false" {
		t.Errorf("after a new load: %q", got)
	}
	load("pos_sales_1_fix.csv", line("S1", "6")+line("S2", "1")) // S1 corrected
	if got := status(); got != "stale,restated\ntrue,true" {
		t.Errorf("after a restatement: %q", got)
	}
}
