package clean

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ckm-dev/ckm/privacy"
)

// The fuzz targets check properties of the cleaners, not only that they do
// not panic: normalised values re-normalise to themselves, check characters
// verify, output shapes hold, and independent parsers agree where their
// inputs overlap. Run one at a time, e.g.
//
//	go test ./etl/clean -run '^$' -fuzz '^FuzzMobile$' -fuzztime 60s

func checkRule(t *testing.T, fn, in string, err error, rules ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s(%q): error %v is not a *Error", fn, in, err)
	}
	if e.Value != in {
		t.Fatalf("%s(%q): error carries value %q", fn, in, e.Value)
	}
	for _, r := range rules {
		if e.Rule == r {
			return
		}
	}
	t.Fatalf("%s(%q): rule %q, want one of %v", fn, in, e.Rule, rules)
}

func FuzzResidentID(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "11010519491231002x", "110105491231002", "440524188001010014",
		"440524800101996", "１１０１０５１９４９１２３１００２Ｘ", " 110105194912310021 ",
		"110105202302300011", "1101051949123100", "1.10105E+17", "", "X", "00000000000000000X",
		"110105999912310020", "\uFEFF11010519491231002X",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ResidentID(s)
		if err != nil {
			checkRule(t, "ResidentID", s, err, RuleIDMissing, RuleIDInvalid, RuleIDChecksum)
			if RuleOf(err) == RuleIDChecksum {
				// Fixing the check character must make it valid.
				v := strings.ToUpper(fold(s))
				fixed := v[:17] + string(CheckChar(v[:17]))
				if _, err := ResidentID(fixed); err != nil {
					t.Fatalf("%q with its check character fixed (%q): %v", s, fixed, err)
				}
			}
			return
		}
		n := id.Number
		if len(n) != 18 || CheckChar(n[:17]) != n[17] || checkCharRecursive(n[:17]) != n[17] {
			t.Fatalf("ResidentID(%q).Number = %q: bad layout or check character", s, n)
		}
		again, err := ResidentID(n)
		if err != nil || again != id {
			t.Fatalf("ResidentID(%q) = %+v, re-normalised %+v, %v", s, id, again, err)
		}
		if id.RegionCode != n[:6] || id.Birth.Format("20060102") != n[6:14] {
			t.Fatalf("ResidentID(%q) = %+v: region or birth do not match the number", s, id)
		}
		if wantM := (n[16]-'0')%2 == 1; (id.Sex == 'M') != wantM || (id.Sex != 'M' && id.Sex != 'F') {
			t.Fatalf("ResidentID(%q) sex %c for sequence digit %c", s, id.Sex, n[16])
		}
		if id.Birth.Year() < minBirthYear || id.Birth.After(today()) {
			t.Fatalf("ResidentID(%q) birth %v out of range", s, id.Birth)
		}
		// Every spelling the cleaner accepts masks to the region code
		// alone (the one ID mask of package privacy), or — spelled in
		// compatibility characters privacy does not fold — whole.
		if m := privacy.MaskID(s); m != n[:6]+"************" && strings.Trim(m, "*") != "" {
			t.Fatalf("privacy.MaskID(%q) = %q, want %q", s, m, n[:6]+"************")
		}
	})
}

var e164CN = regexp.MustCompile(`^\+861[3-9]\d{9}$`)

func FuzzMobile(f *testing.F) {
	for _, s := range []string{
		"13800138000", "+86 138-0013-8000", "0086 13800138000", "138 0013 8000", "１３８００１３８０００",
		"17951 13800138000", "8613800138000", "(+86)138.0013.8000", "010-12345678", "1380013800",
		"+1 415 555 2671", "17401234567", "14612345678", "", "+", "86", "+86", "0086",
		"12593-19912345678", "13800138000 ext 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Mobile(s)
		if err != nil {
			checkRule(t, "Mobile", s, err, RuleMobileMissing, RuleMobileInvalid)
			return
		}
		if !e164CN.MatchString(m) || !libphonenumberCNMobile.MatchString(m[3:]) {
			t.Fatalf("Mobile(%q) = %q: not a CN mobile in E.164", s, m)
		}
		for _, again := range []string{m, m[3:], "0086" + m[3:], m[1:]} {
			if got, err := Mobile(again); got != m || err != nil {
				t.Fatalf("Mobile(%q) = %q but Mobile(%q) = %q, %v", s, m, again, got, err)
			}
		}
		// Every spelling the cleaner accepts gives the one mobile mask of
		// package privacy, or — spelled in compatibility characters
		// privacy does not fold — at most 4 characters shown.
		want := "+86 " + m[3:6] + "****" + m[10:]
		if got := privacy.MaskMobile(s); got != want && utf8.RuneCountInString(strings.ReplaceAll(got, "*", "")) > 4 {
			t.Fatalf("privacy.MaskMobile(%q) = %q, want %q", s, got, want)
		}
	})
}

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func FuzzDate(f *testing.F) {
	for _, s := range []string{
		"1985-03-05", "1985/3/5", "19850305", "1985年3月5日", "1985.3.5", "45292", "60", "0",
		"2023-02-30", "2024-02-29", "２０２４／３／５", "2024-03-05 14:22:31", "2024-03-05T20:00:00Z",
		"", "2024年13月1日", "9999-12-31", "1000-01-01", "0999-12-31",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Date(s)
		if isoDate.MatchString(s) && s >= "1000" {
			// Go's own parser is the oracle for the plain ISO form.
			want, perr := time.Parse("2006-01-02", s)
			if (perr == nil) != (err == nil) || (err == nil && !d.Equal(want)) {
				t.Fatalf("Date(%q) = %v, %v; time.Parse gives %v, %v", s, d, err, want, perr)
			}
		}
		if err != nil {
			checkRule(t, "Date", s, err, RuleDateMissing, RuleDateInvalid)
			return
		}
		if d.Location() != time.UTC || d.Hour() != 0 || d.Minute() != 0 || d.Second() != 0 || d.Nanosecond() != 0 {
			t.Fatalf("Date(%q) = %v: not midnight UTC", s, d)
		}
		if d.Year() < minYear || d.Year() > 9999 {
			t.Fatalf("Date(%q) = %v: year out of range", s, d)
		}
		for _, layout := range []string{"2006-01-02", "2006/1/2", "20060102", "2006年1月2日", "2006.01.02"} {
			if again, err := Date(d.Format(layout)); err != nil || !again.Equal(d) {
				t.Fatalf("Date(%q) = %v but Date(%q) = %v, %v", s, d, d.Format(layout), again, err)
			}
		}
	})
}

