package etl

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl/clean"
	"github.com/ckm-dev/ckm/etl/region"
)

// Register makes the ETL's SQL functions available in the warehouse (once):
// the cleaners of etl/clean, the identity step's graph functions
// (identity_labels.go) and the region lookups
//
//	ckm_region_code(province, city) VARCHAR  GB/T 2260 code of free-text names
//	ckm_region_of(code)             VARCHAR  most specific known region of a code (retired codes fall back)
//	ckm_region_in_text(text)        VARCHAR  the city a text such as a store name starts with
//	ckm_country(text)               VARCHAR  ISO 3166 alpha-2 code of a country code or English name
//	ckm_unit_price(text)            VARCHAR  a unit price to four decimals ("12.3450")
func Register(ctx context.Context, w *engine.Warehouse) error {
	if err := w.Setup(ctx, "clean", clean.Register); err != nil {
		return err
	}
	if err := w.Setup(ctx, "region", RegisterRegionFuncs); err != nil {
		return err
	}
	if err := w.Setup(ctx, "labels", registerLabelFuncs); err != nil {
		return err
	}
	return w.Setup(ctx, "mapping", registerMappingFuncs)
}

// RegisterRegionFuncs registers the region lookup functions on conn's database.
func RegisterRegionFuncs(ctx context.Context, conn *sql.Conn) error {
	varchar, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	if err != nil {
		return err
	}
	byName := &regionUDF{in: []duckdb.TypeInfo{varchar, varchar}, out: varchar, fn: func(v []driver.Value) any {
		prov, _ := v[0].(string)
		city, _ := v[1].(string)
		if r, ok := region.ByName(prov, city); ok {
			return r.Code
		}
		return nil
	}}
	of := &regionUDF{in: []duckdb.TypeInfo{varchar}, out: varchar, fn: func(v []driver.Value) any {
		code, _ := v[0].(string)
		if r, ok := region.ProvinceOfID(code); ok {
			return r.Code
		}
		return nil
	}}
	inText := &regionUDF{in: []duckdb.TypeInfo{varchar}, out: varchar, fn: func(v []driver.Value) any {
		text, _ := v[0].(string)
		if r, ok := RegionInText(text); ok {
			return r.Code
		}
		return nil
	}}
	for name, f := range map[string]*regionUDF{"ckm_region_code": byName, "ckm_region_of": of, "ckm_region_in_text": inText} {
		if err := duckdb.RegisterScalarUDF(conn, name, f); err != nil {
			return err
		}
	}
	return nil
}

// RegionInText finds the city (or municipality) a text such as a store
// name starts with: 深圳福田店 → 深圳市, 北京王府井店 → 北京市. It tries the
// longest prefix first and takes only names that are unique in China.
func RegionInText(text string) (region.Region, bool) {
	runes := []rune(strings.TrimSpace(text))
	for n := min(len(runes), 6); n >= 2; n-- {
		prefix := string(runes[:n])
		if r, ok := region.ByName("", prefix); ok {
			return r, true
		}
		if r, ok := region.ByName(prefix, prefix); ok && r.Level == region.LevelCity {
			return r, true
		}
	}
	return region.Region{}, false
}

// regionUDF calls fn per row; NULLs in give NULL out unless fn handles them.
type regionUDF struct {
	in  []duckdb.TypeInfo
	out duckdb.TypeInfo
	fn  func([]driver.Value) any
}

func (u *regionUDF) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: u.in, ResultTypeInfo: u.out, SpecialNullHandling: true}
}

func (u *regionUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		return u.fn(values), nil
	}}
}
