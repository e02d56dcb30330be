package etl

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// jsonEdgeCases are inputs at the edges of json.Valid's grammar: white
// space, literals, numbers, escapes, bytes in strings, nesting, and what
// may follow a value.
var jsonEdgeCases = []string{
	"", " ", "\n\t\r ", "\f1", "\v1", "\u00a01", "1\u00a0", "\x00", "1\x00",
	"null", "true", "false", "nul", "tru", "fals", "nulll", "truex", "True", "NULL", "nan", "NaN", "Infinity", "-Infinity",
	"0", "-0", "00", "-00", "01", "-01", "1", "-", "+1", "--1", "1-", "1.", ".1", "-.1", "1.0", "1.01", "0.0", "1..0", "1.0.0",
	"1e", "1e+", "1e-", "1e5", "1E5", "1e+5", "1E-05", "1e05", "1.5e3", "1.e3", "1e3.5", "1e3e3", "1ee3", "0e0", "-0.0e-0",
	"123456789012345678901234567890", "1e999999", "0x10", "1_000", " 1 ", "1 2", "1,", "[1 2]", "0 ", "-0 ",
	`""`, `"`, `"a`, `"a"`, `"a""`, `"a" "b"`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\a"`, `"\x41"`, `"\'"`, `"\0"`,
	`"\u"`, `"\u1"`, `"\u12"`, `"\u123"`, `"\u1234"`, `"\u12345"`, `"\uABCD"`, `"\uabcd"`, `"\uGHIJ"`, `"\u123g"`, `"\U1234"`,
	`"\ud800"`, `"\udc00\ud800"`, "\"\\u12\"", "\"\\", "\"\\u",
	"\"\x00\"", "\"\x1f\"", "\"\x20\"", "\"\x7f\"", "\"\t\"", "\"\n\"", "\"\x80\"", "\"\xff\"", "\"\xc3\x28\"", "\"\xed\xa0\x80\"",
	"\"\xef\xbb\xbf\"", "\xef\xbb\xbf1", "\"é中😀\"", "é", "\x80",
	"[]", "[", "]", "[[]]", "[[]", "[]]", "[,]", "[1,]", "[,1]", "[1,,2]", "[1 , 2]", "[ ]", "[\n]", "[1]x", "[1] [2]", "[1],",
	"{}", "{", "}", "{ }", `{"a":1}`, `{"a":1,}`, `{,"a":1}`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{"a"::1}`, `{a:1}`, `{'a':1}`, `{1:1}`,
	`{"a":1 "b":2}`, `{"a":1,"b":2}`, `{"a":1,"a":2}`, ` { "a" : [ 1 , { } , [ ] , "x" ] } `, `{"a":[}`, `{"a":{]}`, `[{]}`, `[}`, `{]`,
	`{"":""}`, `{"a":1}}`, `{"a":1}]`, `[1]]`, `{"a":{"b":{"c":[true,false,null]}}}`, `[-]`, `[-0]`, `[0.]`, `[.0]`, `[1e]`,
	"[1\x00]", "[\x00]", "{\"a\"\x00:1}", "[true\x00]", "[null,]", "[nul]", "[truefalse]", "[true false]", "[1true]", "[\"a\"1]",
	strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
	strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
	strings.Repeat("[", maxJSONDepth-1) + "{}" + strings.Repeat("]", maxJSONDepth-1),
	strings.Repeat("[", maxJSONDepth) + "{}" + strings.Repeat("]", maxJSONDepth),
	strings.Repeat("[", maxJSONDepth) + "1" + strings.Repeat("]", maxJSONDepth),
	strings.Repeat(`{"a":`, maxJSONDepth) + "1" + strings.Repeat("}", maxJSONDepth),
	strings.Repeat(`{"a":`, maxJSONDepth+1) + "1" + strings.Repeat("}", maxJSONDepth+1),
	strings.Repeat(`{"a":[`, maxJSONDepth/2) + strings.Repeat("]}", maxJSONDepth/2),
	strings.Repeat(`{"a":[`, maxJSONDepth/2) + "[]" + strings.Repeat("]}", maxJSONDepth/2),
	strings.Repeat("[", 100000), strings.Repeat("[", 100000) + strings.Repeat("]", 100000), strings.Repeat("{", 100000),
	strings.Repeat("[", 10) + strings.Repeat("]", 11), strings.Repeat("[", 11) + strings.Repeat("]", 10),
}

func TestValidJSONMatchesJSONValid(t *testing.T) {
	for _, s := range jsonEdgeCases {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%.80q) = %v, json.Valid says %v", s, got, want)
		}
	}
}

// TestValidJSONRandom compares validJSON with json.Valid on random JSON
// values and on the same values with bytes inserted, deleted, changed or
// cut off.
func TestValidJSONRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2024))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	var valid int
	for i := 0; i < n; i++ {
		b := randomJSON(rng, nil, 0)
		if i%4 != 0 {
			b = mutateJSON(rng, b)
		}
		got, want := validJSON(b), json.Valid(b)
		if got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
		if want {
			valid++
		}
	}
	// Both verdicts must be common for the comparison to mean much.
	if valid < n/10 || valid > n*9/10 {
		t.Fatalf("%d of %d random inputs valid", valid, n)
	}
}

// jsonBytes are the bytes mutations insert: JSON's structure and escapes,
// its white space and some that are not, controls, and bytes of UTF-8 and
// not.
const jsonBytes = "{}[],:\"\\/ \t\r\n\f\v\x00\x1f-+.0123456789eEubfnrtalsxAF\x7f\x80\xbf\xc3\xe4\xff"

func mutateJSON(rng *rand.Rand, b []byte) []byte {
	for k := 1 + rng.IntN(3); k > 0; k-- {
		i := rng.IntN(len(b) + 1)
		switch rng.IntN(5) {
		case 0: // insert
			b = append(b[:i], append([]byte{jsonBytes[rng.IntN(len(jsonBytes))]}, b[i:]...)...)
		case 1: // delete
			if i < len(b) {
				b = append(b[:i], b[i+1:]...)
			}
		case 2: // change
			if i < len(b) {
				b[i] = jsonBytes[rng.IntN(len(jsonBytes))]
			}
		case 3: // flip a bit
			if i < len(b) {
				b[i] ^= 1 << rng.IntN(8)
			}
		case 4: // cut
			b = b[:i]
		}
	}
	return b
}

// randomJSON appends a random JSON value, with random white space around
// its parts, to b.
func randomJSON(rng *rand.Rand, b []byte, depth int) []byte {
	b = randomJSONSpace(rng, b)
	k := rng.IntN(10)
	if depth > 4 {
		k = 2 + rng.IntN(8) // no deeper
	}
	switch k {
	case 0:
		b = append(b, '[')
		for n, i := rng.IntN(4), 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = randomJSON(rng, b, depth+1)
		}
		b = append(randomJSONSpace(rng, b), ']')
	case 1:
		b = append(b, '{')
		for n, i := rng.IntN(4), 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = randomJSONString(rng, randomJSONSpace(rng, b))
			b = append(randomJSONSpace(rng, b), ':')
			b = randomJSON(rng, b, depth+1)
		}
		b = append(randomJSONSpace(rng, b), '}')
	case 2, 3, 4:
		b = randomJSONString(rng, b)
	case 5, 6, 7:
		b = randomJSONNumber(rng, b)
	default:
		b = append(b, []string{"true", "false", "null"}[rng.IntN(3)]...)
	}
	return randomJSONSpace(rng, b)
}

func randomJSONSpace(rng *rand.Rand, b []byte) []byte {
	if rng.IntN(3) == 0 {
		for n := rng.IntN(3); n >= 0; n-- {
			b = append(b, " \t\r\n"[rng.IntN(4)])
		}
	}
	return b
}

func randomJSONString(rng *rand.Rand, b []byte) []byte {
	b = append(b, '"')
	for n := rng.IntN(8); n > 0; n-- {
		switch rng.IntN(8) {
		case 0:
			b = append(b, '\\', `bfnrt\/"`[rng.IntN(8)])
		case 1:
			b = append(b, `\u`...)
			for i := 0; i < 4; i++ {
				b = append(b, "0123456789abcdefABCDEF"[rng.IntN(22)])
			}
		case 2:
			b = append(b, []string{"é", "中", "😀", "\x80", "\xff", "\xc3", "\xed\xa0\x80", "\x7f"}[rng.IntN(8)]...)
		default:
			b = append(b, byte('a'+rng.IntN(26)))
		}
	}
	return append(b, '"')
}

func randomJSONNumber(rng *rand.Rand, b []byte) []byte {
	if rng.IntN(3) == 0 {
		b = append(b, '-')
	}
	if rng.IntN(4) == 0 {
		b = append(b, '0')
	} else {
		b = strconv.AppendUint(b, rng.Uint64N(1<<uint(rng.IntN(64))), 10)
	}
	if rng.IntN(3) == 0 {
		b = strconv.AppendUint(append(b, '.'), rng.Uint64N(1000), 10)
	}
	if rng.IntN(3) == 0 {
		b = append(b, "eE"[rng.IntN(2)])
		if k := rng.IntN(3); k > 0 {
			b = append(b, "+-"[k-1])
		}
		b = strconv.AppendUint(b, rng.Uint64N(400), 10)
	}
	return b
}

// FuzzValidJSON compares validJSON with json.Valid on any input.
func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonEdgeCases {
		if len(s) < 1000 {
			f.Add([]byte(s))
		}
	}
	for _, b := range badFiles(f, ".ndjson") {
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(l) < 1000 {
				f.Add(l)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	line := []byte(`{"order_id":"W00000004","created_at":"2024-01-01T00:06:56+08:00","customer":{"mobile":"14791332674"},` +
		`"shipping":{"province":"内蒙古自治区","city":"呼和浩特市"},"lines":[{"sku":"P00064","qty":1,"price":"49.00","discount":"0.00"},` +
		`{"sku":"P00039","qty":2,"price":"909.00","discount":"-1.5e2"}],"note":"a \"quoted\" word\n\u4e2d"}`)
	for _, v := range []struct {
		name  string
		valid func([]byte) bool
	}{{"json.Valid", json.Valid}, {"validJSON", validJSON}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if !v.valid(line) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