func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{
		"2024/3/5 14:22", "2024-03-05 14:22:31", "2024-03-05T14:22:31+08:00", "2024-03-05T06:22:31Z",
		"2024-03-05T14:22:31.123456789-05:30", "20240305142231", "2024-03-05", "45292.5", "45292",
		"2024-03-05 24:00", "2023-02-30 10:00", "", "2024年3月5日 9:05", "2024-03-05 06:22:31 UTC",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := Timestamp(s)
		if want, perr := time.Parse(time.RFC3339Nano, s); perr == nil && want.Year() >= minYear && want.Year() <= 9999 {
			// Go's RFC 3339 parser is the oracle: the same instant, as a
			// naive China wall-clock time.
			y, mo, d := want.In(chinaTime).Date()
			h, mi, sec := want.In(chinaTime).Clock()
			wall := time.Date(y, mo, d, h, mi, sec, want.Nanosecond(), time.UTC)
			if err != nil || !ts.Equal(wall) {
				t.Fatalf("Timestamp(%q) = %v, %v; time.Parse gives %v", s, ts, err, wall)
			}
		}
		if err != nil {
			checkRule(t, "Timestamp", s, err, RuleDateMissing, RuleDateInvalid)
			return
		}
		if ts.Location() != time.UTC {
			t.Fatalf("Timestamp(%q) = %v: not a naive (UTC) time", s, ts)
		}
		out := ts.Format("2006-01-02 15:04:05.999999999")
		if again, err := Timestamp(out); err != nil || !again.Equal(ts) {
			t.Fatalf("Timestamp(%q) = %v but Timestamp(%q) = %v, %v", s, ts, out, again, err)
		}
		if d, err := Date(s); err != nil || !d.Equal(ts.Truncate(24*time.Hour)) {
			// Every timestamp has a date, except Excel serials with a fraction,
			// which Date refuses.
			if !strings.Contains(fold(s), ".") || RuleOf(err) != RuleDateInvalid {
				t.Fatalf("Timestamp(%q) = %v but Date gives %v, %v", s, ts, d, err)
			}
		}
	})
}

var plainAmount = regexp.MustCompile(`^-?\d{1,16}(\.\d{1,2})?$`)
var amountShape = regexp.MustCompile(`^-?\d+\.\d{2}$`)

func FuzzAmount(f *testing.F) {
	for _, s := range []string{
		"¥1,299.00", "1299", "￥1299.5", "(12.50)", "-12.50", "RMB 88", "88元", "1，299.00", "12.345",
		"12.500", "1e3", "", "-", "9999999999999999.99", "10000000000000000", "12,99", ".5", "－１２.５",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Amount(s)
		if plainAmount.MatchString(s) {
			// big.Rat is the oracle for plain decimals.
			r, _ := new(big.Rat).SetString(s)
			want := new(big.Rat).Mul(r, big.NewRat(100, 1))
			if err != nil || !want.IsInt() || want.Num().Int64() != d.Cents() {
				t.Fatalf("Amount(%q) = %v, %v; want %v hundredths", s, d, err, want)
			}
		}
		if err != nil {
			checkRule(t, "Amount", s, err, RuleAmountMissing, RuleAmountInvalid)
			return
		}
		str := d.String()
		if !amountShape.MatchString(str) || d > MaxAmount || d < -MaxAmount {
			t.Fatalf("Amount(%q) = %s: bad shape or range", s, str)
		}
		for in, want := range map[string]Decimal{str: d, "(" + str + ")": -d, "¥" + str: d, str + "元": d} {
			if strings.HasPrefix(str, "-") && strings.HasPrefix(in, "(") {
				if _, err := Amount(in); RuleOf(err) != RuleAmountInvalid {
					t.Fatalf("Amount(%q) = %v, want amount_invalid: a sign inside parentheses", in, err)
				}
				continue
			}
			if got, err := Amount(in); err != nil || got != want {
				t.Fatalf("Amount(%q) = %s but Amount(%q) = %v, %v", s, str, in, got, err)
			}
		}
	})
}

