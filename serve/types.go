package serve

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgtype"
)

// column is one column of a result as the client sees it: its name, the
// PostgreSQL type it is sent as, and DuckDB's type name.
type column struct {
	Name     string
	OID      uint32
	DuckType string
}

// typeModifier is the type modifier PostgreSQL sends with a column of
// the DuckDB type duck: numeric(p,s) for DECIMAL(p,s) ((p << 16 | s) + 4,
// so a client knows the precision and scale), -1 (none) for the others.
func typeModifier(duck string) int32 {
	var p, s int32
	if n, err := fmt.Sscanf(strings.ToUpper(duck), "DECIMAL(%d,%d)", &p, &s); err != nil || n != 2 || p < 1 || s < 0 || s > p {
		return -1
	}
	return (p<<16 | s) + 4
}

// typeOID maps a DuckDB type name to the PostgreSQL type a client decodes:
// exact where PostgreSQL has the type, else text (lists, structs, maps and
// unsigned or huge integers that do not fit are sent in their text form).
func typeOID(duck string) uint32 {
	t := strings.ToUpper(duck)
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = t[:i]
	}
	switch {
	case strings.HasSuffix(t, "[]") || strings.HasPrefix(t, "STRUCT") || strings.HasPrefix(t, "MAP") || strings.HasPrefix(t, "UNION"):
		return pgtype.TextOID
	}
	switch t {
	case "BOOLEAN":
		return pgtype.BoolOID
	case "TINYINT", "SMALLINT", "UTINYINT":
		return pgtype.Int2OID
	case "INTEGER", "USMALLINT":
		return pgtype.Int4OID
	case "BIGINT", "UINTEGER":
		return pgtype.Int8OID
	case "UBIGINT", "HUGEINT", "UHUGEINT", "DECIMAL", "BIGNUM", "VARINT":
		return pgtype.NumericOID
	case "FLOAT":
		return pgtype.Float4OID
	case "DOUBLE":
		return pgtype.Float8OID
	case "DATE":
		return pgtype.DateOID
	case "TIME":
		return pgtype.TimeOID
	case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS":
		return pgtype.TimestampOID
	case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ":
		return pgtype.TimestamptzOID
	case "INTERVAL":
		return pgtype.IntervalOID
	case "BLOB":
		return pgtype.ByteaOID
	case "UUID":
		return pgtype.UUIDOID
	case "JSON":
		return pgtype.JSONOID
	}
	return pgtype.TextOID
}

// typeSize is the pg_type.typlen a RowDescription announces (-1: varlena).
func typeSize(oid uint32) int16 {
	switch oid {
	case pgtype.BoolOID:
		return 1
	case pgtype.Int2OID:
		return 2
	case pgtype.Int4OID, pgtype.Float4OID, pgtype.DateOID:
		return 4
	case pgtype.Int8OID, pgtype.Float8OID, pgtype.TimestampOID, pgtype.TimestamptzOID, pgtype.TimeOID:
		return 8
	case pgtype.IntervalOID, pgtype.UUIDOID:
		return 16
	}
	return -1
}

// textValue is a DuckDB value in PostgreSQL's text format for a column of
// type oid.
func textValue(v any, oid uint32) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []byte(x)
	case []byte:
		switch {
		case oid == pgtype.ByteaOID:
			return []byte(`\x` + fmt.Sprintf("%x", x))
		case oid == pgtype.UUIDOID && len(x) == 16:
			return []byte(fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16]))
		}
		return x
	case bool:
		if x {
			return []byte("t")
		}
		return []byte("f")
	case float64:
		return []byte(strconv.FormatFloat(x, 'g', -1, 64))
	case float32:
		return []byte(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case time.Time:
		switch oid {
		case pgtype.DateOID:
			return []byte(x.Format("2006-01-02"))
		case pgtype.TimeOID:
			return []byte(x.Format("15:04:05.999999"))
		case pgtype.TimestamptzOID:
			return []byte(x.Format("2006-01-02 15:04:05.999999-07"))
		}
		return []byte(x.Format("2006-01-02 15:04:05.999999"))
	case duckdb.Decimal:
		return []byte(decimalText(x))
	case *big.Int:
		return []byte(x.String())
	case duckdb.UUID:
		return []byte(x.String())
	case *duckdb.UUID:
		return []byte(x.String())
	case duckdb.Interval:
		return []byte(intervalText(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = string(textValue(e, pgtype.TextOID))
			}
		}
		return []byte("[" + strings.Join(parts, ", ") + "]")
	}
	return []byte(fmt.Sprint(v))
}

// intervalText is an interval in PostgreSQL's style: "1 mons 2 days
// -03:04:05.000006".
func intervalText(x duckdb.Interval) string {
	sign, us := "", x.Micros
	if us < 0 {
		sign, us = "-", -us
	}
	h, m, sec, frac := us/3_600_000_000, us/60_000_000%60, us/1_000_000%60, us%1_000_000
	return fmt.Sprintf("%d mons %d days %s%02d:%02d:%02d.%06d", x.Months, x.Days, sign, h, m, sec, frac)
}

