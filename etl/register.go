package etl

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl/clean"
	"github.com/ckm-dev/ckm/etl/region"
)

// Register makes the ETL's SQL functions available in the warehouse (once):
// the cleaners of etl/clean and the region lookups
//
//	ckm_region_code(province, city) VARCHAR  GB/T 2260 code of free-text names
//	ckm_region_of(code)             VARCHAR  most specific known region of a code (retired codes fall back)
func Register(ctx context.Context, w *engine.Warehouse) error {
	if err := w.Setup(ctx, "clean", clean.Register); err != nil {
		return err
	}
	return w.Setup(ctx, "region", RegisterRegionFuncs)
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
	if err := duckdb.RegisterScalarUDF(conn, "ckm_region_code", byName); err != nil {
		return err
	}
	return duckdb.RegisterScalarUDF(conn, "ckm_region_of", of)
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
