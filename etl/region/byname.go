package region

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ByName resolves free-text province and city names, as CRM exports write
// them ("广东省" or "广东", "深圳市" or "深圳", "内蒙古" for 内蒙古自治区,
// "延边州" for 延边朝鲜族自治州), to the most specific region: the city when
// city names one within the province, else the province. For a municipality
// a city of "北京", "北京市" or "市辖区" gives its xx0100 city row. A city
// field that repeats the province or goes on into the county
// ("广东省深圳市南山区") still finds the city. With an empty province the
// city is looked up across the country and must be unique there. It reports
// false when the province is not recognised (or, without a province, when
// the city is not found exactly once).
func ByName(province, city string) (Region, bool) {
	province, city = cleanName(province), cleanName(city)
	if isASCII(province) && isASCII(city) {
		// Every name of the code list begins with a Chinese character, and
		// a name matches only by equality or a shared beginning (in full
		// or short form), so ASCII text (or none: a line without a place,
		// a store called "Store 1") finds nothing, without parsing the list.
		return Region{}, false
	}
	t, err := table0()
	if err != nil {
		return Region{}, false
	}
	return t.byName(province, city)
}

// isASCII tells whether s has no rune beyond ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// byName is ByName on the parsed table, of names cleaned already.
func (t *table) byName(province, city string) (Region, bool) {
	if province == "" {
		var found []Region
		for _, p := range t.provinces {
			if r, ok := t.cityIn(p, city); ok {
				found = append(found, r)
			}
		}
		if len(found) != 1 {
			return Region{}, false
		}
		return found[0], true
	}
	p, ok := t.findProvince(province)
	if !ok {
		return Region{}, false
	}
	if city == "" {
		return p, true
	}
	if r, ok := t.cityIn(p, city); ok {
		return r, true
	}
	if rest := trimProvince(city, p); rest != city && rest != "" {
		if r, ok := t.cityIn(p, rest); ok {
			return r, true
		}
	}
	return p, true
}

// cleanName drops all white space (including the ideographic space) from a
// name.
func cleanName(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// provinceShort is the short form of a province name: 广东省 → 广东,
// 广西壮族自治区 → 广西, 新疆维吾尔自治区 → 新疆, 香港特别行政区 → 香港.
func provinceShort(name string) string {
	for _, suffix := range []string{"特别行政区", "自治区", "省", "市"} {
		if s, ok := strings.CutSuffix(name, suffix); ok {
			name = s
			break
		}
	}
	for _, people := range []string{"维吾尔", "壮族", "回族"} {
		if s, ok := strings.CutSuffix(name, people); ok {
			return s
		}
	}
	return name
}

// findProvince matches a province by its full name, its short form, or an
// unambiguous prefix of at least two characters (内蒙 → 内蒙古自治区).
func (t *table) findProvince(name string) (Region, bool) {
	short := provinceShort(name)
	var prefixed []Region
	for i, p := range t.provinces {
		if name == p.Name || short == t.shorts[i] {
			return p, true
		}
		if utf8.RuneCountInString(name) >= 2 && strings.HasPrefix(p.Name, name) {
			prefixed = append(prefixed, p)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], true
	}
	return Region{}, false
}

// cityShort strips the generic suffix of a prefecture-level name as people
// abbreviate it: 深圳市 → 深圳, 大兴安岭地区 → 大兴安岭, 延边州 → 延边.
func cityShort(name string) string {
	for _, suffix := range []string{"自治州", "地区", "林区", "市", "盟", "州"} {
		if s, ok := strings.CutSuffix(name, suffix); ok && s != "" {
			return s
		}
	}
	return name
}

// cityIn finds the city named name within province p: among its
// prefecture-level cities and the county-level units it administers
// directly, by full name, else by an unambiguous prefix of at least two
// characters: the name as written (儋州 → 儋州市), then without its generic
// suffix (延边州 → 延边朝鲜族自治州); else the city whose full name begins
// the text (深圳市南山区 → 深圳市).
func (t *table) cityIn(p Region, name string) (Region, bool) {
	candidates := t.cityLike[p.Code]
	for _, c := range candidates {
		if c.Name == name {
			return c, true
		}
	}
	if isMunicipality(p.Code[:2]) {
		if name == "市辖区" || name == "县" || provinceShort(name) == provinceShort(p.Name) {
			return Lookup(p.Code[:2] + "0100")
		}
	}
	for _, prefix := range []string{name, cityShort(name)} {
		if utf8.RuneCountInString(prefix) < 2 {
			continue
		}
		var found []Region
		for _, c := range candidates {
			if strings.HasPrefix(c.Name, prefix) {
				found = append(found, c)
			}
		}
		if len(found) == 1 {
			return found[0], true
		}
	}
	// A city field that goes on into the county: 深圳市南山区.
	var longest Region
	for _, c := range candidates {
		if strings.HasPrefix(name, c.Name) && len(c.Name) > len(longest.Name) {
			longest = c
		}
	}
	if longest.Code != "" {
		return longest, true
	}
	return Region{}, false
}

// trimProvince drops a leading province name (full or short) that a city
// field repeats: 广东省深圳市 → 深圳市. A municipality's name is kept, as it
// is also the name of its city. ByName tries the city as written first, so
// that 吉林市 stays the city of 吉林省.
func trimProvince(city string, p Region) string {
	if isMunicipality(p.Code[:2]) {
		return city
	}
	for _, prefix := range []string{p.Name, provinceShort(p.Name)} {
		if rest, ok := strings.CutPrefix(city, prefix); ok {
			return rest
		}
	}
	return city
}
