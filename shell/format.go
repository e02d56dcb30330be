package shell

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Column describes one column of a result set.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"` // DuckDB's type name, e.g. DECIMAL(18,2)
}

// numeric reports whether values of the column are numbers (right-aligned
// in table mode, unquoted in JSON).
func (c Column) numeric() bool {
	switch t := c.Type; {
	case strings.HasPrefix(t, "DECIMAL"):
		return true
	default:
		switch t {
		case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
			"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
			"FLOAT", "DOUBLE", "BIGNUM",
			"NUMERIC": // a PostgreSQL numeric through ckm serve
			return true
		}
	}
	return false
}

// nullText is how table and line modes show SQL NULL.
const nullText = "NULL"

// formatText renders a value scanned from DuckDB as text, the way the
// table, CSV and line modes show it. typ is the column's DuckDB type name;
// nested values get their element's formatting.
func formatText(v any, typ string) string {
	switch x := v.(type) {
	case nil:
		return nullText
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return fmt.Sprint(x)
	case float32:
		return formatFloat(float64(x), 32)
	case float64:
		return formatFloat(x, 64)
	case duckdb.Decimal:
		return formatDecimal(x)
	case *big.Int:
		return x.String()
	case time.Time:
		return formatTime(x, typ)
	case duckdb.Interval:
		return formatInterval(x)
	case []byte:
		if typ == "UUID" && len(x) == 16 {
			return formatUUID(x)
		}
		return formatBlob(x)
	case duckdb.UUID:
		return formatUUID(x[:])
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatNested(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		if typ == "JSON" {
			return jsonText(x)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = "'" + k + "': " + formatNested(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case duckdb.OrderedMap:
		keys, vals := x.Keys(), x.Values()
		parts := make([]string, len(keys))
		for i := range keys {
			parts[i] = formatNested(keys[i]) + "=" + formatNested(vals[i])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case duckdb.Map:
		parts := make([]string, 0, len(x))
		for k, e := range x {
			parts = append(parts, formatNested(k)+"="+formatNested(e))
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	case duckdb.Union:
		return formatNested(x.Value)
	}
	if typ == "JSON" {
		return jsonText(v)
	}
	return fmt.Sprint(v)
}

// formatNested formats an element inside a list, struct or map, where the
// element's own type name is not at hand.
func formatNested(v any) string {
	if v == nil {
		return nullText
	}
	if t, ok := v.(time.Time); ok {
		return formatTime(t, "")
	}
	return formatText(v, "")
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// formatDecimal writes a decimal with all the digits of its scale (2.50,
// not 2.5), as money columns are read.
func formatDecimal(d duckdb.Decimal) string {
	if d.Value == nil {
		return nullText
	}
	digits := new(big.Int).Abs(d.Value).String()
	sign := ""
	if d.Value.Sign() < 0 {
		sign = "-"
	}
	scale := int(d.Scale)
	if scale == 0 {
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

// formatTime formats dates, times and timestamps as DuckDB prints them.
func formatTime(t time.Time, typ string) string {
	frac := func(layout string) string {
		if t.Nanosecond() != 0 {
			return layout + ".999999"
		}
		return layout
	}
	switch {
	case typ == "DATE":
		return t.Format("2006-01-02")
	case typ == "TIME":
		return t.Format(frac("15:04:05"))
	case typ == "TIME WITH TIME ZONE" || typ == "TIMETZ":
		return t.Format(frac("15:04:05") + "-07")
	case strings.Contains(typ, "WITH TIME ZONE") || typ == "TIMESTAMPTZ":
		return t.Format(frac("2006-01-02 15:04:05") + "-07")
	case strings.HasPrefix(typ, "TIMESTAMP"):
		return t.Format(frac("2006-01-02 15:04:05"))
	}
	// Inside nested values: a date if it has no time of day.
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format(frac("2006-01-02 15:04:05"))
}

// formatInterval formats an interval as DuckDB does: "1 year 2 months 3
// days 04:05:06".
func formatInterval(iv duckdb.Interval) string {
	var parts []string
	plural := func(n int64, unit string) {
		if n == 0 {
			return
		}
		s := fmt.Sprintf("%d %s", n, unit)
		if n != 1 && n != -1 {
			s += "s"
		}
		parts = append(parts, s)
	}
	plural(int64(iv.Months/12), "year")
	plural(int64(iv.Months%12), "month")
	plural(int64(iv.Days), "day")
	if us := iv.Micros; us != 0 || len(parts) == 0 {
		sign := ""
		if us < 0 {
			sign, us = "-", -us
		}
		h, m, s := us/3_600_000_000, us/60_000_000%60, us/1_000_000%60
		clock := fmt.Sprintf("%s%02d:%02d:%02d", sign, h, m, s)
		if f := us % 1_000_000; f != 0 {
			clock += strings.TrimRight(fmt.Sprintf(".%06d", f), "0")
		}
		parts = append(parts, clock)
	}
	return strings.Join(parts, " ")
}

func formatUUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// formatBlob shows printable ASCII bytes as they are and others as \xNN,
// like DuckDB.
func formatBlob(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '\\' {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, `\x%02X`, c)
		}
	}
	return sb.String()
}

// jsonValue converts a scanned value to what encoding/json writes for it:
// numbers stay numbers (decimals and huge integers exactly), temporal values
// become their text, nested values nest.
func jsonValue(v any, typ string) any {
	switch x := v.(type) {
	case nil, string, bool, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return x
	case float32:
		return jsonFloat(float64(x))
	case float64:
		return jsonFloat(x)
	case duckdb.Decimal:
		return json.Number(formatDecimal(x))
	case json.Number: // exact figures of cube results
		return x
	case *big.Int:
		return json.Number(x.String())
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e, "")
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e, "")
		}
		return out
	case duckdb.OrderedMap:
		keys, vals := x.Keys(), x.Values()
		out := make([]any, len(keys))
		for i := range keys {
			out[i] = map[string]any{"key": jsonValue(keys[i], ""), "value": jsonValue(vals[i], "")}
		}
		return out
	case duckdb.Union:
		return jsonValue(x.Value, "")
	}
	if typ == "JSON" {
		return v
	}
	return formatText(v, typ)
}

// jsonFloat keeps finite floats as numbers; NaN and infinities, which JSON
// cannot hold, become strings.
func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return formatFloat(f, 64)
	}
	return f
}
