package clean

import "testing"

func TestMasks(t *testing.T) {
	fixClock(t, "2024-12-31 12:00")
	for _, tc := range []struct {
		f        func(string) string
		name     string
		in, want string
	}{
		{MaskID, "MaskID", "11010519491231002X", "110105********002X"},
		{MaskID, "MaskID", "11010519491231002x", "110105********002X"},
		{MaskID, "MaskID", "110105491231002", "110105********002X"},
		{MaskID, "MaskID", "110105194912310021", "110105********0021"},
		{MaskID, "MaskID", "12345", "*****"},
		{MaskID, "MaskID", "", ""},
		{MaskMobile, "MaskMobile", "+8613800138000", "+86 138****8000"},
		{MaskMobile, "MaskMobile", "17951 13800138000", "+86 138****8000"},
		{MaskMobile, "MaskMobile", "010-12345678", "********5678"},
		{MaskMobile, "MaskMobile", "12345", "*****"},
		{MaskMobile, "MaskMobile", "", ""},
		{MaskEmail, "MaskEmail", "abc@b.cn", "a***@b.cn"},
		{MaskEmail, "MaskEmail", "A@B.CN", "a***@b.cn"},
		{MaskEmail, "MaskEmail", "张三@qq.com", "张***@qq.com"},
		{MaskEmail, "MaskEmail", "nobody", "***"},
		{MaskEmail, "MaskEmail", "@qq.com", "***"},
		{MaskEmail, "MaskEmail", "", ""},
	} {
		if got := tc.f(tc.in); got != tc.want {
			t.Errorf("%s(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}
