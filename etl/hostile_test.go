package etl

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ckm-dev/ckm/engine"
)

// updateBad rewrites etl/testdata/bad from the contents declared in
// hostileCases: go test ./etl -run TestHostile -update-bad
var updateBad = flag.Bool("update-bad", false, "rewrite etl/testdata/bad from hostileCases")

const badDir = "testdata/bad"

// hostileCase is one hostile input file and what loading it must do: fail
// with an error naming the file and the problem, or load with exactly these
// counts and ledger entries.
type hostileCase struct {
	file    string        // its name (a built-in mapping matches it)
	content func() []byte // its bytes; committed under testdata/bad unless big
	big     bool          // too big to commit: generated into a temp dir by the test
	skip    string        // a known bug outside detect.go and the extract_*.go readers, named

	errHas []string // the load fails: the message names the file and holds these

	read, loaded, rejected, dups int64
	// ledger lists every etl_reject row of the file as "line rule severity", in
	// line then rule order.
	ledger []string
	check  func(t *testing.T, w *engine.Warehouse)
}

// POS rows. Fields: 0 单号, 1 行号, 2 门店编号, 3 门店名称, 4 收银员, 5 销售时间,
// 6 会员卡号, 7 手机号, 8 商品编码, 9 数量, 10 单价, 11 折扣, 12 金额.
const posHeader = "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额"

// posFields is a good walk-in sale of one P001 (a product of the baseline).
func posFields(id string) []string {
	return strings.Split(id+",1,ST01,朝阳店,张三,2024/3/5 14:22,,,P001,1,399.00,0,399.00", ",")
}

// pos is a good POS row with some fields replaced: pos("H1", 5, "2023-02-30").
func pos(id string, set ...any) string {
	return posWith(",", id, set...)
}

func posWith(delim, id string, set ...any) string {
	f := posFields(id)
	for i := 0; i+1 < len(set); i += 2 {
		f[set[i].(int)] = set[i+1].(string)
	}
	return strings.Join(f, delim)
}

// lines joins lines with "\n" and ends the last one.
func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

func text(s string) func() []byte { return func() []byte { return []byte(s) } }

func encode(e encoding.Encoding, b []byte) []byte {
	out, err := e.NewEncoder().Bytes(b)
	if err != nil {
		panic(err)
	}
	return out
}

func utf16Bytes(s string, order binary.AppendByteOrder, bom bool) []byte {
	var out []byte
	put := func(u uint16) { out = order.AppendUint16(out, u) }
	if bom {
		put(0xFEFF)
	}
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			put(uint16(0xD800 + (r >> 10)))
			put(uint16(0xDC00 + (r & 0x3FF)))
			continue
		}
		put(uint16(r))
	}
	return out
}

// webOrder is one NDJSON order of P001 lines.
func webOrder(id, ts string, qtys ...int) string {
	var ls []string
	for _, q := range qtys {
		ls = append(ls, fmt.Sprintf(`{"sku":"P001","qty":%d,"price":"399.00","discount":"0"}`, q))
	}
	return fmt.Sprintf(`{"order_id":%q,"created_at":%q,"customer":{"mobile":"13900139000"},"lines":[%s]}`, id, ts, strings.Join(ls, ","))
}

// minimalPNG is a 1×1 PNG image.
func minimalPNG() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	chunk("IHDR", []byte{0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0})
	chunk("IDAT", []byte{0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00})
	chunk("IEND", nil)
	return b.Bytes()
}

func junk(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	for i := 0; i < n; i += 97 {
		b[i] = 0
	}
	return b
}

var crmHeader = []any{"会员卡号", "姓名", "身份证号", "手机", "邮箱", "性别", "生日", "省份", "城市", "注册日期", "会员等级", "经销商"}

