package shell

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/ckm-dev/ckm/etl/clean"
)

// PIIKind is the kind of personal data a column or a value holds.
type PIIKind int

// Kinds of personal data ckm masks.
const (
	PIINone PIIKind = iota
	PIIIDNumber
	PIIMobile
	PIIEmail
)

func (k PIIKind) String() string {
	switch k {
	case PIIIDNumber:
		return "id_number"
	case PIIMobile:
		return "mobile"
	case PIIEmail:
		return "email"
	}
	return "none"
}

// MaskFunction is the name of the SQL function (registered by
// clean.Register) that masks values of the kind, for masking inside
// queries such as the Parquet export.
func (k PIIKind) MaskFunction() string {
	switch k {
	case PIIIDNumber:
		return "ckm_mask_id"
	case PIIMobile:
		return "ckm_mask_mobile"
	case PIIEmail:
		return "ckm_mask_email"
	}
	return ""
}

// Mask masks one value of the kind with the cleaners' masks.
func (k PIIKind) Mask(s string) string {
	switch k {
	case PIIIDNumber:
		return clean.MaskID(s)
	case PIIMobile:
		return clean.MaskMobile(s)
	case PIIEmail:
		return clean.MaskEmail(s)
	}
	return s
}

// Column-name words that mark personal data, in English and Chinese.
var (
	piiWords = map[string]PIIKind{
		"idnumber": PIIIDNumber, "idno": PIIIDNumber, "idcard": PIIIDNumber, "idnum": PIIIDNumber,
		"sfz": PIIIDNumber, "sfzh": PIIIDNumber, "sfzhm": PIIIDNumber, "zjhm": PIIIDNumber,
		"mobile": PIIMobile, "phone": PIIMobile, "cellphone": PIIMobile, "mobilephone": PIIMobile,
		"tel": PIIMobile, "telephone": PIIMobile, "msisdn": PIIMobile, "sjh": PIIMobile, "sjhm": PIIMobile,
		"email": PIIEmail, "mail": PIIEmail, "emailaddress": PIIEmail,
	}
	// Two-word spellings: id_number, e_mail, resident_id, national_id.
	piiPairs = map[[2]string]PIIKind{
		{"id", "number"}: PIIIDNumber, {"id", "no"}: PIIIDNumber, {"id", "card"}: PIIIDNumber,
		{"id", "num"}: PIIIDNumber, {"resident", "id"}: PIIIDNumber, {"national", "id"}: PIIIDNumber,
		{"identity", "number"}: PIIIDNumber, {"identity", "card"}: PIIIDNumber,
		{"e", "mail"}: PIIEmail, {"phone", "number"}: PIIMobile, {"mobile", "number"}: PIIMobile,
	}
	piiChinese = []struct {
		word string
		kind PIIKind
	}{
		{"身份证", PIIIDNumber}, {"证件号", PIIIDNumber},
		{"手机", PIIMobile}, {"电话", PIIMobile}, {"联系方式", PIIMobile},
		{"邮箱", PIIEmail}, {"邮件", PIIEmail},
	}
	// Words that make a column about personal data rather than holding it:
	// email_count, mobile_valid, email_domain.
	piiAbout = map[string]bool{
		"count": true, "cnt": true, "n": true, "rate": true, "pct": true, "ratio": true, "share": true,
		"valid": true, "is": true, "has": true, "domain": true, "len": true, "length": true,
		"key": true, "type": true, "status": true, "flag": true, "score": true, "missing": true,
		"hash": true, "masked": true, "distinct": true,
		"数": true, "率": true, "数量": true,
	}
)

