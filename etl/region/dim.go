package region

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// loadDimSQL upserts every region into dim_region in one statement: the
// regions travel as one tab-separated text parameter that DuckDB splits.
// Existing rows with the same key (an older edition, or a member inferred
// by a load that met the code first) are brought up to date; the special
// members −1..−4 have no six-digit key and are left alone.
const loadDimSQL = `
INSERT INTO dim_region (region_key, region_code, level, province_code, province, city_code, city, county_code, county)
SELECT CAST(f[1] AS INTEGER), f[1], f[2],
       NULLIF(f[3], ''), NULLIF(f[4], ''), NULLIF(f[5], ''), NULLIF(f[6], ''), NULLIF(f[7], ''), NULLIF(f[8], '')
FROM (SELECT string_split(line, chr(9)) AS f
      FROM (SELECT unnest(string_split(?, chr(10))) AS line)
      WHERE line <> '')
ON CONFLICT (region_key) DO UPDATE SET
    region_code = excluded.region_code, level = excluded.level,
    province_code = excluded.province_code, province = excluded.province,
    city_code = excluded.city_code, city = excluded.city,
    county_code = excluded.county_code, county = excluded.county`

// LoadDim fills the warehouse's dim_region table with every region of the
// embedded table (region_key is the integer value of the code). It is
// idempotent: running it again changes nothing.
func LoadDim(ctx context.Context, tx *sql.Tx) error {
	t, err := get()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range t.regions {
		fields := []string{r.Code, r.Level, r.ProvinceCode, r.Province, r.CityCode, r.City, r.CountyCode, r.County}
		for i, f := range fields {
			if strings.ContainsAny(f, "\t\n") {
				return fmt.Errorf("load dim_region: region %s has a tab or newline in %q", r.Code, f)
			}
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(f)
		}
		b.WriteByte('\n')
	}
	if _, err := tx.ExecContext(ctx, loadDimSQL, b.String()); err != nil {
		return fmt.Errorf("load dim_region: %w", err)
	}
	return nil
}