// xlsxBytes builds a workbook with the given sheets (name, rows) in order.
func xlsxBytes(sheets ...any) []byte {
	f := excelize.NewFile()
	defer f.Close()
	for i := 0; i+1 < len(sheets); i += 2 {
		name := sheets[i].(string)
		if i == 0 {
			f.SetSheetName("Sheet1", name)
		} else if _, err := f.NewSheet(name); err != nil {
			panic(err)
		}
		for r, row := range sheets[i+1].([][]any) {
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				panic(err)
			}
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}

const sqlInjection = `'); DROP TABLE dim_customer;--`

// sqlValue runs a one-value query and returns it as text ("<nil>" for NULL).
func sqlValue(t *testing.T, w *engine.Warehouse, q string, args ...any) string {
	t.Helper()
	var v any
	if err := w.DB.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return fmt.Sprint(v)
}

// expectCount runs a one-number query and compares the number, so that
// a count is never compared as text ("10" < "2").
func expectCount(t *testing.T, w *engine.Warehouse, want int64, q string, args ...any) {
	t.Helper()
	if got := queryInt(t, w, q, args...); got != want {
		t.Errorf("%s = %d, want %d", q, got, want)
	}
}

func expectValue(t *testing.T, w *engine.Warehouse, want, q string, args ...any) {
	t.Helper()
	if got := sqlValue(t, w, q, args...); got != want {
		t.Errorf("%s = %q, want %q", q, got, want)
	}
}

// customerByCard selects the current version of the customer holding a
// member card (the one parameter) as "name|id_number|sex|mobile|email|
// region_code|member_level|registered_date", "∅" for NULL: the values an
// XLSX row loaded.
const customerByCard = `SELECT concat_ws('|', coalesce(d.name, '∅'), coalesce(d.id_number, '∅'), coalesce(d.sex, '∅'),
	coalesce(d.mobile, '∅'), coalesce(d.email, '∅'), coalesce(d.region_code, '∅'), coalesce(d.member_level, '∅'),
	coalesce(CAST(d.registered_date AS VARCHAR), '∅'))
	FROM dim_customer d JOIN etl_identity i ON i.customer_id = d.customer_id AND i.key_type = 'member_card'
	WHERE i.key_value = ? AND d.is_current`

// baselineCustomers is what the baseline load (smallSet) put in dim_customer:
// card M00000001, and mobile 13800138000 (POS and web).
const baselineCustomers = 2

var hostileCases = []hostileCase{
	// An export of nothing is no error: 0 lines read, in the manifest.
	{file: "pos_sales_bad_empty.csv", content: text(""), read: 0, check: manifestFormat("csv")},
	{file: "pos_sales_bad_header_only.csv", content: text(posHeader + "\n"),
		read: 0, loaded: 0},
	{file: "pos_sales_bad_bom_only.csv", content: text("\xef\xbb\xbf"), read: 0},
	{file: "pos_sales_bad_binary.csv", content: func() []byte { return junk(4096, 7) },
		errHas: []string{"binary data"}},
	{file: "pos_sales_bad_png.csv", content: minimalPNG,
		errHas: []string{"PNG image", "not CSV"}},
	{file: "pos_sales_bad_nul.csv", content: func() []byte {
		return lines(posHeader, pos("H1"), pos("H2", 3, "朝阳\x00店"), pos("H3"))
	}, read: 3, loaded: 2, rejected: 1, ledger: []string{"3 malformed_row error"}},
	{file: "pos_sales_bad_truncated.csv", content: func() []byte {
		return []byte(posHeader + "\n" + pos("H1") + "\n" + pos("H2") + "\nH3,1,ST01,朝阳")
	}, read: 3, loaded: 2, rejected: 1, ledger: []string{"4 malformed_row error"}},
	{file: "pos_sales_bad_open_quote.csv", content: func() []byte {
		return lines(posHeader, pos("H1"), pos("H2", 3, `"朝阳店`), pos("H3"),
			pos("H4", 2, "SO1", 3, `"朝阳店, 一层"`), pos("H5"))
	}, read: 5, loaded: 4, rejected: 1, ledger: []string{"3 malformed_row error"},
		check: func(t *testing.T, w *engine.Warehouse) {
			expectValue(t, w, "朝阳店, 一层", `SELECT store_name FROM dim_store WHERE store_key = (SELECT store_key FROM fact_sales WHERE order_id = 'H4')`)
		}},
	{file: "pos_sales_bad_semicolon.csv", content: func() []byte {
		return lines(strings.ReplaceAll(posHeader, ",", ";"), posWith(";", "H1"),
			posWith(";", "H2", 3, "朝阳店,一层", 10, "1,299.00", 12, "1,299.00"), posWith(";", "H3"))
	}, read: 3, loaded: 3, check: func(t *testing.T, w *engine.Warehouse) {
		expectCount(t, w, 2097, `SELECT CAST(sum(amount) AS INTEGER) FROM fact_sales WHERE order_id LIKE 'H%'`)
	}},
	{file: "pos_sales_bad_tab.csv", content: func() []byte {
		return lines(strings.ReplaceAll(posHeader, ",", "\t"), posWith("\t", "H1"), posWith("\t", "H2", 3, "朝阳店, 一层"))
	}, read: 2, loaded: 2},
	{file: "pos_sales_bad_gbk.csv", content: func() []byte {
		return encode(simplifiedchinese.GBK, lines(posHeader, pos("H1", 2, "SG1", 3, "北京朝阳大悦城店", 4, "欧阳娜娜"), pos("H2", 5, "2023-02-30 10:00")))
	}, read: 2, loaded: 1, rejected: 1, ledger: []string{"3 date_invalid error"},
		check: func(t *testing.T, w *engine.Warehouse) {
			expectValue(t, w, "北京朝阳大悦城店", `SELECT store_name FROM dim_store WHERE store_key = (SELECT store_key FROM fact_sales WHERE order_id = 'H1')`)
			expectValue(t, w, "gb18030", `SELECT encoding FROM etl_file WHERE path LIKE '%pos_sales_bad_gbk.csv'`)
		}},
	{file: "pos_sales_bad_gb18030_4byte.csv", content: func() []byte {
		return encode(simplifiedchinese.GB18030, lines(posHeader, pos("H1", 2, "SG2", 3, "𠮷野家㐀店", 4, "𠀀€")))
	}, read: 1, loaded: 1, check: func(t *testing.T, w *engine.Warehouse) {
		expectValue(t, w, "𠮷野家㐀店", `SELECT store_name FROM dim_store WHERE store_key = (SELECT store_key FROM fact_sales WHERE order_id = 'H1')`)
	}},
	{file: "pos_sales_bad_utf16le.csv", content: func() []byte {
		return utf16Bytes(string(lines(posHeader, pos("H1", 2, "SU1", 3, "一号店"), pos("H2"))), binary.LittleEndian, true)
	}, read: 2, loaded: 2, check: func(t *testing.T, w *engine.Warehouse) {
		expectValue(t, w, "一号店", `SELECT store_name FROM dim_store WHERE store_key = (SELECT store_key FROM fact_sales WHERE order_id = 'H1')`)
	}},
	{file: "pos_sales_bad_utf16be.csv", content: func() []byte {
		return utf16Bytes(string(lines(posHeader, pos("H1", 2, "SU1", 3, "一号店"), pos("H2"))), binary.BigEndian, true)
	}, read: 2, loaded: 2, check: func(t *testing.T, w *engine.Warehouse) {
		expectValue(t, w, "一号店", `SELECT store_name FROM dim_store WHERE store_key = (SELECT store_key FROM fact_sales WHERE order_id = 'H1')`)
	}},
	{file: "pos_sales_bad_utf16le_nobom.csv", content: func() []byte {
		return utf16Bytes(string(lines(posHeader, pos("H1", 2, "SU1", 3, "一号店"), pos("H2"))), binary.LittleEndian, false)
	}, read: 2, loaded: 2, check: func(t *testing.T, w *engine.Warehouse) {
		expectValue(t, w, "一号店", `SELECT store_name FROM dim_store WHERE store_key = (SELECT store_key FROM fact_sales WHERE order_id = 'H1')`)
	}},
	{file: "pos_sales_bad_utf16be_nobom.csv", content: func() []byte {
		return utf16Bytes(string(lines(posHeader, pos("H1", 2, "SU1", 3, "一号店"), pos("H2"))), binary.BigEndian, false)
	}, read: 2, loaded: 2},
	{file: "pos_sales_bad_utf8bom.csv", content: func() []byte {
		return append([]byte("\xef\xbb\xbf"), lines(posHeader, pos("H1"), pos("H2"))...)
	}, read: 2, loaded: 2},
	{file: "pos_sales_bad_dup_header.csv", content: func() []byte {
		return lines(posHeader+",手机号", pos("H1")+",13800138000")
	}, errHas: []string{`duplicate column for "mobile"`, `"手机号" (column 8)`, `"手机号" (column 14)`}},
	{file: "pos_sales_bad_missing_col.csv", content: func() []byte {
		return lines(strings.Replace(posHeader, "销售时间", "备注", 1), pos("H1"))
	}, errHas: []string{`required column "ts" is missing`, `"销售时间"`, `"交易时间"`}},
	{file: "pos_sales_bad_crlf.csv", content: func() []byte {
		return []byte(strings.Join([]string{posHeader, pos("H1"), pos("H2", 12, "abc"), pos("H3", 12, "1,299.00"), ""}, "\r\n"))
	}, read: 3, loaded: 1, rejected: 2, ledger: []string{"3 amount_invalid error", "4 malformed_row error"},
		check: func(t *testing.T, w *engine.Warehouse) {
			expectValue(t, w, "399.00", `SELECT CAST(amount AS VARCHAR) FROM fact_sales WHERE order_id = 'H1'`)
		}},
	{file: "pos_sales_bad_mixed_eol.csv", content: func() []byte {
		return []byte(posHeader + "\r\n" + pos("H1") + "\n" + pos("H2") + "\r\n" + pos("H3", 5, "2099-01-01") + "\n" + pos("H4") + "\r\n")
	}, read: 4, loaded: 3, rejected: 1, ledger: []string{"4 date_future error"},
		check: func(t *testing.T, w *engine.Warehouse) {
			expectValue(t, w, "1197.00", `SELECT CAST(sum(amount) AS VARCHAR) FROM fact_sales WHERE order_id LIKE 'H%'`)
		}},
	{file: "pos_sales_bad_cr_only.csv", content: func() []byte {
		return []byte(strings.Join([]string{posHeader, pos("H1"), pos("H2", 5, "2023-02-30"), pos("H3"), ""}, "\r"))
	}, read: 3, loaded: 2, rejected: 1, ledger: []string{"3 date_invalid error"}},
	{file: "pos_sales_bad_blank_lines.csv", content: func() []byte {
		return lines(posHeader, pos("H1"), "", "   ", ",,,,,,,,,,,,", pos("H1"), "", pos("H2", 5, "2023-02-30 10:00"), pos("H3"))
	}, read: 4, loaded: 2, rejected: 1, dups: 1, ledger: []string{"6 duplicate info", "8 date_invalid error"}},
	{file: "pos_sales_bad_trailing_delim.csv", content: func() []byte {
		return lines(posHeader, pos("H1")+",", pos("H2")+",", pos("H3")+",,")
	}, read: 3, loaded: 3},
	{file: "pos_sales_bad_extra_cols.csv", content: func() []byte {
		return lines(posHeader+",备注", pos("H1")+",好", pos("H2")+",好,多余", pos("H3"), pos("H4")+",")
	}, read: 4, loaded: 2, rejected: 2, ledger: []string{"3 malformed_row error", "4 malformed_row error"}},
	{file: "pos_sales_bad_feb30.csv", content: func() []byte {
		return lines(posHeader, pos("H1", 5, "2024/2/29 10:00"), pos("H2", 5, "2023-02-30 10:00"), pos("H3", 5, "2023/13/01 10:00"), pos("H4", 5, ""))
	}, read: 4, loaded: 1, rejected: 3, ledger: []string{"3 date_invalid error", "4 date_invalid error", "5 date_missing error"}},
	{file: "pos_sales_bad_future.csv", content: func() []byte {
		return lines(posHeader, pos("H1", 5, "2099-01-01 00:00"), pos("H2", 5, "2025/1/1 0:00"), pos("H3", 5, "2024/12/31 23:59"))
	}, read: 3, loaded: 1, rejected: 2, ledger: []string{"2 date_future error", "3 date_future error"}},
	{file: "pos_sales_bad_negative_price.csv", content: func() []byte {
		return lines(posHeader, pos("H1", 10, "-399.00", 12, "-399.00"), pos("H2", 9, "-1", 12, "-399.00"))
	}, read: 2, loaded: 1, rejected: 1, ledger: []string{"2 price_negative error"},
		check: func(t *testing.T, w *engine.Warehouse) {
			expectValue(t, w, "true -399.00", `SELECT is_return || ' ' || amount FROM fact_sales WHERE order_id = 'H2'`)
		}},
	{file: "pos_sales_bad_qty_zero.csv", content: func() []byte {
		return lines(posHeader, pos("H1", 9, "0", 12, "0"), pos("H2", 9, "1.5"), pos("H3", 9, "abc"), pos("H4", 9, "2", 12, "798"))
	}, read: 4, loaded: 1, rejected: 3, ledger: []string{"2 quantity_zero error", "3 quantity_invalid error", "4 quantity_invalid error"}},
	{file: "pos_sales_bad_amount_abc.csv", content: func() []byte {
		return lines(posHeader, pos("H1", 12, "abc"), pos("H2", 10, "abc"), pos("H3", 10, `"¥1,299.00"`, 12, `"¥1,299.00"`), pos("H4", 11, "1O"))
	}, read: 4, loaded: 1, rejected: 3, ledger: []string{"2 amount_invalid error", "3 amount_invalid error", "5 amount_invalid error"}},
	{file: "pos_sales_bad_qty_overflow.csv", content: func() []byte {
		return lines(posHeader, pos("H1", 9, "99999999999", 12, "39899999999601"), pos("H2"))
	}, read: 2, loaded: 1, rejected: 1, ledger: []string{"2 quantity_invalid error"}},
	{file: "pos_sales_bad_extremes.csv", content: func() []byte {
		return lines(posHeader,
			pos("H1", 10, "99999999999999999999.99", 12, "1"), // price beyond DECIMAL(18,2)
			pos("H2", 12, "1e308"), pos("H3", 10, "NaN"), pos("H4", 10, "Infinity"),
			pos("H5", 9, "-0", 12, "0"),
			pos("H6", 5, "0000-01-01 00:00"), pos("H7", 5, "2024-03-05 25:61"), pos("H8", 5, "9999-12-31 23:59:59"),
			pos("H9"))
	}, read: 9, loaded: 1, rejected: 8, ledger: []string{"2 amount_invalid error", "3 amount_invalid error", "4 amount_invalid error",
		"5 amount_invalid error", "6 quantity_zero error", "7 date_invalid error", "8 date_invalid error", "9 date_future error"}},
	{file: "pos_sales_bad_line_no.csv", content: func() []byte {
		return lines(posHeader, pos("H1", 1, "99999999998"), pos("H1", 1, "99999999999"), pos("H2", 1, "abc"), pos("H2", 1, "1"))
	}, read: 4, loaded: 1, rejected: 3, ledger: []string{"2 line_no_invalid error", "3 line_no_invalid error", "4 line_no_invalid error"}},
	{file: "pos_sales_bad_mixed_encoding.csv", content: func() []byte {
		// A UTF-8 file with one row pasted in from a GBK export.
		b := lines(posHeader, pos("H1", 2, "SM1", 3, "朝阳店"))
		b = append(b, encode(simplifiedchinese.GBK, lines(pos("H2", 2, "SM2", 3, "海淀店")))...)
		return append(b, lines(pos("H3", 2, "SM3", 3, "西单店"))...)
	}, read: 3, loaded: 2, rejected: 1, ledger: []string{"3 encoding_invalid error"},
		check: func(t *testing.T, w *engine.Warehouse) {
			expectValue(t, w, "朝阳店 西单店", `SELECT string_agg(store_name, ' ' ORDER BY store_code) FROM dim_store WHERE store_code IN ('SM1', 'SM3')`)
		}},
	{file: "pos_sales_bad_half_gbk.csv", content: func() []byte {
		// Half UTF-8, half GBK: no encoding fits; the error says where.
		gbk := func(l string) []byte { return encode(simplifiedchinese.GBK, []byte(l+"\n")) }
		b := lines(posHeader)
		b = append(b, gbk(pos("H1", 3, "海淀店"))...)
		b = append(b, lines(pos("H2", 3, "西单店"))...)
		return append(b, gbk(pos("H3", 3, "王府井店"))...)
	}, errHas: []string{"unknown text encoding", "line 2 is not"}},
	{file: "pos_sales_bad_sqlinj.csv", content: func() []byte {
		return lines(posHeader, pos(`H1'); DROP TABLE fact_sales;--`, 2, "SQ1", 3, `"`+sqlInjection+`"`, 4, `Robert"; DROP TABLE etl_run; --`, 6, `'; DELETE FROM dim_customer WHERE ''='`))
	}, read: 1, loaded: 1, check: func(t *testing.T, w *engine.Warehouse) {
		expectValue(t, w, sqlInjection, `SELECT store_name FROM dim_store WHERE store_key = (SELECT store_key FROM fact_sales WHERE order_id LIKE 'H1%')`)
		expectValue(t, w, `H1'); DROP TABLE fact_sales;--`, `SELECT order_id FROM fact_sales WHERE order_id LIKE 'H1%'`)
		expectValue(t, w, `Robert"; DROP TABLE etl_run; --`, `SELECT name FROM dim_salesperson WHERE salesperson_key = (SELECT salesperson_key FROM fact_sales WHERE order_id LIKE 'H1%')`)
		// The "card" is a plain string, and so a new customer.
		expectCount(t, w, 3, `SELECT count(*) FROM dim_customer WHERE customer_id > 0`)
		expectCount(t, w, 1, `SELECT count(*) FROM etl_identity WHERE key_type = 'member_card' AND key_value = ?`, `'; DELETE FROM dim_customer WHERE ''='`)
	}},
	{file: "products_bad_sqlinj.csv", content: func() []byte {
		return lines("商品编码,商品名称,品类,品牌,成本,标价", "P100,"+sqlInjection+",家电>厨房电器>电饭锅,美的,1,2",
			"P101,\"\"\"; DROP TABLE dim_product; --\",'>'>',\\N,0,0", "P102,NULL,NULL,NULL,,")
	}, read: 3, loaded: 3, check: func(t *testing.T, w *engine.Warehouse) {
		expectValue(t, w, sqlInjection, `SELECT product_name FROM dim_product WHERE product_code = 'P100'`)
		expectValue(t, w, `"; DROP TABLE dim_product; --`, `SELECT product_name FROM dim_product WHERE product_code = 'P101'`)
		expectValue(t, w, `\N`, `SELECT brand FROM dim_product WHERE product_code = 'P101'`)
		expectValue(t, w, `NULL`, `SELECT product_name FROM dim_product WHERE product_code = 'P102'`)
		// P001, P002 and the inferred P999 of the baseline, and these three.
		expectCount(t, w, 6, `SELECT count(*) FROM dim_product WHERE product_key > 0`)
	}},
	{file: "crm_customers_bad_sqlinj.xlsx", content: func() []byte {
		return xlsxBytes("客户", [][]any{crmHeader,
			{"M10000001", sqlInjection, "11010519491231002X", "13700137000", "x@example.cn", "女", "", "北京", "北京市", "2020-01-05", "普通", "否"},
			{"M10000002'; DROP TABLE etl_identity;--", "Bobby Tables", "", "13600136000", "", "男", "", "", "", "", "", ""},
		})
	}, read: 2, loaded: 2, check: func(t *testing.T, w *engine.Warehouse) {
		expectCount(t, w, 1, `SELECT count(*) FROM dim_customer WHERE name = ?`, sqlInjection)
		expectCount(t, w, 4, `SELECT count(*) FROM dim_customer WHERE customer_id > 0`)
		expectCount(t, w, 1, `SELECT count(*) FROM etl_identity WHERE key_value = 'M10000002''; DROP TABLE etl_identity;--'`)
		expectValue(t, w, sqlInjection+"|11010519491231002X|F|+8613700137000|x@example.cn|110100|普通|2020-01-05", customerByCard, "M10000001")
		expectValue(t, w, "Bobby Tables|∅|M|+8613600136000|∅|∅|∅|∅", customerByCard, "M10000002'; DROP TABLE etl_identity;--")
	}},
	{file: "pos_sales_bad_control.csv", content: func() []byte {
		// Control characters and SQL in every field. Text fields keep their
		// text with the controls dropped; numbers and dates must be clean.
		return lines(posHeader,
			"H\x011,1,SC\x0701,朝阳\x1b[31m店,张\x7f三,2024/3/5 14:22,M0000\x020001,,P00\x1f1,1,399.00,0,399.00",
			`H2,1,SC01,"店""; DROP TABLE dim_store;--",%s%d%n,2024-03-05'; DROP TABLE x;--,' OR 1=1 --,1 OR 1=1,P001,1; DELETE FROM fact_sales,0 OR 1=1,0,399`,
			"H3,1,SC2,朝阳店\r,张三,2024/3/5 14:22,,,P001,1,399.00,0,399.00",
			"H4,1,SC01,朝阳店,张三,2024/3/5 14:22\x05,,,P001,1,399.00\x04,0\x06,399.00\x0e")
	}, read: 4, loaded: 2, rejected: 2,
		ledger: []string{"3 amount_invalid error", "3 date_invalid error", "3 mobile_invalid warn", "3 quantity_invalid error",
			"5 amount_invalid error", "5 amount_invalid error", "5 amount_invalid error", "5 date_invalid error"},
		check: func(t *testing.T, w *engine.Warehouse) {
			expectValue(t, w, "H1 朝阳[31m店 张三 SC01 1", `SELECT f.order_id || ' ' || s.store_name || ' ' || p.name || ' ' || s.store_code || ' ' || f.quantity
				FROM fact_sales f JOIN dim_store s USING (store_key) JOIN dim_salesperson p USING (salesperson_key) WHERE f.source_line = 2`)
			// Card M00000001 (the STX dropped) is the baseline customer.
			expectValue(t, w, "M00000001", `SELECT DISTINCT i.key_value FROM fact_sales f JOIN etl_identity i ON i.customer_id = f.customer_id AND i.key_type = 'member_card' WHERE f.order_id = 'H1'`)
			expectValue(t, w, "false", `SELECT is_inferred FROM dim_product WHERE product_key = (SELECT product_key FROM fact_sales WHERE order_id = 'H1')`)
			expectValue(t, w, "朝阳店", `SELECT store_name FROM dim_store WHERE store_key = (SELECT store_key FROM fact_sales WHERE order_id = 'H3')`)
		}},
	{file: "pos_sales_bad_emoji.csv", content: func() []byte {
		return lines(posHeader,
			pos("H\u200b1", 2, "SE1", 3, "🛒朝阳店👍🏽", 4, "张\u200d三\ufeff", 6, "M\u200b00000001", 8, "P\u2060001"),
			pos("H2", 3, "👨‍👩‍👧‍👦", 7, "１３８\u200b００１３８０００"))
	}, read: 2, loaded: 2, check: func(t *testing.T, w *engine.Warehouse) {
		expectValue(t, w, "🛒朝阳店👍🏽 张三", `SELECT s.store_name || ' ' || p.name FROM fact_sales f JOIN dim_store s USING (store_key)
			JOIN dim_salesperson p USING (salesperson_key) WHERE f.order_id = 'H1'`)
		expectValue(t, w, "false", `SELECT is_inferred FROM dim_product WHERE product_key = (SELECT product_key FROM fact_sales WHERE order_id = 'H1')`)
		expectCount(t, w, 2, `SELECT count(DISTINCT customer_id) FROM fact_sales WHERE order_id IN ('H1', 'H2') AND customer_id > 0`)
		expectValue(t, w, "+8613800138000", `SELECT d.mobile FROM fact_sales f JOIN dim_customer d ON d.customer_id = f.customer_id AND d.is_current WHERE f.order_id = 'H2'`)
	}},
	{file: "web_orders_bad_array.ndjson", content: func() []byte {
		return []byte("[\n  " + webOrder("WA1", "2024-03-05T10:00:00+08:00", 1, 2) + ",\n  " +
			webOrder("WA2", "2024-03-06T10:00:00+08:00", 1) + ",\n  " + webOrder("WA3", "2099-03-06T10:00:00+08:00", 1) + "\n]\n")
	}, read: 3, loaded: 2, rejected: 1, ledger: []string{"3 date_future error"},
		check: func(t *testing.T, w *engine.Warehouse) {
			expectCount(t, w, 3, `SELECT count(*) FROM fact_sales WHERE order_id IN ('WA1', 'WA2')`)
		}},
	{file: "web_orders_bad_nonobject.ndjson", content: func() []byte {
		return lines(webOrder("WN1", "2024-03-05T10:00:00+08:00", 1), `[1, 2]`, `"hello"`, `42`, `null`,
			`{"order_id":"WN9","created_at":`, webOrder("WN2", "2024-03-05T10:00:00+08:00", 1), `{"order_id": "WN3", "lines": [{"sku": "P001"}]}}`)
	}, read: 8, loaded: 2, rejected: 6, ledger: []string{"2 malformed_json error", "3 malformed_json error", "4 malformed_json error",
		"5 malformed_json error", "6 malformed_json error", "8 malformed_json error"}},
	{file: "web_orders_bad_no_lines.ndjson", content: func() []byte {
		return lines(`{"order_id":"WL1","created_at":"2024-03-05T10:00:00+08:00","customer":{"mobile":"13900139000"}}`,
			`{"order_id":"WL2","created_at":"2024-03-05T10:00:00+08:00","customer":{"mobile":"13900139000"},"lines":[]}`,
			`{"order_id":"WL3","created_at":"2024-03-05T10:00:00+08:00","customer":{"mobile":"13900139000"},"lines":"P001"}`,
			`{"order_id":"WL4","created_at":"2024-03-05T10:00:00+08:00","customer":{"mobile":"13900139000"},"lines":[{}]}`,
			webOrder("WL5", "2024-03-05T10:00:00+08:00", 1))
	}, read: 5, loaded: 1, rejected: 4, ledger: []string{"1 items_missing error", "2 items_missing error", "3 items_missing error",
		"4 amount_invalid error", "4 product_unknown warn", "4 quantity_invalid error"}},
	{file: "web_orders_bad_first_line_array.ndjson", content: func() []byte {
		return lines(`[{"order_id":"WF0"}]`, webOrder("WF1", "2024-03-05T10:00:00+08:00", 1), webOrder("WF2", "2024-03-05T10:00:00+08:00", 3))
	}, read: 3, loaded: 2, rejected: 1, ledger: []string{"1 malformed_json error"}},
	{file: "web_orders_bad_array_then_more.ndjson", content: func() []byte {
		return lines("["+webOrder("WM1", "2024-03-05T10:00:00+08:00", 1)+",", webOrder("WM2", "2024-03-05T10:00:00+08:00", 1)+"]",
			webOrder("WM3", "2024-03-05T10:00:00+08:00", 1))
	}, errHas: []string{"more data after the top-level array", "line 2"}},
	{file: "web_orders_bad_array_broken.ndjson", content: func() []byte {
		return lines("[", webOrder("WB1", "2024-03-05T10:00:00+08:00", 1)+",", `{"order_id": "WB2", "lines": [}`, "]")
	}, errHas: []string{"JSON array element 2 (line 3)"}},
	{file: "web_orders_bad_deep.ndjson", content: func() []byte {
		deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
		return lines(strings.Replace(webOrder("WD1", "2024-03-05T10:00:00+08:00", 1), `{"order_id"`, `{"junk":`+deep(5000)+`,"order_id"`, 1),
			strings.Replace(webOrder("WD2", "2024-03-05T10:00:00+08:00", 1), `{"order_id"`, `{"junk":`+deep(50000)+`,"order_id"`, 1),
			webOrder("WD3", "2024-03-05T10:00:00+08:00", 1))
	}, read: 3, loaded: 2, rejected: 1, ledger: []string{"2 malformed_json error"}},
	{file: "web_orders_bad_mixed_encoding.ndjson", content: func() []byte {
		b := lines(strings.Replace(webOrder("WE1", "2024-03-05T10:00:00+08:00", 1), `"customer"`, `"shipping":{"province":"广东省","city":"深圳市"},"customer"`, 1))
		b = append(b, encode(simplifiedchinese.GBK, lines(strings.Replace(webOrder("WE2", "2024-03-05T10:00:00+08:00", 1), `"customer"`, `"shipping":{"province":"广东省"},"customer"`, 1)))...)
		return append(b, lines(strings.Replace(webOrder("WE3", "2024-03-05T10:00:00+08:00", 1), `"customer"`, `"shipping":{"city":"深圳市"},"customer"`, 1))...)
	}, read: 3, loaded: 2, rejected: 1, ledger: []string{"2 encoding_invalid error"}},
	{file: "web_orders_bad_empty.ndjson", content: text(""), read: 0, check: manifestFormat("ndjson")},
	{file: "web_orders_bad_blank.ndjson", content: text("\n  \n\n"), read: 0},
	{file: "crm_customers_bad_empty.xlsx", content: text(""), read: 0, check: manifestFormat("xlsx")},
	{file: "crm_customers_bad_no_rows.xlsx", content: func() []byte { return xlsxBytes("客户", [][]any{}) }, read: 0},
	{file: "crm_customers_bad_header_only.xlsx", content: func() []byte { return xlsxBytes("客户", [][]any{crmHeader}) }, read: 0},
	{file: "products_bad_o'brien; DROP TABLE dim_product;--.csv", content: func() []byte {
		return lines("商品编码,商品名称,品类,品牌,成本,标价", "P100,锅,家电,美的,1,2")
	}, read: 1, loaded: 1, check: func(t *testing.T, w *engine.Warehouse) {
		expectCount(t, w, 1, `SELECT count(*) FROM etl_file WHERE path LIKE ?`, "%products_bad_o'brien; DROP TABLE dim_product;--.csv")
	}},
	{file: "crm_customers_bad_corrupt.xlsx", content: func() []byte {
		b := xlsxBytes("客户", [][]any{crmHeader, {"M10000001", "王芳", "11010519491231002X", "13700137000"}})
		return b[:len(b)/2]
	}, errHas: []string{"XLSX"}},
	{file: "crm_customers_bad_legacy_xls.xlsx", content: func() []byte {
		return append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), junk(504, 11)...)
	}, errHas: []string{"legacy Excel .xls", "not an XLSX workbook"}},
	{file: "crm_customers_bad_one_sheet.xlsx", content: func() []byte {
		// One sheet, not named 客户: it is the data.
		return xlsxBytes("Sheet1", [][]any{crmHeader,
			{"M10000001", "王芳", "11010519491231002X", "13700137000", "", "女", "", "北京", "北京市", "2020-01-05", "普通", "否"},
			{"M10000002", "李雷", "110105194912310021", "", "", "男", "", "", "", "", "", ""},
			{"", "赵六", "", "", "", "", "", "", "", "", "", ""}})
	}, read: 3, loaded: 1, rejected: 2, ledger: []string{"3 id_checksum error", "4 no_customer_key error"},
		check: func(t *testing.T, w *engine.Warehouse) {
			expectValue(t, w, "王芳|11010519491231002X|F|+8613700137000|∅|110100|普通|2020-01-05", customerByCard, "M10000001")
			expectCount(t, w, 0, `SELECT count(*) FROM dim_customer WHERE name IN ('李雷', '赵六')`)
		}},
	{file: "crm_customers_bad_wrong_sheet.xlsx", content: func() []byte {
		return xlsxBytes("Sheet1", [][]any{{"说明"}, {"见第二页"}}, "汇总", [][]any{crmHeader})
	}, errHas: []string{`sheet "客户" not found`, "Sheet1", "汇总"}},
	{file: "callcenter_contacts_bad_values.csv", content: func() []byte {
		return lines("\ufeff来电号码,来电时间,类别,满意度,坐席,时长秒",
			"13800138000,2024-03-05 10:00:00,咨询,5,A01,60",
			"13800138000,2024-03-05 11:00:00,投诉,0,A01,60",
			"13800138000,2024-03-05 12:00:00,投诉,6,A01,60",
			"13800138000,2024-03-05 13:00:00,投诉,很好,A01,60",
			"13800138000,2023-02-30 13:00:00,投诉,,A01,60",
			"13800138000,2099-01-01 13:00:00,投诉,,A01,60",
			"12345,2024-03-05 14:00:00,咨询,,A01,-5",
			"13800138000,2024-03-05 10:00:00,咨询,5,A01,60")
	}, read: 8, loaded: 2, rejected: 5, dups: 1, ledger: []string{"3 satisfaction_range error", "4 satisfaction_range error",
		"5 satisfaction_range error", "6 date_invalid error", "7 date_future error", "8 duration_invalid warn", "8 mobile_invalid warn", "9 duplicate info"}},

	// Generated by the test.
	{file: "pos_sales_bad_huge_field.csv", big: true, content: func() []byte {
		return lines(posHeader, pos("H1"), pos("H2", 3, strings.Repeat("店", 10<<20/3)), pos("H3"))
	}, read: 3, loaded: 2, rejected: 1, ledger: []string{"3 field_too_long error"}},
	{file: "pos_sales_bad_million_blank.csv", big: true, content: func() []byte {
		return append(append([]byte(posHeader+"\n"), bytes.Repeat([]byte("\n"), 1_000_000)...), lines(pos("H1"), pos("H2", 9, "0"))...)
	}, read: 2, loaded: 1, rejected: 1, ledger: []string{"1000003 quantity_zero error"}},
	{file: "pos_sales_bad_only_blank.csv", big: true, content: func() []byte {
		return bytes.Repeat([]byte("\r\n"), 1_000_000)
	}, read: 0},
	{file: "pos_sales_bad_late_nul.csv", big: true, content: func() []byte {
		// A NUL past the part detection reads: the record is rejected.
		var ls []string
		for i := range 1000 {
			ls = append(ls, pos(fmt.Sprintf("N%04d", i)))
		}
		ls = append(ls, pos("NX", 4, "张\x00三"), pos("NY"))
		return lines(append([]string{posHeader}, ls...)...)
	}, read: 1002, loaded: 1001, rejected: 1, ledger: []string{"1002 malformed_row error"}},
	{file: "pos_sales_bad_giant_line.csv", big: true, content: func() []byte {
		// One line longer than a record may be, no line break at the end.
		return append(lines(posHeader, pos("H1")), bytes.Repeat([]byte("x,"), 10<<20)...)
	}, read: 2, loaded: 1, rejected: 1, ledger: []string{"3 malformed_row error"}},
	{file: "web_orders_bad_huge_array.ndjson", big: true, content: func() []byte {
		var b bytes.Buffer
		b.WriteString("[")
		for i := range 20000 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(webOrder(fmt.Sprintf("WH%05d", i), "2024-03-05T10:00:00+08:00", 1))
		}
		b.WriteString("]")
		return b.Bytes()
	}, read: 20000, loaded: 20000},
}