// encodeValue writes v for the client in the format it asked for (0 text,
// 1 binary). Binary values are encoded by pgtype from the text form, so
// both formats say the same.
func encodeValue(m *pgtype.Map, v any, oid uint32, format int16) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if format == pgtype.TextFormatCode || oid == pgtype.TextOID {
		return textValue(v, oid), nil
	}
	var native any
	switch x := v.(type) {
	case bool, int16, int32, int64, float32, float64, string, time.Time:
		native = x
	case int8:
		native = int16(x)
	case uint8:
		native = int16(x)
	case uint16:
		native = int32(x)
	case uint32:
		native = int64(x)
	case int:
		native = int64(x)
	case []byte:
		native = x
	}
	if oid == pgtype.NumericOID || oid == pgtype.JSONOID || native == nil {
		// Decode the text form into the type's own value, then encode it.
		t, ok := m.TypeForOID(oid)
		if !ok {
			return textValue(v, oid), nil
		}
		val, err := t.Codec.DecodeValue(m, oid, pgtype.TextFormatCode, textValue(v, oid))
		if err != nil {
			return nil, fmt.Errorf("encode %T as type %d: %w", v, oid, err)
		}
		native = val
	}
	if oid == pgtype.NumericOID {
		if s, ok := native.(string); ok {
			var n pgtype.Numeric
			if err := n.Scan(s); err != nil {
				return nil, err
			}
			native = n
		}
	}
	return m.Encode(oid, format, native, nil)
}

// decodeParam turns a client's parameter into a value DuckDB binds: the
// type's Go value where pgtype knows it, else the text.
func decodeParam(m *pgtype.Map, oid uint32, format int16, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	if format == pgtype.TextFormatCode {
		switch oid {
		case 0, pgtype.TextOID, pgtype.VarcharOID, pgtype.UnknownOID, pgtype.NumericOID:
			return string(src), nil
		}
	}
	t, ok := m.TypeForOID(oid)
	if !ok {
		if format != pgtype.TextFormatCode {
			return nil, fmt.Errorf("parameter of type %d in binary format is not supported", oid)
		}
		return string(src), nil
	}
	v, err := t.Codec.DecodeValue(m, oid, format, src)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case pgtype.Numeric:
		f, err := x.Value()
		if err != nil {
			return nil, err
		}
		return f, nil
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16]), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	}
	return v, nil
}

// oidOfType maps a prepared statement's column or parameter type to the
// PostgreSQL type, as typeOID does for type names; 0 (unknown) for a
// parameter DuckDB could not type.
func oidOfType(t duckdb.Type) uint32 {
	switch t {
	case duckdb.TYPE_INVALID, duckdb.TYPE_ANY:
		return 0
	case duckdb.TYPE_BOOLEAN:
		return pgtype.BoolOID
	case duckdb.TYPE_TINYINT, duckdb.TYPE_SMALLINT, duckdb.TYPE_UTINYINT:
		return pgtype.Int2OID
	case duckdb.TYPE_INTEGER, duckdb.TYPE_USMALLINT:
		return pgtype.Int4OID
	case duckdb.TYPE_BIGINT, duckdb.TYPE_UINTEGER:
		return pgtype.Int8OID
	case duckdb.TYPE_UBIGINT, duckdb.TYPE_HUGEINT, duckdb.TYPE_UHUGEINT, duckdb.TYPE_DECIMAL:
		return pgtype.NumericOID
	case duckdb.TYPE_FLOAT:
		return pgtype.Float4OID
	case duckdb.TYPE_DOUBLE:
		return pgtype.Float8OID
	case duckdb.TYPE_DATE:
		return pgtype.DateOID
	case duckdb.TYPE_TIME:
		return pgtype.TimeOID
	case duckdb.TYPE_TIMESTAMP, duckdb.TYPE_TIMESTAMP_S, duckdb.TYPE_TIMESTAMP_MS, duckdb.TYPE_TIMESTAMP_NS:
		return pgtype.TimestampOID
	case duckdb.TYPE_TIMESTAMP_TZ:
		return pgtype.TimestamptzOID
	case duckdb.TYPE_INTERVAL:
		return pgtype.IntervalOID
	case duckdb.TYPE_BLOB:
		return pgtype.ByteaOID
	case duckdb.TYPE_UUID:
		return pgtype.UUIDOID
	}
	return pgtype.TextOID
}

// decimalText renders a DECIMAL with its scale, as PostgreSQL sends a
// numeric(p,s): 18897.30, not 18897.3.
func decimalText(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	s := new(big.Int).Abs(d.Value).String()
	if d.Scale > 0 {
		for len(s) <= int(d.Scale) {
			s = "0" + s
		}
		s = s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	}
	if d.Value.Sign() < 0 {
		s = "-" + s
	}
	return s
}
