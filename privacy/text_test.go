package privacy

import (
	"reflect"
	"testing"
)

func TestMaskText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"11010519491231002X", "110105************"},
		{"11010519491231002x", "110105************"},
		{"110105491231002", "110105************"},
		{"110105 19491231 002X", "110105************"},
		{"１１０１０５１９４９１２３１００２Ｘ", "110105************"},
		{"+8613800138000", "+86 138****8000"},
		{"13800138000", "+86 138****8000"},
		{"+86 138-0013-8000", "+86 138****8000"},
		{"0086 19846135622", "+86 198****5622"},
		{"17951 13800138000", "+86 138****8000"},
		{"138 0013 8000", "+86 138****8000"},
		{"１３８００１３８０００", "+86 138****8000"},
		{"call 13800138000 20240105", "call +86 138****8000 20240105"},
		// JSON records (the reject ledger's raw_record): values under
		// personal-data keys are masked whatever their shape.
		{`{"name":"刘晓红","id_number":"44030419861116940","mobile" : "0086 1984613562","email":"bad@","city":"成都市"}`,
			`{"name":"刘**","id_number":"*****************","mobile" : "**********3562","email":"b***@","city":"成都市"}`},
		{`{"姓名":"张三","地址":"北京市东城区"}`, `{"姓名":"张**","地址":"***"}`},
		{"abc@b.cn", "a***@b.cn"},
		{"ａｂｃ＠ｂ．ｃｎ", "a***@b.cn"},
		{"张三,11010519491231002X,13800138000,zs@qq.com", "张三,110105************,+86 138****8000,z***@qq.com"},
		// Digits that are part of a longer number are not a mobile or an ID.
		{"order 202401050000000000012", "order 202401050000000000012"},
		{"tracking 9913800138000", "tracking 9913800138000"},
		{"sku 13800138000X", "sku 13800138000X"},
		// An 18-digit number without a plausible birth date is not an ID.
		{"110105000000000000", "110105000000000000"},
		{"no personal data", "no personal data"},
		{"", ""},
	}
	for _, c := range cases {
		if got := MaskText(c.in); got != c.want {
			t.Errorf("MaskText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRowMaskerColumns(t *testing.T) {
	cols := []string{"customer_id", "mobile", "id_number", "note", "tags", "blob", "m"}
	vals := []any{int64(13800138000), int64(13800138000), "110105491231002", "mail me: x@y.com",
		[]any{"13912345678", nil}, []byte("11010519491231002X"), map[any]any{"k": "a@b.cn", "zs@qq.com": int32(1)}}
	NewRowMasker(cols).Mask(vals)
	want := []any{int64(13800138000), "+86 138****8000", "110105************", "mail me: x***@y.com",
		[]any{"+86 139****5678", nil}, []byte("110105************"), map[any]any{"k": "a***@b.cn", "z***@qq.com": int32(1)}}
	for i := range want {
		if !reflect.DeepEqual(vals[i], want[i]) {
			t.Errorf("%s: %#v, want %#v", cols[i], vals[i], want[i])
		}
	}
}

func TestRowMaskerNamedValues(t *testing.T) {
	// The reject ledger keeps a bad value with the name of its column; an
	// invalid mobile has no mobile shape but is still a mobile.
	m := NewRowMasker([]string{"column_name", "raw_value", "rule"})
	cases := []struct{ column, raw, want string }{
		{"mobile", "11769145825", "*******5825"},
		{"id_number", "44030419861116940", "*****************"},
		{"name", "刘晓红", "刘**"},
		{"amount", "12,00", "12,00"},
	}
	for _, c := range cases {
		vals := []any{c.column, c.raw, "some_rule"}
		m.Mask(vals)
		if vals[1] != c.want || vals[0] != c.column {
			t.Errorf("%s %q masked to %v, want %q", c.column, c.raw, vals[1], c.want)
		}
	}
}

func TestColumnKind(t *testing.T) {
	for _, c := range []struct {
		name string
		want Kind
	}{
		{"id_number", IDNumber}, {"ID_NO", IDNumber}, {"身份证号", IDNumber}, {"resident-id", IDNumber},
		{"mobile", Mobile}, {"手机号", Mobile}, {"phone", Phone}, {"联系电话", Phone},
		{"email", Email}, {"e_mail", Email}, {"邮箱", Email},
		{"full_name", Name}, {"姓名", Name}, {"customer_name", Name}, {"address", Address}, {"地址", Address},
		{"email_count", None}, {"mobile_valid", None}, {"email_domain", None}, {"name", None},
		{"product_name", None}, {"birth_year", None}, {"手机数", None},
	} {
		if got := ColumnKind(c.name); got != c.want {
			t.Errorf("ColumnKind(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}
