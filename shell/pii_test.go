package shell

import "testing"

func TestColumnPII(t *testing.T) {
	cases := []struct {
		name string
		want PIIKind
	}{
		{"id_number", PIIIDNumber}, {"ID_NUMBER", PIIIDNumber}, {"customer_id_number", PIIIDNumber},
		{"idcard", PIIIDNumber}, {"id_card_no", PIIIDNumber}, {"sfzh", PIIIDNumber}, {"身份证号", PIIIDNumber},
		{"证件号码", PIIIDNumber}, {"resident_id", PIIIDNumber},
		{"mobile", PIIMobile}, {"Mobile Phone", PIIMobile}, {"phone_number", PIIMobile}, {"tel", PIIMobile},
		{"手机号", PIIMobile}, {"联系电话", PIIMobile},
		{"email", PIIEmail}, {"e_mail", PIIEmail}, {"E-Mail", PIIEmail}, {"contact_email", PIIEmail}, {"邮箱", PIIEmail},
		// About personal data, not personal data.
		{"email_count", PIINone}, {"mobile_valid", PIINone}, {"email_domain", PIINone}, {"has_mobile", PIINone},
		{"手机号数", PIINone},
		// Not personal data at all.
		{"customer_id", PIINone}, {"id", PIINone}, {"valid_now", PIINone}, {"name", PIINone},
		{"telemetry", PIINone}, {"hotel", PIINone}, {"order_no", PIINone},
	}
	for _, c := range cases {
		if got := ColumnPII(c.name); got != c.want {
			t.Errorf("ColumnPII(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMaskText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"11010519491231002X", "110105********002X"},
		{"11010519491231002x", "110105********002X"},
		{"+8613800138000", "+86 138****8000"},
		{"13800138000", "+86 138****8000"},
		{"+86 138-0013-8000", "+86 138****8000"},
		{"0086 19846135622", "+86 198****5622"},
		// JSON records (the reject ledger's raw_record): values under
		// personal-data keys are masked whatever their shape.
		{`{"name":"刘晓红","id_number":"44030419861116940","mobile" : "0086 1984613562","email":"bad@","city":"成都市"}`,
			`{"name":"刘晓红","id_number":"440304*******6940","mobile" : "***********3562","email":"b***@","city":"成都市"}`},
		{"abc@b.cn", "a***@b.cn"},
		{"张三,11010519491231002X,13800138000,zs@qq.com", "张三,110105********002X,+86 138****8000,z***@qq.com"},
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

func TestMaskerColumns(t *testing.T) {
	cols := []Column{{"customer_id", "BIGINT"}, {"mobile", "BIGINT"}, {"id_number", "VARCHAR"}, {"note", "VARCHAR"}, {"tags", "VARCHAR[]"}}
	vals := []any{int64(13800138000), int64(13800138000), "110105491231002", "mail me: x@y.com", []any{"13912345678", nil}}
	newMasker(cols).mask(vals)
	want := []any{int64(13800138000), "+86 138****8000", "110105********002X", "mail me: x***@y.com", []any{"+86 139****5678", nil}}
	for i := range want {
		if !equalValue(vals[i], want[i]) {
			t.Errorf("%s: %#v, want %#v", cols[i].Name, vals[i], want[i])
		}
	}
}

func TestMaskerNamedValues(t *testing.T) {
	// The reject ledger keeps a bad value with the name of its column; an
	// invalid mobile has no mobile shape but is still a mobile.
	cols := []Column{{"column_name", "VARCHAR"}, {"raw_value", "VARCHAR"}, {"rule", "VARCHAR"}}
	m := newMasker(cols)
	cases := []struct{ column, raw, want string }{
		{"mobile", "11769145825", "*******5825"},
		{"id_number", "44030419861116940", "440304*******6940"},
		{"amount", "12,00", "12,00"},
	}
	for _, c := range cases {
		vals := []any{c.column, c.raw, "some_rule"}
		m.mask(vals)
		if vals[1] != c.want || vals[0] != c.column {
			t.Errorf("%s %q masked to %v, want %q", c.column, c.raw, vals[1], c.want)
		}
	}
}

func equalValue(a, b any) bool {
	la, ok1 := a.([]any)
	lb, ok2 := b.([]any)
	if ok1 && ok2 {
		if len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !equalValue(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}