// TestHostileFilesCommitted rewrites testdata/bad with -update-bad, and
// otherwise checks the committed files are what hostileCases declares.
// manifestFormat checks that the case's file is in the manifest with 0
// lines read and the given format.
func manifestFormat(format string) func(t *testing.T, w *engine.Warehouse) {
	return func(t *testing.T, w *engine.Warehouse) {
		expectValue(t, w, format+"|0", `SELECT format || '|' || rows_read FROM etl_file ORDER BY file_id DESC LIMIT 1`)
	}
}

func TestHostileFilesCommitted(t *testing.T) {
	n := 0
	for _, c := range hostileCases {
		if c.big {
			continue
		}
		n++
		p := filepath.Join(badDir, c.file)
		want := c.content()
		if *updateBad {
			if err := os.MkdirAll(badDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%v (run go test ./etl -run TestHostile -update-bad)", err)
			continue
		}
		// XLSX archives carry a timestamp: compare only the text files.
		if !strings.HasSuffix(c.file, ".xlsx") && !bytes.Equal(got, want) {
			t.Errorf("%s differs from its declaration in hostileCases (run with -update-bad)", p)
		}
	}
	if n < 30 {
		t.Errorf("%d committed hostile files, want at least 30", n)
	}
	entries, err := os.ReadDir(badDir)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, c := range hostileCases {
		declared[c.file] = !c.big
	}
	for _, e := range entries {
		if !declared[e.Name()] {
			t.Errorf("%s/%s is not a committed case of hostileCases", badDir, e.Name())
		}
	}
}

var baseline struct {
	once sync.Once
	path string
	err  error
}

// baselineWarehouse loads smallSet into a warehouse file once; each case
// works on a copy, so that dimension and facts are there to be damaged.
func baselineWarehouse(t *testing.T) string {
	baseline.once.Do(func() {
		dir, err := os.MkdirTemp("", "ckm-hostile-")
		if err != nil {
			baseline.err = err
			return
		}
		src := filepath.Join(dir, "src")
		os.Mkdir(src, 0o755)
		smallSet(t, src)
		baseline.path = filepath.Join(dir, "base.duckdb")
		w, err := engine.Open(context.Background(), baseline.path, engine.Options{})
		if err != nil {
			baseline.err = err
			return
		}
		defer w.Close()
		_, baseline.err = Load(context.Background(), w, []string{src}, Options{AsOf: asOf2024()})
	})
	if baseline.err != nil {
		t.Fatalf("baseline: %v", baseline.err)
	}
	return baseline.path
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// loadNoPanic runs Load and turns a panic into an error.
func loadNoPanic(ctx context.Context, w *engine.Warehouse, paths []string, opts Options) (rep *Report, panicked any, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	rep, err = Load(ctx, w, paths, opts)
	return rep, nil, err
}

// ledgerCounts runs a query of four counts (read, loaded, rejected,
// duplicates) and returns them as numbers.
func ledgerCounts(t *testing.T, w *engine.Warehouse, q string, args ...any) [4]int64 {
	t.Helper()
	var c [4]int64
	if err := w.DB.QueryRow(q, args...).Scan(&c[0], &c[1], &c[2], &c[3]); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return c
}

func ledgerOf(t *testing.T, w *engine.Warehouse, file string) []string {
	t.Helper()
	return queryLines(t, w, `SELECT line || ' ' || rule || ' ' || severity FROM etl_reject WHERE path LIKE ? ORDER BY line, rule`, "%"+file)
}

func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile inputs: not in -short")
	}
	base := baselineWarehouse(t)
	baseDir := filepath.Dir(base)
	t.Cleanup(func() { os.RemoveAll(baseDir) })
	for _, c := range hostileCases {
		t.Run(strings.TrimSuffix(c.file, filepath.Ext(c.file)), func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, c.file)
			if c.big {
				if err := os.WriteFile(path, c.content(), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				copyFile(t, filepath.Join(badDir, c.file), path)
			}
			wpath := filepath.Join(dir, "w.duckdb")
			copyFile(t, base, wpath)
			w, err := engine.Open(ctx, wpath, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			before := tableChecksums(t, w)
			rep, p, err := loadNoPanic(ctx, w, []string{path}, Options{AsOf: asOf2024()})
			if p != nil {
				t.Fatalf("Load panicked: %v", p)
			}
			if c.errHas != nil {
				if err == nil {
					t.Fatalf("load succeeded (%+v), want an error with %q", rep.Files, c.errHas)
				}
				msg := err.Error()
				for _, s := range append([]string{c.file}, c.errHas...) {
					if !strings.Contains(msg, s) {
						t.Errorf("error %q does not say %q", msg, s)
					}
				}
				after := tableChecksums(t, w)
				for n, v := range before {
					if after[n] != v {
						t.Errorf("failed load changed table %s: %s -> %s", n, v, after[n])
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if len(rep.Files) != 1 {
				t.Fatalf("report has %d files, want 1", len(rep.Files))
			}
			f := rep.Files[0]
			got := [4]int64{f.Read, f.Loaded, f.Rejected, f.Duplicates}
			if want := [4]int64{c.read, c.loaded, c.rejected, c.dups}; got != want {
				t.Errorf("read/loaded/rejected/duplicates = %v, want %v", got, want)
			}
			if f.Read != f.Loaded+f.Rejected+f.Duplicates {
				t.Errorf("read %d ≠ loaded %d + rejected %d + duplicates %d", f.Read, f.Loaded, f.Rejected, f.Duplicates)
			}
			expectValue(t, w, "committed", `SELECT status FROM etl_run WHERE run_id = ?`, rep.RunID)
			if run := ledgerCounts(t, w, `SELECT rows_read, rows_loaded, rows_rejected, rows_duplicate FROM etl_run WHERE run_id = ?`, rep.RunID); run != got {
				t.Errorf("etl_run read/loaded/rejected/duplicates = %v, report says %v", run, got)
			}
			if file := ledgerCounts(t, w, `SELECT rows_read, rows_loaded, rows_rejected, rows_duplicate FROM etl_file WHERE file_id = ?`, f.FileID); file != got {
				t.Errorf("etl_file read/loaded/rejected/duplicates = %v, report says %v", file, got)
			}
			expectCount(t, w, rep.RunID, `SELECT run_id FROM etl_file WHERE file_id = ?`, f.FileID)
			if got := ledgerOf(t, w, c.file); strings.Join(got, "; ") != strings.Join(c.ledger, "; ") {
				t.Errorf("ledger:\n got %q\nwant %q", got, c.ledger)
			}
			// Whatever the file held, the baseline is still there.
			expectCount(t, w, 1, `SELECT count(*) FROM etl_run WHERE run_id = 1 AND status = 'committed'`)
			expectCount(t, w, 2, `SELECT count(*) FROM dim_product WHERE product_code IN ('P001', 'P002') AND NOT is_inferred`)
			if n := queryInt(t, w, `SELECT count(*) FROM dim_customer WHERE customer_id > 0`); n < baselineCustomers {
				t.Errorf("dim_customer has %d customers, fewer than the baseline's %d", n, baselineCustomers)
			}
			expectCount(t, w, 0, `SELECT count(*) FROM (SELECT customer_id FROM dim_customer WHERE is_current GROUP BY 1 HAVING count(*) <> 1)`)
			if c.check != nil {
				c.check(t, w)
			}
		})
	}
}

// TestHostileCasesWellFormed checks the case table itself.
func TestHostileCasesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range hostileCases {
		if seen[c.file] {
			t.Errorf("case %s twice", c.file)
		}
		seen[c.file] = true
		if c.errHas == nil && c.read != c.loaded+c.rejected+c.dups {
			t.Errorf("%s: expected counts do not add up", c.file)
		}
		if m, ok := match(mustDefaultMappings(t), c.file); !ok {
			t.Errorf("%s: no built-in mapping matches it", c.file)
		} else if !strings.HasPrefix(c.file, m.Name) {
			t.Errorf("%s: matched by mapping %s", c.file, m.Name)
		}
	}
}

func mustDefaultMappings(t *testing.T) []Mapping {
	t.Helper()
	ms, err := DefaultMappings()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
