package etl

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"

	"github.com/duckdb/duckdb-go/v2"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/ckm-dev/ckm/etl/clean"
)

// countryAliases are names exports use for countries that are not the
// English short names of CLDR.
var countryAliases = map[string]string{
	"uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
	"eire": "IE", "rsa": "ZA", "usa": "US", "u.s.a.": "US", "united states of america": "US", "america": "US",
	"czech republic": "CZ", "korea": "KR", "south korea": "KR", "russia": "RU", "holland": "NL",
	"the netherlands": "NL", "brasil": "BR", "中国": "CN", "中华人民共和国": "CN", "prc": "CN",
	"hong kong": "HK", "macau": "MO", "macao": "MO", "taiwan": "TW",
}

var (
	countryOnce   sync.Once
	countryByName map[string]string
)

// countryTable maps alpha-2 and alpha-3 codes and English names (CLDR
// short and long forms) of every ISO 3166 country to its alpha-2 code.
func countryTable() map[string]string {
	countryOnce.Do(func() {
		countryByName = map[string]string{}
		names := display.English.Regions()
		for a := 'A'; a <= 'Z'; a++ {
			for b := 'A'; b <= 'Z'; b++ {
				code := string([]rune{a, b})
				r, err := language.ParseRegion(code)
				if err != nil || !r.IsCountry() || r.String() != code {
					continue
				}
				countryByName[strings.ToLower(code)] = code
				if iso3 := r.ISO3(); iso3 != "" {
					countryByName[strings.ToLower(iso3)] = code
				}
				if n := names.Name(r); n != "" {
					countryByName[strings.ToLower(n)] = code
				}
			}
		}
		for k, v := range countryAliases {
			countryByName[k] = v
		}
	})
	return countryByName
}

// Country returns the ISO 3166 alpha-2 code of a country given by code
// (alpha-2 or alpha-3) or English name, or false.
func Country(s string) (string, bool) {
	k := strings.ToLower(strings.Join(strings.Fields(s), " "))
	if k == "" {
		return "", false
	}
	c, ok := countryTable()[k]
	return c, ok
}

// UnitPrice parses a unit price of up to four decimals (a money amount
// with the separators and currency signs clean.Amount reads) as text with
// four decimals, or false.
func UnitPrice(s string) (string, bool) {
	if d, err := clean.Amount(s); err == nil {
		return fmt.Sprintf("%s00", d.String()), true
	}
	// Two more decimals than an amount: read the amount without them.
	t := strings.TrimSpace(s)
	i := strings.LastIndexByte(t, '.')
	if i < 0 {
		return "", false
	}
	j := i + 1
	for j < len(t) && t[j] >= '0' && t[j] <= '9' {
		j++
	}
	frac := t[i+1 : j]
	if len(frac) <= 2 || len(frac) > 4 {
		return "", false
	}
	extra := frac[2:]
	d, err := clean.Amount(t[:i+3] + t[j:])
	if err != nil {
		return "", false
	}
	for len(extra) < 2 {
		extra += "0"
	}
	return d.String() + extra, true
}

// registerMappingFuncs registers ckm_country(v) (ISO 3166 alpha-2 or NULL)
// and ckm_unit_price(v) (text of a price to four decimals, or NULL).
func registerMappingFuncs(ctx context.Context, conn *sql.Conn) error {
	varchar, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	if err != nil {
		return err
	}
	country := &regionUDF{in: []duckdb.TypeInfo{varchar}, out: varchar, fn: func(v []driver.Value) any {
		s, _ := v[0].(string)
		if c, ok := Country(s); ok {
			return c
		}
		return nil
	}}
	price := &regionUDF{in: []duckdb.TypeInfo{varchar}, out: varchar, fn: func(v []driver.Value) any {
		s, _ := v[0].(string)
		if p, ok := UnitPrice(s); ok {
			return p
		}
		return nil
	}}
	for name, f := range map[string]*regionUDF{"ckm_country": country, "ckm_unit_price": price} {
		if err := duckdb.RegisterScalarUDF(conn, name, f); err != nil {
			return err
		}
	}
	return nil
}
