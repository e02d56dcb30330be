// Package clean holds the cleaning functions of the ckm ETL: pure Go parsers
// that turn the dirty values of Chinese retail exports (resident ID numbers,
// mobiles, emails, dates, timestamps, money amounts, free text and header
// names) into canonical values, or into a typed *Error that names the
// validation rule the value broke (id_checksum, mobile_invalid, …; see
// fixtures/FORMATS.md). The same functions are registered as DuckDB scalar
// functions (ckm_id_normalize, ckm_mobile, ckm_date, …) by Register, so the
// loader cleans whole staging tables with SQL.
//
// Every function here is safe for concurrent use and never panics on any
// input; the fuzz targets in fuzz_test.go check that and more.
package clean
