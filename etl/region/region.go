package region

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Edition is the year whose year-end code list gbt2260.csv holds.
const Edition = "2024"

// Levels of a Region.
const (
	LevelProvince = "province"
	LevelCity     = "city"
	LevelCounty   = "county"
)

//go:embed gbt2260.csv
var tableCSV string

// Region is one division of the GB/T 2260 table with the names of the
// divisions above it. Fields of levels below the region's own are empty.
type Region struct {
	Code         string // six-digit code
	Name         string // official name, e.g. 南山区
	Level        string // province | city | county
	ProvinceCode string
	Province     string
	CityCode     string
	City         string
	CountyCode   string
	County       string
}

// table is the parsed code list with its indexes.
type table struct {
	regions   []Region       // ordered by code
	byCode    map[string]int // code -> index in regions
	provinces []Region       // the province-level rows, ordered by code
	shorts    []string       // provinceShort of each of provinces
	// cityLike holds, per province code, the rows ByName may match as a
	// city: prefecture-level cities and the county-level units the
	// province administers directly.
	cityLike map[string][]Region
	// digestValue is the md5 of the rows LoadDim stores (see digest).
	digestOnce  sync.Once
	digestValue string
}

var (
	loadOnce  sync.Once
	loaded    *table
	loadError error
)

// get parses the embedded table once.
func get() (*table, error) {
	loadOnce.Do(func() {
		loaded, loadError = parse(strings.NewReader(tableCSV))
		if loadError != nil {
			loadError = fmt.Errorf("region: embedded gbt2260.csv: %w", loadError)
		}
	})
	return loaded, loadError
}

// row is one line of gbt2260.csv.
type row struct {
	code, name, level, parent string
	line                      int
}

// parse reads a code,name,level,parent_code table and resolves each row's
// province and city through its parents.
func parse(r io.Reader) (*table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 4
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if strings.Join(header, ",") != "code,name,level,parent_code" {
		return nil, fmt.Errorf("line 1: header %q, want code,name,level,parent_code", strings.Join(header, ","))
	}
	var rows []row
	index := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		rw := row{code: rec[0], name: rec[1], level: rec[2], parent: rec[3], line: line}
		if !isCode(rw.code) {
			return nil, fmt.Errorf("line %d: code %q is not six digits", line, rw.code)
		}
		if rw.name == "" {
			return nil, fmt.Errorf("line %d: code %s has no name", line, rw.code)
		}
		if _, dup := index[rw.code]; dup {
			return nil, fmt.Errorf("line %d: code %s appears twice", line, rw.code)
		}
		index[rw.code] = len(rows)
		rows = append(rows, rw)
	}
	t := &table{regions: make([]Region, len(rows)), byCode: make(map[string]int, len(rows))}
	for i, rw := range rows {
		reg, err := resolve(rw, rows, index)
		if err != nil {
			return nil, err
		}
		t.regions[i] = reg
	}
	sort.Slice(t.regions, func(i, j int) bool { return t.regions[i].Code < t.regions[j].Code })
	t.cityLike = map[string][]Region{}
	for i, reg := range t.regions {
		t.byCode[reg.Code] = i
		switch {
		case reg.Level == LevelProvince:
			t.provinces = append(t.provinces, reg)
			t.shorts = append(t.shorts, provinceShort(reg.Name))
		case reg.Level == LevelCity, reg.Level == LevelCounty && reg.CityCode == reg.Code:
			t.cityLike[reg.ProvinceCode] = append(t.cityLike[reg.ProvinceCode], reg)
		}
	}
	return t, nil
}

