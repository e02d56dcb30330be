package region

import (
	"strings"
	"testing"
)

func TestTableCounts(t *testing.T) {
	if _, err := get(); err != nil {
		t.Fatal(err)
	}
	// The 2024 list has 34 provinces, 333 prefecture-level divisions and
	// 2846 county-level ones; the four municipality city rows come on top.
	counts := map[string]int{}
	for _, r := range All() {
		counts[r.Level]++
	}
	want := map[string]int{LevelProvince: 34, LevelCity: 333 + 4, LevelCounty: 2846}
	for level, n := range want {
		if counts[level] != n {
			t.Errorf("%s: %d rows, want %d", level, counts[level], n)
		}
	}
	if len(counts) != 3 {
		t.Errorf("levels %v, want only province, city and county", counts)
	}
	if got := len(All()); got != 34+337+2846 {
		t.Errorf("All: %d rows, want %d", got, 34+337+2846)
	}
	if n := len(Provinces()); n != 34 {
		t.Errorf("Provinces: %d", n)
	}
	if n := len(Cities()); n < 330 || n > 345 {
		t.Errorf("Cities: %d, outside the plausible 330..345", n)
	}
	if n := len(Counties()); n < 2800 || n > 2900 {
		t.Errorf("Counties: %d, outside the plausible 2800..2900", n)
	}
}

func TestLookupKnown(t *testing.T) {
	tests := []struct {
		code string
		want Region
	}{
		{"110105", Region{Code: "110105", Name: "朝阳区", Level: LevelCounty,
			ProvinceCode: "110000", Province: "北京市", CityCode: "110100", City: "北京市", CountyCode: "110105", County: "朝阳区"}},
		{"440305", Region{Code: "440305", Name: "南山区", Level: LevelCounty,
			ProvinceCode: "440000", Province: "广东省", CityCode: "440300", City: "深圳市", CountyCode: "440305", County: "南山区"}},
		{"440300", Region{Code: "440300", Name: "深圳市", Level: LevelCity,
			ProvinceCode: "440000", Province: "广东省", CityCode: "440300", City: "深圳市"}},
		{"650000", Region{Code: "650000", Name: "新疆维吾尔自治区", Level: LevelProvince,
			ProvinceCode: "650000", Province: "新疆维吾尔自治区"}},
		{"500229", Region{Code: "500229", Name: "城口县", Level: LevelCounty,
			ProvinceCode: "500000", Province: "重庆市", CityCode: "500100", City: "重庆市", CountyCode: "500229", County: "城口县"}},
		{"429004", Region{Code: "429004", Name: "仙桃市", Level: LevelCounty,
			ProvinceCode: "420000", Province: "湖北省", CityCode: "429004", City: "仙桃市", CountyCode: "429004", County: "仙桃市"}},
		{"469030", Region{Code: "469030", Name: "琼中黎族苗族自治县", Level: LevelCounty,
			ProvinceCode: "460000", Province: "海南省", CityCode: "469030", City: "琼中黎族苗族自治县", CountyCode: "469030", County: "琼中黎族苗族自治县"}},
		{"222401", Region{Code: "222401", Name: "延吉市", Level: LevelCounty,
			ProvinceCode: "220000", Province: "吉林省", CityCode: "222400", City: "延边朝鲜族自治州", CountyCode: "222401", County: "延吉市"}},
		{"441900", Region{Code: "441900", Name: "东莞市", Level: LevelCity,
			ProvinceCode: "440000", Province: "广东省", CityCode: "441900", City: "东莞市"}},
		{"330113", Region{Code: "330113", Name: "临平区", Level: LevelCounty, // created 2021
			ProvinceCode: "330000", Province: "浙江省", CityCode: "330100", City: "杭州市", CountyCode: "330113", County: "临平区"}},
		{"653229", Region{Code: "653229", Name: "和安县", Level: LevelCounty, // created December 2024
			ProvinceCode: "650000", Province: "新疆维吾尔自治区", CityCode: "653200", City: "和田地区", CountyCode: "653229", County: "和安县"}},
		{"810000", Region{Code: "810000", Name: "香港特别行政区", Level: LevelProvince,
			ProvinceCode: "810000", Province: "香港特别行政区"}},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, ok := Lookup(tt.code)
			if !ok {
				t.Fatalf("Lookup(%s) not found", tt.code)
			}
			if got != tt.want {
				t.Errorf("Lookup(%s)\n got %+v\nwant %+v", tt.code, got, tt.want)
			}
		})
	}
	for _, code := range []string{"440524", "330103", "110100x", "", "000000", "350427"} {
		if r, ok := Lookup(code); ok {
			t.Errorf("Lookup(%q) = %+v, want not found (retired or malformed)", code, r)
		}
	}
}

