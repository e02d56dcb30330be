package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRejectsShowsMaskedRawRecords: `ckm rejects` shows the raw record of
// every entry, personal data masked for analysts and raw for a granted
// admin revealing with a reason,
// and where a duplicate points.
func TestRejectsShowsMaskedRawRecords(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	exports := filepath.Join(dir, "in")
	os.MkdirAll(exports, 0o755)
	header := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"
	os.WriteFile(filepath.Join(exports, "pos_sales_1.csv"), []byte(header+
		"S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001,abc,10.00,0,\n"+ // line 2: quantity_invalid
		"S2,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001,1,10.00,0,\n"+ // 3
		"S2,1,ST01,北京朝阳店,张三,2024/1/5 14:22,,13912345678,P001,1,10.00,0,\n"), 0o644) // 4: duplicate of 3
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", exports, "--as-of", "2024-12-31"); code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	type entry struct {
		Line      int64  `json:"line"`
		Rule      string `json:"rule"`
		Severity  string `json:"severity"`
		RawRecord string `json:"raw_record"`
		RefersTo  string `json:"refers_to"`
	}
	read := func(args ...string) map[string]entry {
		out, stderr, code := runCkm(t, "", append([]string{"--warehouse", wh, "rejects", "--format", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("rejects exit %d: %s", code, stderr)
		}
		var es []entry
		if err := json.Unmarshal([]byte(out), &es); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		m := map[string]entry{}
		for _, e := range es {
			m[e.Rule] = e
		}
		return m
	}
	masked := read()
	bad, dup := masked["quantity_invalid"], masked["duplicate"]
	if bad.Line != 2 || !strings.Contains(bad.RawRecord, `"quantity":"abc"`) {
		t.Errorf("quantity_invalid entry %+v lacks its raw record", bad)
	}
	if strings.Contains(bad.RawRecord, "13912345678") || !strings.Contains(bad.RawRecord, "5678") {
		t.Errorf("analyst sees the mobile unmasked or not at all: %s", bad.RawRecord)
	}
	if dup.Line != 4 || dup.Severity != "info" || !strings.HasSuffix(dup.RefersTo, "pos_sales_1.csv:3") {
		t.Errorf("duplicate entry %+v, want line 4 info referring to line 3", dup)
	}
	if admin := read(append(asAdmin(t), "--reveal", "ledger review")...); !strings.Contains(admin["quantity_invalid"].RawRecord, "13912345678") {
		t.Errorf("admin does not see the raw record: %s", admin["quantity_invalid"].RawRecord)
	}
}