// resolve fills a row's province and city from its parent chain.
func resolve(rw row, rows []row, index map[string]int) (Region, error) {
	reg := Region{Code: rw.code, Name: rw.name, Level: rw.level}
	parent := func() (row, error) {
		i, ok := index[rw.parent]
		if !ok {
			return row{}, fmt.Errorf("line %d: %s %s: parent %q is not in the table", rw.line, rw.code, rw.name, rw.parent)
		}
		return rows[i], nil
	}
	switch rw.level {
	case LevelProvince:
		if rw.parent != "" {
			return reg, fmt.Errorf("line %d: province %s has parent %q", rw.line, rw.code, rw.parent)
		}
		reg.ProvinceCode, reg.Province = rw.code, rw.name
	case LevelCity:
		p, err := parent()
		if err != nil {
			return reg, err
		}
		if p.level != LevelProvince {
			return reg, fmt.Errorf("line %d: city %s has parent %s of level %s", rw.line, rw.code, p.code, p.level)
		}
		reg.ProvinceCode, reg.Province = p.code, p.name
		reg.CityCode, reg.City = rw.code, rw.name
	case LevelCounty:
		p, err := parent()
		if err != nil {
			return reg, err
		}
		reg.CountyCode, reg.County = rw.code, rw.name
		switch p.level {
		case LevelCity:
			pi, ok := index[p.parent]
			if !ok {
				return reg, fmt.Errorf("line %d: city %s has no province", rw.line, p.code)
			}
			reg.ProvinceCode, reg.Province = rows[pi].code, rows[pi].name
			reg.CityCode, reg.City = p.code, p.name
		case LevelProvince:
			// Administered directly by the province: it is its own city.
			reg.ProvinceCode, reg.Province = p.code, p.name
			reg.CityCode, reg.City = rw.code, rw.name
		default:
			return reg, fmt.Errorf("line %d: county %s has parent %s of level %s", rw.line, rw.code, p.code, p.level)
		}
	default:
		return reg, fmt.Errorf("line %d: code %s has level %q, want province, city or county", rw.line, rw.code, rw.level)
	}
	if reg.ProvinceCode[:2] != rw.code[:2] {
		return reg, fmt.Errorf("line %d: %s lies under province %s with another prefix", rw.line, rw.code, reg.ProvinceCode)
	}
	return reg, nil
}

// isCode reports whether s is six ASCII digits.
func isCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Lookup returns the region with the given six-digit code.
func Lookup(code string) (Region, bool) {
	t, err := get()
	if err != nil {
		return Region{}, false
	}
	i, ok := t.byCode[code]
	if !ok {
		return Region{}, false
	}
	return t.regions[i], true
}

// All returns every region ordered by code. The slice is the caller's.
func All() []Region {
	return filter("")
}

// Provinces returns the 34 province-level divisions ordered by code.
func Provinces() []Region {
	return filter(LevelProvince)
}

// Cities returns the prefecture-level divisions ordered by code, including
// the city rows of the four municipalities.
func Cities() []Region {
	return filter(LevelCity)
}

// Counties returns the county-level divisions ordered by code; their codes
// are the valid address codes of current ID numbers.
func Counties() []Region {
	return filter(LevelCounty)
}

func filter(level string) []Region {
	t, err := get()
	if err != nil {
		return nil
	}
	var out []Region
	for _, r := range t.regions {
		if level == "" || r.Level == level {
			out = append(out, r)
		}
	}
	return out
}

// ProvinceOfID returns the most specific known region for the six-digit
// address code of an ID number: the county itself, else its city (the first
// four digits and 00; for a municipality its xx0100 city row), else its
// province (the first two digits and 0000). Old ID numbers carry county codes
// that have since been retired, which is why the fallback exists. It reports
// false when code is not six digits or not even its province is known.
func ProvinceOfID(code string) (Region, bool) {
	if !isCode(code) {
		return Region{}, false
	}
	if r, ok := Lookup(code); ok {
		return r, true
	}
	if r, ok := Lookup(code[:4] + "00"); ok {
		return r, true
	}
	if isMunicipality(code[:2]) {
		if r, ok := Lookup(code[:2] + "0100"); ok {
			return r, true
		}
	}
	return Lookup(code[:2] + "0000")
}

// isMunicipality reports whether a two-digit province prefix is one of the
// four municipalities directly under the central government.
func isMunicipality(prefix string) bool {
	switch prefix {
	case "11", "12", "31", "50":
		return true
	}
	return false
}
