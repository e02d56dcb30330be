package etl

import (
	"context"
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/etl/clean"
)

// memoFastValues are staged values that take, or narrowly miss, a memo's
// fast path: plain codes, numbers and times, and their near misses
// (spaces around or doubled, a tab, full-width digits, an ideographic
// space, a zero-width space, impossible dates, hours and years out of
// range, other time layouts).
var memoFastValues = []string{
	"", " ", "  ", "a", "A b", "a  b", " a", "a ", "\ta", "a\tb", "a\u3000b", "a\u200bb", "\u00a0a",
	"M00001234", "P00017", "S01", "Store 7", "E03", "北京朝阳店", "ＡＢＣ", "Ｍ0001", "x\x7fy", "~!@#$%^&*()_+{}|:\"<>?",
	"1", "2", "3", "0", "-1", "1.0", "1.5", "2.50", "１", "1e3", "+4", "12346.0", "12346.00", "12346.5", ".0", "007",
	"2147483647", "2147483648", "-2147483648", "99999999999999999", "1,000",
	"two", "NaN", "inf", "CN", "cn", "China", "GB", "United Kingdom", "PAID", "Cancelled", "CANCELLED", "C",
	"2024-01-01 08:00:29", "2024-02-29 23:59:59", "2023-02-29 10:00:00", "2024-02-30 10:00:00", "2024-04-31 00:00:00",
	"2024-13-01 00:00:00", "2024-00-10 00:00:00", "2024-01-00 00:00:00", "2024-01-32 00:00:00", "2024-01-01 24:00:00",
	"2024-01-01 23:60:00", "2024-01-01 23:59:60", "0999-01-01 00:00:00", "1000-01-01 00:00:00", "1900-02-29 12:00:00",
	"9999-12-31 23:59:59", "2024-01-01  08:00:29", " 2024-01-01 08:00:29", "2024-01-01 08:00:29 ", "2024-01-01T08:00:29",
	"2024-01-01 08:00", "2024-01-01 8:00:29", "2024/1/5 14:22", "2024-1-5 14:22:00", "20240105142231", "2024-01-01",
	"2024-01-01 08:00:29.5", "2024-01-01 08:00:29+08:00", "2024-01-01 08:00:29Z", "45292", "45292.5", "２０２４-01-01 08:00:29",
}

// TestMemoFastPathsChangeNothing: every memo's cleaned value (its fast
// path where the guard matches) equals its Go-calling expression on every
// value above and on random printable ASCII, in DuckDB.
func TestMemoFastPathsChangeNothing(t *testing.T) {
	ctx := context.Background()
	w := openMem(t)
	if err := Register(ctx, w); err != nil {
		t.Fatal(err)
	}
	values := append([]string(nil), memoFastValues...)
	r := rand.New(rand.NewSource(9))
	for range 2000 {
		b := make([]byte, 1+r.Intn(12))
		for i := range b {
			b[i] = byte(' ' + r.Intn(95))
			if r.Intn(20) == 0 {
				b[i] = "\t\n\r\x7f"[r.Intn(4)]
			}
		}
		values = append(values, string(b))
	}
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE v (x VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if _, err := w.DB.ExecContext(ctx, `INSERT INTO v VALUES (?)`, v); err != nil {
			t.Fatal(err)
		}
	}
	fastHits := map[string]int{}
	for _, m := range salesMemos {
		if m.fast == nil {
			continue
		}
		rows, err := w.DB.QueryContext(ctx, fmt.Sprintf(`SELECT x, CAST(%s AS VARCHAR), CAST(%s AS VARCHAR), regexp_full_match(x, '%s') FROM v
			WHERE %s IS DISTINCT FROM %s OR regexp_full_match(x, '%s')`,
			m.cleaned("x"), m.expr("x"), m.guard, m.cleaned("x"), m.expr("x"), m.guard))
		if err != nil {
			t.Fatalf("%s: %v", m.out, err)
		}
		for rows.Next() {
			var x string
			var fast, slow *string
			var hit bool
			if err := rows.Scan(&x, &fast, &slow, &hit); err != nil {
				t.Fatal(err)
			}
			if (fast == nil) != (slow == nil) || (fast != nil && *fast != *slow) {
				t.Errorf("%s of %q: fast path %v, ckm's functions %v", m.out, x, deref(fast), deref(slow))
			}
			if hit {
				fastHits[m.out]++
			}
		}
		rows.Close()
	}
	// The fast paths were taken: every memo with one has values that hit it.
	for _, m := range salesMemos {
		if m.fast != nil && fastHits[m.out] == 0 {
			t.Errorf("%s: no value took the fast path", m.out)
		}
	}
	// The times plainTimestamp matches: four real ones (2024-01-01,
	// 2024-02-29, 1000-01-01, 9999-12-31) and four impossible days
	// (2023-02-29, 2024-02-30, 2024-04-31, 1900-02-29) that the cast and
	// ckm_timestamp both make NULL.
	if fastHits["ts_v"] != 8 {
		t.Errorf("ts_v: %d values took the fast path, want the 8 listed times in range", fastHits["ts_v"])
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// TestPlainTextIsClean: a value plainText matches (as Go's RE2 reads it,
// the same syntax as DuckDB's) is one clean.Text returns unchanged, with
// nothing for trim to remove; and DuckDB's regexp_full_match agrees with
// Go's on every test value.
func TestPlainTextIsClean(t *testing.T) {
	re := regexp.MustCompile(`^(?:` + plainText + `)$`)
	values := append([]string(nil), memoFastValues...)
	for c := 0; c < 256; c++ {
		values = append(values, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b", "a "+string([]byte{byte(c)}))
	}
	matched := 0
	for _, v := range values {
		if !re.MatchString(v) {
			continue
		}
		matched++
		if got := clean.Text(v); got != v {
			t.Errorf("%q matches plainText but clean.Text gives %q", v, got)
		}
		if strings.Trim(v, " ") != v {
			t.Errorf("%q matches plainText but has spaces to trim", v)
		}
	}
	if matched < 100 {
		t.Errorf("only %d values matched plainText", matched)
	}
	w := openMem(t)
	for _, v := range values {
		var duck bool
		if err := w.DB.QueryRow(`SELECT regexp_full_match(?, '`+plainText+`')`, v).Scan(&duck); err != nil {
			// DuckDB refuses invalid UTF-8 as a VARCHAR parameter; such a
			// value never reaches a staging table.
			continue
		}
		if duck != re.MatchString(v) {
			t.Errorf("%q: DuckDB's regexp_full_match %v, Go's RE2 %v", v, duck, !duck)
		}
	}
}
