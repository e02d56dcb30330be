package clean

import (
	"strings"
	"testing"
)

func TestEmail(t *testing.T) {
	tests := []struct{ in, want, rule string }{
		{"a@b.cn", "a@b.cn", ""},
		{"  Zhang.San@Example.COM ", "zhang.san@example.com", ""},
		{"ｚｈａｎｇ＠ｑｑ．ｃｏｍ", "zhang@qq.com", ""},
		{"li_si+shop@mail.163.com", "li_si+shop@mail.163.com", ""},
		{"o'brien@x-y.com.cn", "o'brien@x-y.com.cn", ""},
		{"用户@例子.中国", "用户@例子.中国", ""},
		{"", "", RuleEmailMissing},
		{"zhang", "", RuleEmailInvalid},
		{"@qq.com", "", RuleEmailInvalid},
		{"zhang@", "", RuleEmailInvalid},
		{"zhang@qq", "", RuleEmailInvalid},
		{"zhang@@qq.com", "", RuleEmailInvalid},
		{"a@b@qq.com", "", RuleEmailInvalid},
		{".zhang@qq.com", "", RuleEmailInvalid},
		{"zhang.@qq.com", "", RuleEmailInvalid},
		{"zh..ang@qq.com", "", RuleEmailInvalid},
		{"zhang san@qq.com", "", RuleEmailInvalid},
		{"zhang@qq..com", "", RuleEmailInvalid},
		{"zhang@-qq.com", "", RuleEmailInvalid},
		{"zhang@qq.com.", "", RuleEmailInvalid},
		{"zhang@qq_mail.com", "", RuleEmailInvalid},
		{"zhang@1.2.3.4", "", RuleEmailInvalid},
		{strings.Repeat("a", 65) + "@qq.com", "", RuleEmailInvalid},
		{"a@" + strings.Repeat("b", 250) + ".cn", "", RuleEmailInvalid},
	}
	for _, tc := range tests {
		got, err := Email(tc.in)
		if RuleOf(err) != tc.rule || got != tc.want {
			t.Errorf("Email(%q) = %q, %v; want %q, rule %q", tc.in, got, err, tc.want, tc.rule)
		}
	}
}
