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
	"hong kong": "HK", "macau": "MO", "macao": "MO", "taiwan": "TW", "ivory coast": "CI", "cote d'ivoire": "CI",
	"north macedonia": "MK", "eswatini": "SZ", "turkiye": "TR", "türkiye": "TR", "burma": "MM", "viet nam": "VN",
}

// iso3166 are the officially assigned ISO 3166-1 alpha-2 codes.
const iso3166 = `AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`

var (
	countryOnce   sync.Once
	countryByName map[string]string
)

// countryTable maps the alpha-2 and alpha-3 codes and the English names
// (CLDR's, and common others) of every ISO 3166-1 country to its alpha-2
// code.
func countryTable() map[string]string {
	countryOnce.Do(func() {
		countryByName = map[string]string{}
		names := display.English.Regions()
		for _, code := range strings.Fields(iso3166) {
			countryByName[strings.ToLower(code)] = code
			r, err := language.ParseRegion(code)
			if err != nil {
				continue
			}
			if iso3 := r.ISO3(); len(iso3) == 3 && iso3 != "ZZZ" {
				countryByName[strings.ToLower(iso3)] = code
			}
			if n := names.Name(r); n != "" {
				countryByName[strings.ToLower(n)] = code
				countryByName[strings.ToLower(strings.ReplaceAll(n, "&", "and"))] = code
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
	if d == 0 {
		// −0.0001: the sign is not in the whole cents; read it with one.
		if d1, err := clean.Amount(t[:i+1] + "01" + t[j:]); err == nil && d1 < 0 {
			return "-" + d.String() + extra, true
		}
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
