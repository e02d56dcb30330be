package clean

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// openWarehouse opens an in-memory warehouse with the cleaning functions.
func openWarehouse(t testing.TB) *engine.Warehouse {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if err := w.Setup(ctx, "clean", Register); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestUDFs(t *testing.T) {
	w := openWarehouse(t)
	ctx := context.Background()
	tests := []struct {
		sql  string
		want any // nil means SQL NULL
	}{
		{`SELECT ckm_id_normalize('110105491231002')`, "11010519491231002X"},
		{`SELECT ckm_id_normalize('11010519491231002x')`, "11010519491231002X"},
		{`SELECT ckm_id_normalize('110105194912310021')`, nil},
		{`SELECT ckm_id_normalize(NULL)`, nil},
		{`SELECT ckm_id_problem('110105194912310021')`, "id_checksum"},
		{`SELECT ckm_id_problem('110105202302300011')`, "id_invalid"},
		{`SELECT ckm_id_problem('11010519491231002X')`, nil},
		{`SELECT ckm_id_problem('')`, nil},
		{`SELECT ckm_id_problem(NULL)`, nil},
		{`SELECT ckm_id_birth('440524188001010014')::VARCHAR`, "1880-01-01"},
		{`SELECT ckm_id_birth('11010519491231002X') = DATE '1949-12-31'`, true},
		{`SELECT ckm_id_birth('bad')`, nil},
		{`SELECT ckm_id_sex('11010519491231002X')`, "F"},
		{`SELECT ckm_id_sex('440524188001010014')`, "M"},
		{`SELECT ckm_id_region('11010519491231002X')`, "110105"},
		{`SELECT ckm_mobile('17951 13800138000')`, "+8613800138000"},
		{`SELECT ckm_mobile('１３８００１３８０００')`, "+8613800138000"},
		{`SELECT ckm_mobile('010-12345678')`, nil},
		{`SELECT ckm_mobile(NULL)`, nil},
		{`SELECT ckm_mobile_problem('010-12345678')`, "mobile_invalid"},
		{`SELECT ckm_mobile_problem('13800138000')`, nil},
		{`SELECT ckm_mobile_problem('')`, nil},
		{`SELECT ckm_email(' A@B.CN ')`, "a@b.cn"},
		{`SELECT ckm_email('nobody')`, nil},
		{`SELECT ckm_email_problem('nobody')`, "email_invalid"},
		{`SELECT ckm_date('1985年3月5日') = DATE '1985-03-05'`, true},
		{`SELECT ckm_date('45292')::VARCHAR`, "2024-01-01"},
		{`SELECT ckm_date('1950-06-30')::VARCHAR`, "1950-06-30"},
		{`SELECT ckm_date('2023-02-30')`, nil},
		{`SELECT ckm_date_problem('2023-02-30')`, "date_invalid"},
		{`SELECT ckm_date_problem('')`, "date_missing"},
		{`SELECT ckm_date_problem(NULL)`, "date_missing"},
		{`SELECT ckm_date_problem('2024/3/5')`, nil},
		{`SELECT ckm_timestamp('2024/3/5 14:22')::VARCHAR`, "2024-03-05 14:22:00"},
		{`SELECT ckm_timestamp('2024-03-05T06:22:31.5Z')::VARCHAR`, "2024-03-05 14:22:31.5"},
		{`SELECT ckm_timestamp('1969-07-20 20:17:40')::VARCHAR`, "1969-07-20 20:17:40"},
		{`SELECT typeof(ckm_timestamp('2024/3/5 14:22'))`, "TIMESTAMP"},
		{`SELECT ckm_timestamp_problem('2024-03-05 25:00')`, "date_invalid"},
		{`SELECT ckm_timestamp_problem(NULL)`, "date_missing"},
		{`SELECT ckm_amount('¥1,299.00')::VARCHAR`, "1299.00"},
		{`SELECT ckm_amount('(12.50)')::VARCHAR`, "-12.50"},
		{`SELECT ckm_amount('9999999999999999.99')::VARCHAR`, "9999999999999999.99"},
		{`SELECT typeof(ckm_amount('1'))`, "DECIMAL(18,2)"},
		{`SELECT ckm_amount('￥1299.5') = 1299.50`, true},
		{`SELECT ckm_amount('abc')`, nil},
		{`SELECT ckm_amount_text('￥1299.5')`, "1299.50"},
		{`SELECT ckm_amount_problem('12.345')`, "amount_invalid"},
		{`SELECT ckm_amount_problem(NULL)`, "amount_missing"},
		{`SELECT ckm_amount_problem('1,299')`, nil},
		{`SELECT ckm_text('  a　 b ')`, "a b"},
		{`SELECT ckm_header_key(chr(65279) || '手机号（必填）')`, "手机号必填"},
	}
	for _, tc := range tests {
		var got any
		if err := w.DB.QueryRowContext(ctx, tc.sql).Scan(&got); err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %#v, want %#v", tc.sql, got, tc.want)
		}
	}
}

