package serve

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestValueTypes sends one value of each DuckDB type a warehouse holds
// through both protocols (text results in the simple one, binary in the
// extended one) and compares what pgx decodes with the literal.
func TestValueTypes(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	cases := []struct {
		expr string
		want string // fmt.Sprint of pgx's value, or of the text for text-typed columns
	}{
		{"CAST(-7 AS TINYINT)", "-7"},
		{"CAST(300 AS SMALLINT)", "300"},
		{"CAST(70000 AS INTEGER)", "70000"},
		{"CAST(5000000000 AS BIGINT)", "5000000000"},
		{"CAST(4000000000 AS UINTEGER)", "4000000000"},
		{"CAST(170141183460469231731687303715884105727 AS HUGEINT)", "170141183460469231731687303715884105727"},
		{"CAST(18446744073709551615 AS UBIGINT)", "18446744073709551615"},
		{"CAST(-1234.5678 AS DECIMAL(18,4))", "-1234.5678"},
		{"CAST(0.5 AS FLOAT)", "0.5"},
		{"CAST(2.25 AS DOUBLE)", "2.25"},
		{"true", "true"},
		{"'中文 text'", "中文 text"},
		{"DATE '2024-02-29'", "2024-02-29"},
		{"TIMESTAMP '2024-02-29 13:45:01.25'", "2024-02-29 13:45:01.25"},
		{"TIME '13:45:01'", "13:45:01"},
		{"INTERVAL 3 DAY", "0 months 3 days 0 us"},
		{"INTERVAL '1 month -2 hours'", "1 months 0 days -7200000000 us"},
		{"CAST('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' AS UUID)", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"CAST('\\x01\\xff' AS BLOB)", "[1 255]"},
		{"[1, 2, NULL]", "[1, 2, NULL]"},
		{"NULL::INTEGER", "<nil>"},
	}
	for _, simple := range []bool{true, false} {
		c := connect(t, srv, "root", simple)
		for _, tc := range cases {
			rows, err := c.Query(ctx, "SELECT "+tc.expr)
			if err != nil {
				t.Errorf("simple=%v %s: %v", simple, tc.expr, err)
				continue
			}
			var got any
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Errorf("simple=%v %s: %v", simple, tc.expr, err)
					break
				}
				got = vals[0]
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				t.Errorf("simple=%v %s: %v", simple, tc.expr, err)
				continue
			}
			if s := show(got); s != tc.want {
				t.Errorf("simple=%v %s = %s (%T), want %s", simple, tc.expr, s, got, tc.want)
			}
		}
	}
}

// show prints a pgx value comparably across protocols.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case pgtype.Numeric:
		f, _ := x.Value()
		return fmt.Sprint(f)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format(time.DateOnly)
		}
		return x.Format("2006-01-02 15:04:05.999999")
	case pgtype.Time:
		return time.UnixMicro(x.Microseconds).UTC().Format("15:04:05.999999")
	case pgtype.Interval:
		return fmt.Sprintf("%d months %d days %d us", x.Months, x.Days, x.Microseconds)
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	}
	return fmt.Sprint(v)
}

// TestParameterTypes binds parameters of each kind a BI tool sends (pgx
// encodes them in binary for the types the server describes) and compares
// each count with the same query in process.
func TestParameterTypes(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	ctx := context.Background()
	var firstTS time.Time
	if err := w.DB.QueryRowContext(ctx, "SELECT min(order_ts) + INTERVAL 3 DAY FROM fact_sales").Scan(&firstTS); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		where string
		arg   any
	}{
		{"order_ts >= ?", firstTS},
		{"CAST(order_ts AS DATE) >= ?", firstTS},
		{"amount > ?", 12.5},
		{"amount > ?", "12.50"},
		{"is_return = ?", true},
		{"source = ?", "web_orders"},
		{"quantity IN (?, ?)", []any{2, int64(3)}},
		{"customer_id > ?", int64(5)},
	}
	for _, simple := range []bool{true, false} {
		c := connect(t, srv, "ana", simple)
		for _, tc := range cases {
			args := []any{tc.arg}
			if list, ok := tc.arg.([]any); ok {
				args = list
			}
			var want, got int64
			if err := w.DB.QueryRowContext(ctx, "SELECT count(*) FROM fact_sales WHERE "+tc.where, args...).Scan(&want); err != nil {
				t.Fatal(err)
			}
			q := "SELECT count(*) FROM fact_sales WHERE " + tc.where
			for i := 1; i <= len(args); i++ {
				q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
			}
			if err := c.QueryRow(ctx, q, args...).Scan(&got); err != nil {
				t.Errorf("simple=%v %s %v: %v", simple, tc.where, args, err)
				continue
			}
			if got != want || want == 0 {
				t.Errorf("simple=%v %s %v: %d over the wire, %d in process (want some)", simple, tc.where, args, got, want)
			}
		}
	}
}

// TestDecimalText: a DECIMAL goes out with its scale, as PostgreSQL sends
// numeric(p,s) (hand-written values).
func TestDecimalText(t *testing.T) {
	for _, c := range []struct {
		v     int64
		scale uint8
		want  string
	}{
		{1889730, 2, "18897.30"}, {-5, 2, "-0.05"}, {0, 2, "0.00"}, {42, 0, "42"}, {-120, 1, "-12.0"},
	} {
		got := string(textValue(duckdb.Decimal{Width: 18, Scale: c.scale, Value: big.NewInt(c.v)}, pgtype.NumericOID))
		if got != c.want {
			t.Errorf("decimal %d scale %d: %q, want %q", c.v, c.scale, got, c.want)
		}
	}
}

// TestTypeModifier: DECIMAL(p,s) goes out as PostgreSQL's numeric(p,s)
// does ((p << 16 | s) + 4: numeric(38,2) is 2490374, psql's own figure);
// other types have none.
func TestTypeModifier(t *testing.T) {
	for duck, want := range map[string]int32{
		"DECIMAL(38,2)": 38<<16 | 2 + 4, "DECIMAL(9,2)": 589830, "decimal(18,0)": 18<<16 + 4,
		"HUGEINT": -1, "INTEGER": -1, "VARCHAR": -1, "DECIMAL": -1, "DECIMAL(2,5)": -1,
	} {
		if got := typeModifier(duck); got != want {
			t.Errorf("typeModifier(%s) = %d, want %d", duck, got, want)
		}
	}
}
