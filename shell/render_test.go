package shell

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

func renderRows(t *testing.T, mode string, lim limits, cols []Column, rows [][]any) string {
	t.Helper()
	var b strings.Builder
	r := newRenderer(mode, &b, lim)
	if err := r.begin(cols); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if err := r.row(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.end(int64(len(rows))); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTableLimitsRows(t *testing.T) {
	cols := []Column{{"n", "INTEGER"}}
	var rows [][]any
	for i := 1; i <= 10; i++ {
		rows = append(rows, []any{int32(i)})
	}
	got := renderRows(t, ModeTable, limits{MaxRows: 4}, cols, rows)
	want := `┌─────────┐
│ n       │
│ integer │
├─────────┤
│       1 │
│       2 │
│ …       │
│       9 │
│      10 │
└─────────┘
(10 rows, 4 shown)
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// At the limit nothing is cut.
	if got := renderRows(t, ModeTable, limits{MaxRows: 10}, cols, rows); strings.Contains(got, "…") || !strings.HasSuffix(got, "(10 rows)\n") {
		t.Errorf("10 rows under a limit of 10 were cut:\n%s", got)
	}
}

func TestTableLimitsWidth(t *testing.T) {
	cols := []Column{{"a", "VARCHAR"}, {"b", "VARCHAR"}, {"c", "VARCHAR"}, {"d", "VARCHAR"}, {"e", "VARCHAR"}}
	rows := [][]any{{"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddddddddd", "一二三四五六七八九十"}}
	// a to d take 13 display columns each (10 + 3), e 23; 58 fits the outer
	// border, the ellipsis column (4) and, taken from both edges, a, e and b
	// (1 + 4 + 13 + 23 + 13 = 54); d would need 13 more.
	got := renderRows(t, ModeTable, limits{MaxWidth: 58, MaxCellWidth: 20}, cols, rows)
	want := `┌────────────┬────────────┬───┬──────────────────────┐
│ a          │ b          │ … │ e                    │
│ varchar    │ varchar    │ … │ varchar              │
├────────────┼────────────┼───┼──────────────────────┤
│ aaaaaaaaaa │ bbbbbbbbbb │ … │ 一二三四五六七八九十 │
└────────────┴────────────┴───┴──────────────────────┘
(1 row; 5 columns, 3 shown)
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, line := range strings.Split(strings.TrimSpace(got), "\n")[:6] {
		if w := DisplayWidth(line); w > 58 {
			t.Errorf("line %q is %d columns wide", line, w)
		}
	}
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		in   string
		w    int
		want string
	}{
		{"abcdef", 6, "abcdef"}, {"abcdef", 4, "abc…"}, {"张三丰你好", 6, "张三…"}, {"张三丰你好", 5, "张三…"}, {"", 3, ""},
	}
	for _, c := range cases {
		if got := truncate(c.in, c.w); got != c.want || DisplayWidth(got) > c.w {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
	}
}

func TestFormatText(t *testing.T) {
	ts := time.Date(2024, 3, 1, 9, 5, 7, 120000000, time.UTC)
	cases := []struct {
		v    any
		typ  string
		want string
	}{
		{nil, "INTEGER", "NULL"},
		{duckdb.Decimal{Width: 18, Scale: 2, Value: big.NewInt(250)}, "DECIMAL(18,2)", "2.50"},
		{duckdb.Decimal{Width: 18, Scale: 2, Value: big.NewInt(-5)}, "DECIMAL(18,2)", "-0.05"},
		{duckdb.Decimal{Width: 18, Scale: 0, Value: big.NewInt(-12)}, "DECIMAL(18,0)", "-12"},
		{duckdb.Decimal{Width: 18, Scale: 3, Value: big.NewInt(0)}, "DECIMAL(18,3)", "0.000"},
		{ts, "DATE", "2024-03-01"},
		{ts, "TIMESTAMP", "2024-03-01 09:05:07.12"},
		{ts.Truncate(time.Second), "TIMESTAMP", "2024-03-01 09:05:07"},
		{time.Date(1, 1, 1, 10, 30, 0, 0, time.UTC), "TIME", "10:30:00"},
		{duckdb.Interval{Months: 14, Days: 3, Micros: 3_723_500_000}, "INTERVAL", "1 year 2 months 3 days 01:02:03.5"},
		{duckdb.Interval{Days: 1}, "INTERVAL", "1 day"},
		{duckdb.Interval{}, "INTERVAL", "00:00:00"},
		{[]byte{0xb6, 0x58, 0x4f, 0x62, 0xef, 0x38, 0x40, 0x63, 0x84, 0xd0, 0x33, 0xdd, 0x9a, 0xf4, 0x65, 0x57}, "UUID", "b6584f62-ef38-4063-84d0-33dd9af46557"},
		{[]byte("a\x00b"), "BLOB", `a\x00b`},
		{1.5, "DOUBLE", "1.5"},
		{float32(0.1), "FLOAT", "0.1"},
		{big.NewInt(1), "HUGEINT", "1"},
		{[]any{"a", nil, int32(3)}, "VARCHAR[]", "[a, NULL, 3]"},
		{map[string]any{"x": 1, "b": "y"}, "JSON", `{"b":"y","x":1}`},
		{map[string]any{"x": int32(1), "b": "y"}, `STRUCT(x INTEGER, b VARCHAR)`, "{'b': y, 'x': 1}"},
	}
	for _, c := range cases {
		if got := formatText(c.v, c.typ); got != c.want {
			t.Errorf("formatText(%#v, %s) = %q, want %q", c.v, c.typ, got, c.want)
		}
	}
}

func TestJSONObject(t *testing.T) {
	cols := []Column{{"a", "DECIMAL(18,2)"}, {"a", "DOUBLE"}, {"t", "DATE"}, {"h", "HUGEINT"}, {"s", "VARCHAR"}}
	got, err := jsonObject(jsonKeys(cols), cols, []any{
		duckdb.Decimal{Width: 18, Scale: 2, Value: big.NewInt(100)}, 0.25,
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), new(big.Int).Lsh(big.NewInt(1), 70), "<张>&"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a": 1.00, "a_2": 0.25, "t": "2024-02-29", "h": 1180591620717411303424, "s": "<张>&"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