// TestHierarchyComplete checks that every county sits under a province and
// a city that are in the table, with codes that agree with GB/T 2260's
// prefix rules.
func TestHierarchyComplete(t *testing.T) {
	for _, r := range All() {
		p, ok := Lookup(r.ProvinceCode)
		if !ok || p.Level != LevelProvince || p.Name != r.Province {
			t.Errorf("%s %s: province %s %s not in the table", r.Code, r.Name, r.ProvinceCode, r.Province)
			continue
		}
		if r.Code[:2] != r.ProvinceCode[:2] {
			t.Errorf("%s: province code %s has another prefix", r.Code, r.ProvinceCode)
		}
		switch r.Level {
		case LevelProvince:
			if r.CityCode != "" || r.CountyCode != "" || !strings.HasSuffix(r.Code, "0000") {
				t.Errorf("province %+v", r)
			}
		case LevelCity:
			if r.CityCode != r.Code || r.CountyCode != "" || !strings.HasSuffix(r.Code, "00") {
				t.Errorf("city %+v", r)
			}
		case LevelCounty:
			if r.CountyCode != r.Code || r.County != r.Name || strings.HasSuffix(r.Code, "00") {
				t.Errorf("county %+v", r)
			}
			c, ok := Lookup(r.CityCode)
			if !ok || c.Name != r.City || c.ProvinceCode != r.ProvinceCode {
				t.Errorf("%s %s: city %s %s not in the table under %s", r.Code, r.Name, r.CityCode, r.City, r.ProvinceCode)
				continue
			}
			switch {
			case isMunicipality(r.Code[:2]):
				if r.CityCode != r.Code[:2]+"0100" {
					t.Errorf("%s: municipality county under city %s", r.Code, r.CityCode)
				}
			case r.CityCode == r.Code:
				if _, ok := Lookup(r.Code[:4] + "00"); ok {
					t.Errorf("%s: its own city although %s00 exists", r.Code, r.Code[:4])
				}
			default:
				if r.CityCode != r.Code[:4]+"00" {
					t.Errorf("%s: city %s does not share its first four digits", r.Code, r.CityCode)
				}
			}
		}
	}
}

func TestListsAreCopiesInCodeOrder(t *testing.T) {
	counties := Counties()
	for i := 1; i < len(counties); i++ {
		if counties[i-1].Code >= counties[i].Code {
			t.Fatalf("Counties not ordered at %d: %s then %s", i, counties[i-1].Code, counties[i].Code)
		}
	}
	counties[0].Name = "changed"
	if r, _ := Lookup(counties[0].Code); r.Name == "changed" {
		t.Error("changing the slice from Counties changed the table")
	}
}

func TestProvinceOfID(t *testing.T) {
	tests := []struct {
		code     string
		wantCode string
		wantOK   bool
	}{
		{"440305", "440305", true}, // current county: itself
		{"440524", "440500", true}, // 汕头市潮阳县, retired 2003: its city
		{"440301", "440300", true}, // 深圳市市辖区, an old code: its city
		{"110221", "110100", true}, // 北京市昌平县, retired 1999: the municipality's city row
		{"500221", "500100", true}, // 重庆市长寿县, retired 2001
		{"429001", "420000", true}, // 随州市 (直辖), retired 2000: no 429000 city, so the province
		{"422827", "422827", true}, // 来凤县
		{"990101", "", false},      // no such province
		{"44030", "", false},
		{"44030x", "", false},
		{"4403051", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, ok := ProvinceOfID(tt.code)
			if ok != tt.wantOK || got.Code != tt.wantCode {
				t.Errorf("ProvinceOfID(%q) = %s %s, %v; want %s, %v", tt.code, got.Code, got.Name, ok, tt.wantCode, tt.wantOK)
			}
		})
	}
	if r, _ := ProvinceOfID("440524"); r.Name != "汕头市" || r.Province != "广东省" {
		t.Errorf("ProvinceOfID(440524) = %+v, want 汕头市 in 广东省", r)
	}
}

func TestParseErrors(t *testing.T) {
	const header = "code,name,level,parent_code\n"
	tests := []struct {
		name, csv, want string
	}{
		{"bad header", "code,name,level,parent\n", "line 1"},
		{"short code", header + "11000,北京市,province,\n", "line 2: code \"11000\""},
		{"no name", header + "110000,,province,\n", "line 2: code 110000 has no name"},
		{"duplicate", header + "110000,北京市,province,\n110000,北京,province,\n", "line 3: code 110000 appears twice"},
		{"missing parent", header + "110000,北京市,province,\n440300,深圳市,city,440000\n", "line 3: 440300 深圳市: parent \"440000\""},
		{"bad level", header + "110000,北京市,state,\n", "level \"state\""},
		{"wrong prefix", header + "110000,北京市,province,\n440300,深圳市,city,110000\n", "another prefix"},
		{"county under county", header + "440000,广东省,province,\n440305,南山区,county,440306\n440306,宝安区,county,440000\n", "of level county"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parse error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
