package region

import "testing"

func TestByName(t *testing.T) {
	tests := []struct {
		province, city string
		wantCode       string
		wantOK         bool
	}{
		{"广东省", "深圳市", "440300", true},
		{"广东", "深圳", "440300", true},
		{" 广东 ", "深圳　", "440300", true}, // ASCII and ideographic spaces
		{"广东省", "", "440000", true},
		{"广东省", "不存在市", "440000", true}, // unknown city: the province
		{"北京", "", "110000", true},
		{"北京市", "", "110000", true},
		{"北京", "北京市", "110100", true},
		{"北京市", "市辖区", "110100", true},
		{"重庆", "重庆", "500100", true},
		{"上海", "浦东新区", "310000", true}, // a district is not a city
		{"内蒙古", "", "150000", true},
		{"内蒙古自治区", "呼和浩特", "150100", true},
		{"内蒙", "锡林郭勒", "152500", true},
		{"新疆", "", "650000", true},
		{"新疆维吾尔自治区", "乌鲁木齐市", "650100", true},
		{"新疆", "石河子", "659001", true}, // directly administered county-level city
		{"广西", "桂林", "450300", true},
		{"广西壮族自治区", "", "450000", true},
		{"宁夏", "银川", "640100", true},
		{"西藏", "拉萨市", "540100", true},
		{"黑龙江", "大兴安岭", "232700", true},
		{"吉林", "延边州", "222400", true},
		{"吉林省", "吉林市", "220200", true},
		{"吉林", "吉林", "220200", true},
		{"湖北", "仙桃市", "429004", true},
		{"湖北省", "恩施州", "422800", true},
		{"四川", "阿坝", "513200", true},
		{"海南", "儋州", "460400", true},
		{"香港", "", "810000", true},
		{"台湾", "", "710000", true},
		{"山西", "", "140000", true},
		{"陕西", "", "610000", true},
		{"广东", "桂林", "440000", true}, // a city of another province: the province
		{"广东省", "深圳市南山区", "440300", true},
		{"广东", "广东省深圳市", "440300", true},
		{"广东", "广东深圳", "440300", true},
		{"广东", "广东", "440000", true},
		{"吉林", "吉林市", "220200", true}, // the province name is not trimmed from a whole city name
		{"青海", "海南藏族自治州共和县", "632500", true},
		{"海南", "海口市美兰区", "460100", true},
		{"", "深圳", "440300", true}, // no province: unique city nationwide
		{"", "朝阳", "211300", true}, // 朝阳区 of 北京 and 长春 are districts, not cities
		{"", "阿拉", "", false},      // 阿拉善盟 (内蒙古) or 阿拉尔市 (新疆)
		{"", "朝阳区", "", false},     // districts are not looked up
		{"火星", "深圳", "", false},
		{"", "", "", false},
		{"广", "", "", false}, // one character is too little
	}
	for _, tt := range tests {
		t.Run(tt.province+"/"+tt.city, func(t *testing.T) {
			got, ok := ByName(tt.province, tt.city)
			if ok != tt.wantOK || got.Code != tt.wantCode {
				t.Errorf("ByName(%q, %q) = %s %s, %v; want %s, %v", tt.province, tt.city, got.Code, got.Name, ok, tt.wantCode, tt.wantOK)
			}
		})
	}
}

func BenchmarkByName(b *testing.B) {
	cases := [][2]string{{"广东", "深圳"}, {"新疆维吾尔自治区", "伊犁"}, {"北京市", "朝阳区"}, {"", "吉林"}}
	if _, err := get(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := cases[i%len(cases)]
		if _, ok := ByName(c[0], c[1]); !ok {
			b.Fatal(c)
		}
	}
}
