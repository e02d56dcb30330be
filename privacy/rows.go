package privacy

import (
	"fmt"
	"reflect"
	"strings"
)

// RowMasker masks the personal data in the rows of one result set: whole
// values of columns named for personal data, values whose kind another
// column of the row names, and shapes of personal data in any other text.
// It is the last line behind the analyst's masked relations: what a query
// computes from a masked value stays masked, and personal values that
// reach a result some other way are caught by their shape.
type RowMasker struct {
	kinds []Kind
	// Columns whose values are masked by what another column of the row
	// names: the reject ledger's raw_value by its column_name, the identity
	// map's key_value by its key_type. value index → name index.
	namedBy map[int]int
}

// namedValues are the pairs of (name, value) columns ckm's own tables use
// to hold a value of any column.
var namedValues = [][2]string{{"column_name", "raw_value"}, {"column", "raw_value"}, {"key_type", "key_value"}}

// NewRowMasker returns a masker for rows with these column names.
func NewRowMasker(columns []string) *RowMasker {
	m := &RowMasker{kinds: make([]Kind, len(columns)), namedBy: map[int]int{}}
	index := map[string]int{}
	for i, c := range columns {
		m.kinds[i] = ColumnKind(c)
		index[strings.ToLower(c)] = i
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

// Mask masks vals, one row of the result, in place.
func (m *RowMasker) Mask(vals []any) {
	for i, v := range vals {
		if v == nil {
			continue
		}
		k := m.kinds[i]
		if n, ok := m.namedBy[i]; ok && k == None {
			if name, ok := vals[n].(string); ok {
				k = ColumnKind(name)
				if k == None && strings.EqualFold(name, "name") {
					k = Name
				}
			}
		}
		if k != None {
			switch x := v.(type) {
			case string:
				vals[i] = Mask(k, x)
				continue
			case []byte:
				vals[i] = []byte(Mask(k, string(x)))
				continue
			case int64, int32, uint64, uint32, int, float64:
				// A mobile or ID number stored as a number.
				vals[i] = Mask(k, fmt.Sprint(x))
				continue
			}
		}
		vals[i] = MaskValue(v)
	}
}

// MaskValue masks the shapes of personal data in a value's text, looking
// inside blobs, lists, structs and maps.
func MaskValue(v any) any {
	switch x := v.(type) {
	case string:
		return MaskText(x)
	case []byte:
		if s := string(x); MaskText(s) != s {
			return []byte(MaskText(s))
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = MaskValue(e)
		}
		return x
	}
	// Maps of any key type (DuckDB's MAP comes as a named map[any]any).
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Map && rv.Type().Elem().Kind() == reflect.Interface {
		for _, k := range rv.MapKeys() {
			e := rv.MapIndex(k)
			var masked reflect.Value
			if e.IsNil() {
				masked = e
			} else {
				masked = reflect.ValueOf(MaskValue(e.Interface()))
			}
			mk := k
			if ks, ok := k.Interface().(string); ok && MaskText(ks) != ks {
				rv.SetMapIndex(k, reflect.Value{})
				mk = reflect.ValueOf(MaskText(ks))
			}
			rv.SetMapIndex(mk, masked)
		}
	}
	return v
}
