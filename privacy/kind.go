package privacy

import (
	"strings"
	"unicode"
)

// Kind is the kind of personal data a column or a value holds.
type Kind int

// Kinds of personal data. Phone is any number that is not a mainland
// mobile (landlines, foreign numbers); Name and Address cover Chinese and
// foreign spellings alike.
const (
	None Kind = iota
	IDNumber
	Mobile
	Email
	Name
	Phone
	Address
)

var kindNames = [...]string{None: "none", IDNumber: "id_number", Mobile: "mobile", Email: "email",
	Name: "name", Phone: "phone", Address: "address"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "none"
	}
	return kindNames[k]
}

// ParseKind returns the kind a name such as "mobile" or "id_number" gives
// (the spellings of cube models' pii: fields); an unknown name is None.
func ParseKind(s string) Kind {
	for k, n := range kindNames {
		if n == s {
			return Kind(k)
		}
	}
	return None
}

// MaskFunction is the name of the SQL macro (schema version 7) that masks
// values of the kind in DuckDB with the same format as Mask.
func (k Kind) MaskFunction() string {
	if k == None {
		return ""
	}
	return "ckm_mask_" + k.String()
}

// TokenPattern is a regular expression (RE2, for DuckDB's
// regexp_full_match) that a value of the form of a vault token matches:
// a t, two letters of its kind, an underscore and 24 base64url characters.
const TokenPattern = `t[a-z]{2}_[A-Za-z0-9_-]{24}`

// DisplaySQL is SQL for what an analyst sees of expr, a value of the kind:
// on a protected warehouse expr holds a token, whose mask was kept in
// vault_display when the raw value was sealed (masking the token itself
// would show the token's characters: a token with no kept mask shows
// stars only); otherwise the kind's mask of expr. It is empty for None.
func (k Kind) DisplaySQL(expr string) string {
	f := k.MaskFunction()
	if f == "" {
		return ""
	}
	return "CASE WHEN " + expr + " IS NULL THEN NULL WHEN NOT regexp_full_match(" + expr + ", '" + TokenPattern + "') THEN " + f + "(" + expr + ")" +
		" ELSE coalesce((SELECT v.display FROM main.vault_display v WHERE v.token = " + expr + "), '****') END"
}

// Column-name words that mark personal data, in English and pinyin.
var (
	kindWords = map[string]Kind{
		"idnumber": IDNumber, "idno": IDNumber, "idcard": IDNumber, "idnum": IDNumber,
		"sfz": IDNumber, "sfzh": IDNumber, "sfzhm": IDNumber, "zjhm": IDNumber,
		"mobile": Mobile, "cellphone": Mobile, "mobilephone": Mobile, "msisdn": Mobile, "sjh": Mobile, "sjhm": Mobile,
		"phone": Phone, "tel": Phone, "telephone": Phone, "fax": Phone, "dh": Phone,
		"email": Email, "mail": Email, "emailaddress": Email,
		"address": Address, "addr": Address, "street": Address, "dz": Address,
		"fullname": Name, "firstname": Name, "lastname": Name, "surname": Name, "xm": Name, "xingming": Name,
	}
	// Two-word spellings: id_number, e_mail, resident_id, first_name.
	kindPairs = map[[2]string]Kind{
		{"id", "number"}: IDNumber, {"id", "no"}: IDNumber, {"id", "card"}: IDNumber,
		{"id", "num"}: IDNumber, {"resident", "id"}: IDNumber, {"national", "id"}: IDNumber,
		{"identity", "number"}: IDNumber, {"identity", "card"}: IDNumber,
		{"e", "mail"}: Email, {"phone", "number"}: Phone, {"mobile", "number"}: Mobile,
		{"first", "name"}: Name, {"last", "name"}: Name, {"full", "name"}: Name,
		{"customer", "name"}: Name, {"contact", "name"}: Name, {"given", "name"}: Name, {"family", "name"}: Name,
	}
	kindChinese = []struct {
		word string
		kind Kind
	}{
		{"身份证", IDNumber}, {"证件号", IDNumber},
		{"手机", Mobile}, {"电话", Phone}, {"联系方式", Phone},
		{"邮箱", Email}, {"邮件", Email},
		{"姓名", Name}, {"客户名", Name}, {"联系人", Name},
		{"地址", Address}, {"住址", Address},
	}
	// Words that make a column about personal data rather than holding it:
	// email_count, mobile_valid, email_domain.
	aboutWords = map[string]bool{
		"count": true, "cnt": true, "n": true, "rate": true, "pct": true, "ratio": true, "share": true,
		"valid": true, "is": true, "has": true, "domain": true, "len": true, "length": true,
		"key": true, "type": true, "status": true, "flag": true, "score": true, "missing": true,
		"hash": true, "masked": true, "distinct": true, "year": true, "band": true,
		"数": true, "率": true, "数量": true,
	}
)

// ColumnKind classifies a column by its name: id_number, mobile, email,
// full_name, 身份证号, 手机号, 邮箱, 姓名, 地址 and their common spellings
// hold personal data; email_count or mobile_valid do not. A bare "name" is
// not personal by its name alone (product and store names); the catalog
// (RelationKinds) names the personal ones.
func ColumnKind(name string) Kind {
	lower := strings.ToLower(strings.TrimSpace(name))
	words := strings.FieldsFunc(lower, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for _, w := range words {
		if aboutWords[w] {
			return None
		}
	}
	for i, w := range words {
		if k, ok := kindWords[w]; ok {
			return k
		}
		if i+1 < len(words) {
			if k, ok := kindPairs[[2]string{w, words[i+1]}]; ok {
				return k
			}
		}
	}
	for _, c := range kindChinese {
		if strings.Contains(lower, c.word) && !strings.HasSuffix(lower, "数") && !strings.HasSuffix(lower, "率") {
			return c.kind
		}
	}
	return None
}