// TestUDFsOverTable runs the functions over a column (not constants, which
// DuckDB folds) with NULLs, blanks and repeated values mixed in, and
// compares each result with the Go function.
func TestUDFsOverTable(t *testing.T) {
	w := openWarehouse(t)
	ctx := context.Background()
	values := []string{"13800138000", "+86 138-0013-8000", "bad", "", "17951 13800138000", "１３９１２３４５６７８",
		"11010519491231002X", "110105491231002", "2024/3/5", "2024/3/5 14:22", "¥1,299.00", "(12.50)", "2023-02-30"}
	if _, err := w.DB.ExecContext(ctx, `CREATE TEMP TABLE v (i INTEGER, s VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	// 5000 rows: several vectors of 2048, every 7th row NULL.
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO v SELECT i, CASE WHEN i % 7 = 6 THEN NULL ELSE list_extract($1::VARCHAR[], (i % 13) + 1) END FROM range(5000) r(i)`, values); err != nil {
		t.Fatal(err)
	}
	rows, err := w.DB.QueryContext(ctx, `SELECT s, ckm_mobile(s), ckm_id_normalize(s), ckm_date(s), ckm_timestamp(s), ckm_amount_text(s), ckm_amount(s)::VARCHAR, ckm_date_problem(s) FROM v ORDER BY i`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var s, mobile, id, amount, amountDec, problem sql.NullString
		var d, ts sql.NullTime
		if err := rows.Scan(&s, &mobile, &id, &d, &ts, &amount, &amountDec, &problem); err != nil {
			t.Fatal(err)
		}
		n++
		if !s.Valid {
			if mobile.Valid || id.Valid || d.Valid || ts.Valid || amount.Valid || problem.String != RuleDateMissing {
				t.Fatalf("NULL input gave %v %v %v %v %v %v", mobile, id, d, ts, amount, problem)
			}
			continue
		}
		check := func(what string, got sql.NullString, want string, err error) {
			if got.Valid != (err == nil) || (err == nil && got.String != want) {
				t.Fatalf("%s(%q) = %v in SQL, Go gives %q, %v", what, s.String, got, want, err)
			}
		}
		m, err := Mobile(s.String)
		check("ckm_mobile", mobile, m, err)
		idv, err := ResidentID(s.String)
		check("ckm_id_normalize", id, idv.Number, err)
		a, err := Amount(s.String)
		check("ckm_amount_text", amount, a.String(), err)
		check("ckm_amount", amountDec, a.String(), err)
		dv, err := Date(s.String)
		if d.Valid != (err == nil) || (err == nil && !d.Time.Equal(dv)) {
			t.Fatalf("ckm_date(%q) = %v, Go gives %v, %v", s.String, d, dv, err)
		}
		check("ckm_date_problem", sql.NullString{String: problem.String, Valid: !problem.Valid}, "", err)
		tv, err := Timestamp(s.String)
		if ts.Valid != (err == nil) || (err == nil && !ts.Time.Equal(tv)) {
			t.Fatalf("ckm_timestamp(%q) = %v, Go gives %v, %v", s.String, ts, tv, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 5000 {
		t.Errorf("%d rows, want 5000", n)
	}
}

// mobileRegexpSQL is the regexp_replace equivalent of ckm_mobile for ASCII
// input: strip separators, drop a country code and IP-dial prefix, and
// check libphonenumber's CN mobile pattern.
const mobileRegexpSQL = `CASE WHEN regexp_full_match(d,
	'(?:\+86|0086|86)?(?:17951|17911|12593|17909|10193)?(1740[0-5]\d{6}|1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8})')
	THEN '+86' || right(d, 11) END`

// makeMobiles creates table mob with n dirty mobiles in the forms of
// fixtures/FORMATS.md, about 1 in 6 of them too short and some outside the
// libphonenumber ranges.
func makeMobiles(t testing.TB, w *engine.Warehouse, n int) {
	t.Helper()
	_, err := w.DB.ExecContext(context.Background(), `CREATE OR REPLACE TABLE mob AS
		SELECT i, CASE i % 6
			WHEN 0 THEN x
			WHEN 1 THEN '+86 ' || substr(x, 1, 3) || '-' || substr(x, 4, 4) || '-' || substr(x, 8, 4)
			WHEN 2 THEN '0086 ' || x
			WHEN 3 THEN substr(x, 1, 3) || ' ' || substr(x, 4, 4) || ' ' || substr(x, 8, 4)
			WHEN 4 THEN '17951 ' || x
			ELSE substr(x, 1, 10) END AS m
		FROM (SELECT i, '1' || (3 + i % 7)::VARCHAR || lpad(((i * 7919) % 1000000000)::VARCHAR, 9, '0') AS x
		      FROM range(?) r(i))`, n)
	if err != nil {
		t.Fatal(err)
	}
}

// TestMobileUDFMatchesRegexp checks ckm_mobile against the independent
// regexp formulation, row by row.
func TestMobileUDFMatchesRegexp(t *testing.T) {
	w := openWarehouse(t)
	makeMobiles(t, w, 60000)
	var diff, valid int
	var example sql.NullString
	err := w.DB.QueryRowContext(context.Background(), `
		WITH s AS (SELECT m, ckm_mobile(m) AS a, regexp_replace(m, '[ .()-]', '', 'g') AS d FROM mob)
		SELECT count(*) FILTER (WHERE a IS DISTINCT FROM (`+mobileRegexpSQL+`)),
		       count(a), any_value(m) FILTER (WHERE a IS DISTINCT FROM (`+mobileRegexpSQL+`)) FROM s`).Scan(&diff, &valid, &example)
	if err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		t.Errorf("%d rows differ, e.g. %q", diff, example.String)
	}
	// 5 of 6 forms are well-formed; of the 7 second digits 3-9, prefixes
	// 14x, 16x and 17x are only partly mobile ranges, so valid < 50000.
	if valid < 30000 || valid >= 50000 {
		t.Errorf("%d valid mobiles of 60000, want between 30000 and 50000", valid)
	}
}

func BenchmarkMobileUDF(b *testing.B) { benchMobiles(b, `ckm_mobile(m)`) }
func BenchmarkMobileRegexp(b *testing.B) {
	benchMobiles(b, `(SELECT `+mobileRegexpSQL+` FROM (SELECT regexp_replace(m, '[ .()-]', '', 'g') AS d))`)
}

func benchMobiles(b *testing.B, expr string) {
	w := openWarehouse(b)
	const n = 1_000_000
	makeMobiles(b, w, n)
	ctx := context.Background()
	q := `SELECT count(` + expr + `) FROM mob`
	var valid int
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := w.DB.QueryRowContext(ctx, q).Scan(&valid); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
	b.ReportMetric(float64(valid), "valid")
}

// BenchmarkTypedUDFs times the functions with DATE, TIMESTAMP and DECIMAL
// results (row executor) and ID normalisation over a million rows.
func BenchmarkTypedUDFs(b *testing.B) {
	w := openWarehouse(b)
	ctx := context.Background()
	const n = 1_000_000
	_, err := w.DB.ExecContext(ctx, `CREATE TABLE dirty AS SELECT
		CASE i % 3 WHEN 0 THEN strftime(DATE '2000-01-01' + (i % 9000)::INTEGER, '%Y-%m-%d')
			WHEN 1 THEN strftime(DATE '2000-01-01' + (i % 9000)::INTEGER, '%Y/%-m/%-d')
			ELSE strftime(DATE '2000-01-01' + (i % 9000)::INTEGER, '%Y%m%d') END AS d,
		strftime(TIMESTAMP '2024-01-01' + to_seconds(i * 31), '%Y/%-m/%-d %H:%M') AS ts,
		'¥' || (i % 100000)::VARCHAR || '.' || lpad((i % 100)::VARCHAR, 2, '0') AS amount,
		'1101051949123' || lpad((i % 10000)::VARCHAR, 4, '0') || 'X' AS id
		FROM range(?) r(i)`, n)
	if err != nil {
		b.Fatal(err)
	}
	for _, expr := range []string{"ckm_date(d)", "ckm_timestamp(ts)", "ckm_amount(amount)", "ckm_id_normalize(id)"} {
		b.Run(expr[:strings.IndexByte(expr, '(')], func(b *testing.B) {
			var valid int
			start := time.Now()
			for b.Loop() {
				if err := w.DB.QueryRowContext(ctx, `SELECT count(`+expr+`) FROM dirty`).Scan(&valid); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
			b.ReportMetric(float64(valid), "valid")
		})
	}
}

// TestUDFCorrelatedArgument: a cleaning function (bound with a context
// binder, which asks DuckDB for its arguments at bind time) given a
// correlated subquery answers, or errs, without taking the process down.
func TestUDFCorrelatedArgument(t *testing.T) {
	w := openWarehouse(t)
	ctx := context.Background()
	if _, err := w.DB.ExecContext(ctx, `CREATE TEMP TABLE c AS SELECT i, '1380013800' || CAST(i AS VARCHAR) AS s FROM range(3) r(i)`); err != nil {
		t.Fatal(err)
	}
	var got string
	err := w.DB.QueryRowContext(ctx, `SELECT string_agg(ckm_mobile((SELECT s FROM c c2 WHERE c2.i = c.i)), ',' ORDER BY i) FROM c`).Scan(&got)
	if err == nil && got != "+8613800138000,+8613800138001,+8613800138002" {
		t.Errorf("got %q", got)
	}
	if err != nil && !strings.Contains(err.Error(), "ckm_mobile") && !strings.Contains(strings.ToLower(err.Error()), "subquery") {
		t.Errorf("error %v names neither the function nor the subquery", err)
	}
	t.Logf("correlated argument: %q, %v", got, err)
}

// TestTypedUDFsOverChunks runs the DATE, TIMESTAMP and DECIMAL functions,
// and a problem function (its NULL result is special),
// over many vectors whose valid, invalid and NULL values come in runs
// that cross DuckDB's 2,048-row vectors: a result row is NULL exactly
// where the value is bad or NULL, whatever an earlier vector held there,
// and every valid value is the one expected (counted and summed apart
// from the functions, in Go).
func TestTypedUDFsOverChunks(t *testing.T) {
	w := openWarehouse(t)
	ctx := context.Background()
	const n = 10000
	var valid, sumDays, sumCents int64
	for i := int64(0); i < n; i++ {
		if i%7 == 0 || (i/1500)%2 == 1 {
			continue
		}
		valid++
		sumDays += i % 28
		sumCents += 100*(i%1000) + 50
	}
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE v AS SELECT i,
		CASE WHEN i % 7 = 0 THEN NULL WHEN (i // 1500) % 2 = 1 THEN 'bad' ELSE '2024/3/' || (1 + i % 28) || ' 14:22' END AS ts,
		CASE WHEN i % 7 = 0 THEN NULL WHEN (i // 1500) % 2 = 1 THEN 'x1' ELSE '￥' || (i % 1000) || '.50' END AS amt
		FROM range(10000) t(i)`); err != nil {
		t.Fatal(err)
	}
	var nTS, nDate, nAmt, days, cents int64
	var hms sql.NullString
	if err := w.DB.QueryRowContext(ctx, `SELECT count(ckm_timestamp(ts)), count(ckm_date(split_part(ts, ' ', 1))), count(ckm_amount(amt)),
		sum(day(ckm_timestamp(ts)) - 1), CAST(sum(ckm_amount(amt)) * 100 AS BIGINT),
		string_agg(DISTINCT strftime(ckm_timestamp(ts), '%H:%M:%S'), ',')
		FROM v`).Scan(&nTS, &nDate, &nAmt, &days, &cents, &hms); err != nil {
		t.Fatal(err)
	}
	if nTS != valid || nDate != valid || nAmt != valid {
		t.Fatalf("valid results: timestamp %d, date %d, amount %d; want %d each", nTS, nDate, nAmt, valid)
	}
	if days != sumDays || cents != sumCents || hms.String != "14:22:00" {
		t.Fatalf("sums: days %d (want %d), cents %d (want %d), times %q (want 14:22:00)", days, sumDays, cents, sumCents, hms.String)
	}
	// A problem function gives its rule for NULL too (special NULL
	// handling): date_missing on the NULLs, date_invalid on the bad, none
	// on the valid values.
	var missing, invalid, none int64
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE p = 'date_missing'), count(*) FILTER (WHERE p = 'date_invalid'),
		count(*) FILTER (WHERE p IS NULL) FROM (SELECT ckm_timestamp_problem(ts) AS p FROM v)`).Scan(&missing, &invalid, &none); err != nil {
		t.Fatal(err)
	}
	if nulls := int64((n + 6) / 7); missing != nulls || invalid != n-nulls-valid || none != valid {
		t.Fatalf("problems: missing %d, invalid %d, none %d; want %d, %d, %d", missing, invalid, none, nulls, n-nulls-valid, valid)
	}
}
