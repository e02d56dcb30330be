// Package region ships China's administrative division code table
// (GB/T 2260: province > prefecture-level city > county) as data inside ckm.
//
// The table is the Ministry of Civil Affairs list of county-level and higher
// divisions as of the end of 2024 (see SOURCE.md), embedded from
// gbt2260.csv. The package resolves six-digit codes (Lookup, and
// ProvinceOfID for the address code of an ID number, which may be a retired
// code), free-text province and city names as CRM exports write them
// (ByName), and fills the warehouse's dim_region dimension (LoadDim).
//
// Two conventions keep every county under a province and a city:
//   - the four municipalities (北京, 天津, 上海, 重庆) get a city row
//     xx0100 named after the municipality, which older editions of GB/T 2260
//     called 市辖区; all their districts and counties sit under it;
//   - county-level units administered directly by a province (济源 419001,
//     仙桃 429004, the 4690xx counties of Hainan, the 6590xx cities of
//     Xinjiang) are their own city: their CityCode and City are their own.
package region
