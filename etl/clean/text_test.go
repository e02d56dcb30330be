package clean

import "testing"

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"  鑫联百货  ", "鑫联百货"},
		{"a  b\t\tc\n\nd", "a b c d"},
		{"Ａｐｐｌｅ　ｉＰｈｏｎｅ　１５", "Apple iPhone 15"},
		{"\uFEFF商品\u200B名称", "商品名称"},
		{"a\u00A0b", "a b"},
		{"a\x00b", "ab"},
		{"a \x07 b", "a b"},
		{"\x00 0", "0"},
		{"家电＞厨房电器＞电饭锅", "家电>厨房电器>电饭锅"},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHeaderKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"\uFEFF来电号码", "来电号码"},
		{" Mobile_No. ", "mobileno"},
		{"mobile no", "mobileno"},
		{"手机号（必填）", "手机号必填"},
		{"手机号(必填)", "手机号必填"},
		{"金额：", "金额"},
		{"金额:", "金额"},
		{"ＭＯＢＩＬＥ", "mobile"},
		{"单价 (元)", "单价元"},
		{"E-mail", "email"},
		{"  ", ""},
	} {
		if got := HeaderKey(tc.in); got != tc.want {
			t.Errorf("HeaderKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