func FuzzMapHeaders(f *testing.F) {
	f.Add("会员卡号|姓名|身份证号|手机|邮箱|性别")
	f.Add("\uFEFF会员卡号|手机号|联系电话")
	f.Add("姓名|PHONE|Mobile_No.|备注")
	f.Add("||卡号|卡号|")
	f.Add("电话|会员卡号")
	fields := append(crmFields[:len(crmFields):len(crmFields)], FieldSpec{Name: "phone2", Aliases: []string{"电话", "tel"}},
		FieldSpec{Name: "phone3", Aliases: []string{"电话"}})
	keysOf := map[string]map[string]bool{}
	for _, fs := range fields {
		keysOf[fs.Name] = map[string]bool{HeaderKey(fs.Name): true}
		for _, a := range fs.Aliases {
			keysOf[fs.Name][HeaderKey(a)] = true
		}
	}
	f.Fuzz(func(t *testing.T, row string) {
		headers := strings.Split(row, "|")
		m, err := MatchHeaders(headers, fields)
		used := map[int]string{}
		for name, col := range m.Columns {
			if col < 0 || col >= len(headers) || used[col] != "" {
				t.Fatalf("%q: field %s at bad or reused column %d", row, name, col)
			}
			used[col] = name
			if !keysOf[name][HeaderKey(headers[col])] {
				t.Fatalf("%q: field %s mapped to header %q", row, name, headers[col])
			}
		}
		for _, col := range m.Extra {
			for name, keys := range keysOf {
				if keys[HeaderKey(headers[col])] && HeaderKey(headers[col]) != "" {
					t.Fatalf("%q: extra column %d %q matches field %s", row, col, headers[col], name)
				}
			}
		}
		if err == nil {
			if len(m.Columns)+len(m.Extra) != len(headers) {
				t.Fatalf("%q: %d mapped + %d extra != %d headers", row, len(m.Columns), len(m.Extra), len(headers))
			}
			for _, fs := range fields {
				if _, ok := m.Columns[fs.Name]; fs.Required && !ok {
					t.Fatalf("%q: required %s missing without an error", row, fs.Name)
				}
			}
			return
		}
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			he, ok := e.(*HeaderError)
			if !ok {
				t.Fatalf("%q: %v is not a *HeaderError", row, e)
			}
			switch he.Rule {
			case RuleHeaderMissing:
				if _, ok := m.Columns[he.Field]; ok {
					t.Fatalf("%q: %s reported missing but mapped", row, he.Field)
				}
			case RuleHeaderDup:
				if he.Column < 1 || he.Column > len(headers) || he.OtherAt < 1 || he.OtherAt >= he.Column ||
					headers[he.Column-1] != he.Header || m.Columns[he.Field] != he.OtherAt-1 {
					t.Fatalf("%q: bad duplicate report %+v", row, he)
				}
			case RuleHeaderAmbiguous:
				if len(he.Fields) < 2 || headers[he.Column-1] != he.Header {
					t.Fatalf("%q: bad ambiguity report %+v", row, he)
				}
			default:
				t.Fatalf("%q: unknown rule %q", row, he.Rule)
			}
			if !strings.Contains(err.Error(), he.Error()) {
				t.Fatalf("%q: joined error lacks %q", row, he.Error())
			}
		}
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"a@b.cn", " Zhang.San@Example.COM ", "ｚｈａｎｇ＠ｑｑ．ｃｏｍ", "a@b", "@", "a@@b.cn", "用户@例子.中国"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Email(s)
		if err != nil {
			checkRule(t, "Email", s, err, RuleEmailMissing, RuleEmailInvalid)
			return
		}
		if again, err := Email(e); err != nil || again != e {
			t.Fatalf("Email(%q) = %q but Email(%q) = %q, %v", s, e, e, again, err)
		}
		if strings.Count(e, "@") != 1 || e != strings.ToLower(e) || strings.TrimSpace(e) != e {
			t.Fatalf("Email(%q) = %q: bad shape", s, e)
		}
	})
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"  鑫联百货  ", "a  b\t\tc\n", "Ａｐｐｌｅ　ｉＰｈｏｎｅ", "\uFEFF商品\u200B名称", "手机号（必填）"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x := Text(s)
		if Text(x) != x {
			t.Fatalf("Text(%q) = %q, Text of that = %q", s, x, Text(x))
		}
		if strings.Contains(x, "  ") || strings.TrimSpace(x) != x {
			t.Fatalf("Text(%q) = %q: white space left", s, x)
		}
		k := HeaderKey(s)
		if HeaderKey(k) != k || HeaderKey(x) != k {
			t.Fatalf("HeaderKey(%q) = %q, of itself %q, of Text %q", s, k, HeaderKey(k), HeaderKey(x))
		}
	})
}
