package clean

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var crmFields = []FieldSpec{
	{Name: "card_no", Aliases: []string{"会员卡号", "卡号"}, Required: true},
	{Name: "name", Aliases: []string{"姓名"}},
	{Name: "id_number", Aliases: []string{"身份证号", "证件号码"}},
	{Name: "mobile", Aliases: []string{"手机", "手机号", "联系电话", "mobile", "phone"}},
	{Name: "email", Aliases: []string{"邮箱", "E-mail"}},
}

func TestMapHeaders(t *testing.T) {
	headers := []string{"\uFEFF会员卡号", "姓名", "身份证号", "手机 ", "邮箱", "性别", "备注"}
	m, err := MatchHeaders(headers, crmFields)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"card_no": 0, "name": 1, "id_number": 2, "mobile": 3, "email": 4}
	if !reflect.DeepEqual(m.Columns, want) {
		t.Errorf("columns = %v, want %v", m.Columns, want)
	}
	if !reflect.DeepEqual(m.Extra, []int{5, 6}) {
		t.Errorf("extra = %v, want [5 6]", m.Extra)
	}
	cols, err := MapHeaders([]string{"Phone", "卡号", "EMAIL"}, crmFields)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"mobile": 0, "card_no": 1, "email": 2}; !reflect.DeepEqual(cols, want) {
		t.Errorf("MapHeaders = %v, want %v", cols, want)
	}
}

func TestMapHeadersErrors(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		fields  []FieldSpec
		rules   []string
		says    []string
	}{
		{"required missing", []string{"姓名", "手机"}, crmFields,
			[]string{RuleHeaderMissing}, []string{`required column "card_no" is missing`, `"会员卡号"`}},
		{"duplicate", []string{"会员卡号", "手机", "姓名", "联系电话"}, crmFields,
			[]string{RuleHeaderDup}, []string{`"手机" (column 2)`, `"联系电话" (column 4)`, `"mobile"`}},
		{"same header twice", []string{"会员卡号", "手机", "手机"}, crmFields,
			[]string{RuleHeaderDup}, []string{`(column 2)`, `(column 3)`}},
		{"ambiguous", []string{"会员卡号", "电话"}, append(crmFields[:len(crmFields):len(crmFields)],
			FieldSpec{Name: "home_phone", Aliases: []string{"电话"}}, FieldSpec{Name: "work_phone", Aliases: []string{"电话"}}),
			[]string{RuleHeaderAmbiguous}, []string{`ambiguous header "电话" (column 2)`, `"home_phone" and "work_phone"`}},
		{"all at once", []string{"手机", "手机号"}, crmFields,
			[]string{RuleHeaderDup, RuleHeaderMissing}, []string{"column 2", "card_no"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MapHeaders(tc.headers, tc.fields)
			if err == nil {
				t.Fatal("no error")
			}
			var rules []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var he *HeaderError
				if !errors.As(e, &he) {
					t.Fatalf("%v is not a *HeaderError", e)
				}
				rules = append(rules, he.Rule)
			}
			if !reflect.DeepEqual(rules, tc.rules) {
				t.Errorf("rules = %v, want %v", rules, tc.rules)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}
