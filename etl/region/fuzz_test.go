package region

import (
	"testing"
	"unicode/utf8"
)

func FuzzByName(f *testing.F) {
	for _, seed := range [][2]string{{"广东省", "深圳市"}, {"内蒙", "锡林郭勒"}, {"", "阿拉"}, {"北京", "市辖区"}, {"\xff", "州"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, province, city string) {
		r, ok := ByName(province, city)
		if !ok {
			return
		}
		got, found := Lookup(r.Code)
		if !found || got != r {
			t.Fatalf("ByName(%q, %q) = %+v, not a row of the table", province, city, r)
		}
		if r.Level == LevelProvince && province == "" {
			t.Fatalf("ByName(%q, %q) gave a province without a province name", province, city)
		}
		if province != "" && utf8.ValidString(province) {
			if p, ok := ByName(province, ""); !ok || p.Code != r.ProvinceCode {
				t.Fatalf("ByName(%q, %q) lies in %s but the province alone gives %s, %v", province, city, r.ProvinceCode, p.Code, ok)
			}
		}
	})
}

func FuzzProvinceOfID(f *testing.F) {
	for _, seed := range []string{"440524", "110221", "429001", "990101", "44030x", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		r, ok := ProvinceOfID(code)
		if !ok {
			return
		}
		if !isCode(code) || r.Code[:2] != code[:2] {
			t.Fatalf("ProvinceOfID(%q) = %s", code, r.Code)
		}
		if _, found := Lookup(r.Code); !found {
			t.Fatalf("ProvinceOfID(%q) = %s, not in the table", code, r.Code)
		}
	})
}
