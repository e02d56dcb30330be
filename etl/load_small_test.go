package etl

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ckm-dev/ckm/engine"
)

// writeFile writes content to dir/name, GBK-encoded when gbk is set.
func writeFile(t *testing.T, dir, name, content string, gbk bool) string {
	t.Helper()
	data := []byte(content)
	if gbk {
		var err error
		data, err = simplifiedchinese.GBK.NewEncoder().Bytes(data)
		if err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openMem(t *testing.T) *engine.Warehouse {
	t.Helper()
	w, err := engine.Open(context.Background(), "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func asOf2024() time.Time { return time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC) }

func TestLoadSmallSet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "products.csv", "商品编码,商品名称,品类,品牌,成本,标价\n"+
		"P001,电饭锅A,家电>厨房电器>电饭锅,美的,200.00,399.00\n"+
		"P002,连衣裙B,服饰>女装>连衣裙,ONLY,150,499\n", false)
	writeFile(t, dir, "pos_sales_202401.csv", "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n"+
		"S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,M00000001,,P001,1,￥399.00,0,￥399.00\n"+
		"S1,2,ST01,北京朝阳店,张三,2024/1/5 14:22,M00000001,,P002,2,\"￥1,000.50\",1.00,\"￥2,000.00\"\n"+
		"S1,2,ST01,北京朝阳店,张三,2024/1/5 14:22,M00000001,,P002,2,\"￥1,000.50\",1.00,\"￥2,000.00\"\n"+
		"S2,1,ST01,北京朝阳店,张三,2023-02-30 10:00,,,P001,1,399,0,399\n"+
		"S3,1,ST02,上海店,李四,2024/1/6 10:00,,+86 138-0013-8000,P999,1,10,0,10\n"+
		"S4,1,ST02,上海店,李四,2024/1/7 10:00,,,P001,-1,399,0,-399\n"+
		"S5,1,ST02,上海店,李四,2024/1/7 10:00,,,P001\n", true)
	writeFile(t, dir, "web_orders.ndjson",
		`{"order_id":"W1","created_at":"2024-01-08T10:00:00+08:00","customer":{"mobile":"13800138000","email":"a@b.cn"},"shipping":{"province":"广东省","city":"深圳市"},"lines":[{"sku":"P001","qty":1,"price":"399.00","discount":"0"},{"sku":"P002","qty":1,"price":"499.00","discount":"0"}]}`+"\n"+
			`not json`+"\n"+
			`{"order_id":"W2","created_at":"2030-01-08T10:00:00+08:00","customer":{"email":"c@d.cn"},"lines":[{"sku":"P001","qty":1,"price":"399.00"}]}`+"\n", false)
	rep, err := Load(ctx, openMem(t), []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		t.Logf("%s: read %d loaded %d rejected %d dup %d warned %d", filepath.Base(f.Path), f.Read, f.Loaded, f.Rejected, f.Duplicates, f.Warned)
	}
}

func dumpQuery(t *testing.T, w *engine.Warehouse, q string) {
	t.Helper()
	rows, err := w.DB.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	t.Log(cols)
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		t.Log(vals...)
	}
}