// ColumnPII classifies a column by its name: id_number, mobile, email,
// 身份证号, 手机号, 邮箱 and their common spellings hold personal data;
// email_count or mobile_valid do not.
func ColumnPII(name string) PIIKind {
	lower := strings.ToLower(strings.TrimSpace(name))
	words := strings.FieldsFunc(lower, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for _, w := range words {
		if piiAbout[w] {
			return PIINone
		}
	}
	for i, w := range words {
		if k, ok := piiWords[w]; ok {
			return k
		}
		if i+1 < len(words) {
			if k, ok := piiPairs[[2]string{w, words[i+1]}]; ok {
				return k
			}
		}
	}
	for _, c := range piiChinese {
		if strings.Contains(lower, c.word) && !strings.HasSuffix(lower, "数") && !strings.HasSuffix(lower, "率") {
			return c.kind
		}
	}
	return PIINone
}

// Shapes of personal data inside any text: 18-digit resident ID numbers
// (with a plausible birth date), mainland mobiles with or without +86, and
// e-mail addresses. Digit runs are checked for boundaries separately, since
// Go's regexp has no look-around.
var (
	idShape     = regexp.MustCompile(`[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]`)
	mobileShape = regexp.MustCompile(`(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}`)
	// "key": "value" pairs of JSON text, such as the raw records of the
	// reject ledger; values under personal-data keys are masked whatever
	// their shape.
	jsonPair   = regexp.MustCompile(`"([^"\\]{1,64})"\s*:\s*"((?:[^"\\]|\\.)*)"`)
	emailShape = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
)

// MaskText masks every ID number, mobile and e-mail address found in s,
// leaving the rest of the text as it is (raw source records, notes).
func MaskText(s string) string {
	if strings.Contains(s, `":`) || strings.Contains(s, `" :`) {
		s = maskJSONPairs(s)
	}
	if strings.IndexByte(s, '@') >= 0 {
		s = emailShape.ReplaceAllStringFunc(s, clean.MaskEmail)
	}
	if countDigits(s) >= 11 {
		s = replaceBounded(s, idShape, clean.MaskID)
		s = replaceBounded(s, mobileShape, clean.MaskMobile)
	}
	return s
}

// maskJSONPairs masks the values of JSON keys named for personal data.
func maskJSONPairs(s string) string {
	return jsonPair.ReplaceAllStringFunc(s, func(pair string) string {
		m := jsonPair.FindStringSubmatchIndex(pair)
		key, value := pair[m[2]:m[3]], pair[m[4]:m[5]]
		k := ColumnPII(key)
		if k == PIINone || value == "" {
			return pair
		}
		masked, _ := marshalJSON(k.Mask(value))
		return pair[:m[4]-1] + masked + pair[m[5]+1:]
	})
}

// replaceBounded replaces matches of re that are not part of a longer run
// of digits or letters.
func replaceBounded(s string, re *regexp.Regexp, mask func(string) string) string {
	locs := re.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		if l[0] > 0 && isDigitOrLetter(s[l[0]-1]) || l[1] < len(s) && isDigitOrLetter(s[l[1]]) {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(mask(s[l[0]:l[1]]))
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigitOrLetter(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// masker masks the personal data in the rows of one result set: whole
// values of columns named for personal data, and shapes of personal data in
// any text.
type masker struct {
	kinds []PIIKind
	// Columns whose values are masked by what another column of the row
	// names: the reject ledger's raw_value by its column_name, the identity
	// map's key_value by its key_type. value index → name index.
	namedBy map[int]int
}

// namedValues are the pairs of (name, value) columns ckm's own tables use
// to hold a value of any column.
var namedValues = [][2]string{{"column_name", "raw_value"}, {"key_type", "key_value"}}

func newMasker(cols []Column) *masker {
	m := &masker{kinds: make([]PIIKind, len(cols)), namedBy: map[int]int{}}
	index := map[string]int{}
	for i, c := range cols {
		m.kinds[i] = ColumnPII(c.Name)
		index[strings.ToLower(c.Name)] = i
	}
	for _, p := range namedValues {
		name, ok1 := index[p[0]]
		value, ok2 := index[p[1]]
		if ok1 && ok2 {
			m.namedBy[value] = name
		}
	}
	return m
}

// mask masks vals in place.
func (m *masker) mask(vals []any) {
	for i, v := range vals {
		if v == nil {
			continue
		}
		k := m.kinds[i]
		if n, ok := m.namedBy[i]; ok && k == PIINone {
			if name, ok := vals[n].(string); ok {
				k = ColumnPII(name)
			}
		}
		if k != PIINone {
			switch x := v.(type) {
			case string:
				vals[i] = k.Mask(x)
				continue
			case int64, int32, uint64, uint32:
				// A mobile or ID number stored as a number.
				vals[i] = k.Mask(fmt.Sprint(x))
				continue
			}
		}
		vals[i] = maskValue(v)
	}
}

// maskValue masks the shapes of personal data in a value's text, looking
// inside lists, structs and maps.
func maskValue(v any) any {
	switch x := v.(type) {
	case string:
		return MaskText(x)
	case []any:
		for i, e := range x {
			x[i] = maskValue(e)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = maskValue(e)
		}
		return x
	}
	return v
}
