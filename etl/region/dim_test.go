package region

import (
	"context"
	"crypto/md5"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ckm-dev/ckm/engine"
)

func loadDimOnce(ctx context.Context, t *testing.T, db *sql.DB) {
	t.Helper()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadDim(ctx, tx); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDim(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	count := func() (total, regions, special int) {
		t.Helper()
		err := w.DB.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (region_key > 0), count(*) FILTER (region_key < 0) FROM dim_region`).
			Scan(&total, &regions, &special)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	loadDimOnce(ctx, t, w.DB)
	total, regions, special := count()
	if regions != len(All()) || special != 4 || total != regions+special {
		t.Fatalf("after the first load: %d rows, %d regions, %d special members; want %d regions and 4 special", total, regions, special, len(All()))
	}
	loadDimOnce(ctx, t, w.DB)
	if again, _, _ := count(); again != total {
		t.Errorf("second load: %d rows, want %d", again, total)
	}

	levels := map[string]int{}
	rows, err := w.DB.QueryContext(ctx, `SELECT level, count(*) FROM dim_region WHERE region_key > 0 GROUP BY level`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var level string
		var n int
		if err := rows.Scan(&level, &n); err != nil {
			t.Fatal(err)
		}
		levels[level] = n
	}
	rows.Close()
	if levels[LevelProvince] != 34 || levels[LevelCity] != 337 || levels[LevelCounty] != 2846 {
		t.Errorf("levels in dim_region: %v", levels)
	}

	var code, level, pcode, province, ccode, city, kcode, county string
	err = w.DB.QueryRowContext(ctx, `SELECT region_code, level, province_code, province, city_code, city, county_code, county
		FROM dim_region WHERE region_key = 440305`).Scan(&code, &level, &pcode, &province, &ccode, &city, &kcode, &county)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{code, level, pcode, province, ccode, city, kcode, county}; got[0] != "440305" || got[1] != "county" ||
		got[2] != "440000" || got[3] != "广东省" || got[4] != "440300" || got[5] != "深圳市" || got[6] != "440305" || got[7] != "南山区" {
		t.Errorf("dim_region 440305 = %v", got)
	}
	var provinceCity, provinceCounty sql.NullString
	err = w.DB.QueryRowContext(ctx, `SELECT city, county FROM dim_region WHERE region_key = 650000`).Scan(&provinceCity, &provinceCounty)
	if err != nil {
		t.Fatal(err)
	}
	if provinceCity.Valid || provinceCounty.Valid {
		t.Errorf("province row has city %v and county %v, want NULLs", provinceCity, provinceCounty)
	}
}

// TestLoadDimRefreshesInferredMember checks that a member a load inferred
// for a code before the dimension was loaded is brought up to date.
func TestLoadDimRefreshesInferredMember(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO dim_region (region_key, region_code, level, province, city, county)
		VALUES (440305, '440305', 'inferred', 'Inferred', 'Inferred', 'Inferred')`); err != nil {
		t.Fatal(err)
	}
	loadDimOnce(ctx, t, w.DB)
	var level, county string
	if err := w.DB.QueryRowContext(ctx, `SELECT level, county FROM dim_region WHERE region_key = 440305`).Scan(&level, &county); err != nil {
		t.Fatal(err)
	}
	if level != LevelCounty || county != "南山区" {
		t.Errorf("inferred member after LoadDim: level %q county %q, want county 南山区", level, county)
	}
}

// TestLoadDimChecksBeforeUpsert: LoadDim skips the upsert only when
// dim_region already holds the embedded table exactly. The stored digest
// equals the Go one after a load; a changed value, a deleted row or an
// extra inferred member makes them differ, and LoadDim still brings every
// embedded region back (the inferred member is left alone).
func TestLoadDimChecksBeforeUpsert(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tb, err := get()
	if err != nil {
		t.Fatal(err)
	}
	stored := func() string {
		t.Helper()
		var d string
		if err := w.DB.QueryRowContext(ctx, digestDimSQL).Scan(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := stored(); d == tb.digest() {
		t.Fatalf("empty dim_region has the embedded table's digest %s", d)
	} else if d != "" {
		t.Fatalf("empty dim_region has digest %q, want \"\" (LoadDim inserts without the stale check then)", d)
	}
	loadDimOnce(ctx, t, w.DB)
	if d := stored(); d != tb.digest() {
		t.Fatalf("after LoadDim the stored digest is %s, the embedded table's %s", d, tb.digest())
	}
	county := func() string {
		t.Helper()
		var s sql.NullString
		if err := w.DB.QueryRowContext(ctx, `SELECT county FROM dim_region WHERE region_key = 110101`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s.String
	}
	for _, change := range []string{
		`UPDATE dim_region SET county = 'X' WHERE region_key = 110101`,
		`UPDATE dim_region SET city = NULL WHERE region_key = 110101`,
		`DELETE FROM dim_region WHERE region_key = 110101`,
		`INSERT INTO dim_region (region_key, region_code, level) VALUES (999999, '999999', 'county')`,
	} {
		if _, err := w.DB.ExecContext(ctx, change); err != nil {
			t.Fatal(err)
		}
		if d := stored(); d == tb.digest() {
			t.Errorf("%s: the stored digest did not change", change)
		}
		loadDimOnce(ctx, t, w.DB)
		if got := county(); got != "东城区" {
			t.Errorf("after %s and LoadDim: county of 110101 is %q, want 东城区", change, got)
		}
		var n int
		if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM dim_region WHERE region_key = 110101 AND city = '北京市'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("after %s and LoadDim: %d rows of 110101 in 北京市 (%v), want 1", change, n, err)
		}
	}
	var inferred int
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM dim_region WHERE region_key = 999999`).Scan(&inferred); err != nil || inferred != 1 {
		t.Errorf("the inferred member 999999: %d rows (%v), want 1", inferred, err)
	}
}

// TestLoadDimInvalidatesRollups: OLAP rollups refreshed in place cannot
// see a region whose columns changed under sales already loaded, so
// LoadDim marks them stale (data version -1) when it changes dim_region of
// a warehouse with sales — not on a warehouse's first load (no sales yet),
// nor when dim_region is as the embedded table has it.
func TestLoadDimInvalidatesRollups(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	version := func() int64 {
		t.Helper()
		var v int64
		if err := w.DB.QueryRowContext(ctx, `SELECT data_version FROM `+engine.RollupRegistry).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	exec(`INSERT INTO ` + engine.RollupRegistry + ` VALUES ('sales', 'year_province', 'olap_rollup_sales_year_province', 'h', 5, 0, now())`)
	loadDimOnce(ctx, t, w.DB)
	if v := version(); v != 5 {
		t.Fatalf("first load (no sales): rollup data version %d, want 5 (kept)", v)
	}
	exec(`INSERT INTO fact_sales (order_id, line_no, date_key, region_key, quantity, amount, etl_run_id) VALUES ('O1', 1, 20240105, 440305, 1, 10, 1)`)
	loadDimOnce(ctx, t, w.DB)
	if v := version(); v != 5 {
		t.Fatalf("unchanged regions: rollup data version %d, want 5 (kept)", v)
	}
	exec(`UPDATE dim_region SET county = '旧名' WHERE region_key = 440305`)
	loadDimOnce(ctx, t, w.DB)
	if v := version(); v != -1 {
		t.Fatalf("a region changed under sales: rollup data version %d, want -1 (stale)", v)
	}
}

// TestRecordedDigest: recordedCSVMD5 is the md5 of the embedded code list
// and recordedDigest its table's digest, computed here independently of
// LoadDim (if the list changes, write these two values into dim.go).
func TestRecordedDigest(t *testing.T) {
	tb, err := parse(strings.NewReader(tableCSV))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", md5.Sum([]byte(tableCSV))); got != recordedCSVMD5 {
		t.Errorf("md5 of gbt2260.csv is %s: set recordedCSVMD5 = %q (and recordedDigest)", got, got)
	}
	if got := tb.digest(); got != recordedDigest {
		t.Errorf("the embedded table's digest is %s: set recordedDigest = %q", got, got)
	}
	if !embeddedIsRecorded() {
		t.Error("embeddedIsRecorded is false for the embedded list")
	}
}

// TestLoadDimSkipsParseWhenCurrent: a dim_region that holds the embedded
// table exactly is left as it is without parsing the code list; one that
// differs (a changed county) is parsed and repaired, and so is any
// dim_region when the embedded list is not the recorded one.
func TestLoadDimSkipsParseWhenCurrent(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	parses := 0
	table0 = func() (*table, error) { parses++; return get() }
	defer func() { table0 = get }()
	contents := func() string {
		t.Helper()
		var s string
		if err := w.DB.QueryRowContext(ctx, `SELECT md5(string_agg(CAST(d AS VARCHAR), chr(10) ORDER BY region_key)) FROM dim_region d`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	loadDimOnce(ctx, t, w.DB) // empty: parsed and inserted
	if parses != 1 {
		t.Fatalf("first LoadDim parsed %d times, want 1", parses)
	}
	want := contents()
	loadDimOnce(ctx, t, w.DB)
	if parses != 1 {
		t.Errorf("LoadDim of a current dim_region parsed the code list (%d parses, want 1)", parses)
	}
	if got := contents(); got != want {
		t.Errorf("LoadDim of a current dim_region changed it: %s, want %s", got, want)
	}
	if _, err := w.DB.ExecContext(ctx, `UPDATE dim_region SET county = 'X' WHERE region_key = 110101`); err != nil {
		t.Fatal(err)
	}
	loadDimOnce(ctx, t, w.DB)
	if parses != 2 {
		t.Errorf("LoadDim of a changed dim_region: %d parses, want 2", parses)
	}
	if got := contents(); got != want {
		t.Errorf("LoadDim did not repair the changed county: %s, want %s", got, want)
	}
	// A code list other than the recorded one: the recorded digest proves nothing.
	embeddedIsRecorded()
	saved := embeddedMD5
	embeddedMD5 = "another list"
	defer func() { embeddedMD5 = saved }()
	loadDimOnce(ctx, t, w.DB)
	if parses != 3 {
		t.Errorf("LoadDim with an unrecorded code list: %d parses, want 3", parses)
	}
	if got := contents(); got != want {
		t.Errorf("LoadDim with an unrecorded code list changed dim_region: %s, want %s", got, want)
	}
}

// TestByNameASCIISkipsParse: names without a Chinese character (none,
// white space, "Store 1", pinyin) are not found, and the code list is not
// parsed for them; the parsed table's own lookup, without the shortcut,
// finds none of them either, and every name of the list (and its short
// forms) begins with a non-ASCII rune; a Chinese name still is looked up.
func TestByNameASCIISkipsParse(t *testing.T) {
	parses := 0
	table0 = func() (*table, error) { parses++; return get() }
	defer func() { table0 = get }()
	cases := [][2]string{{"", ""}, {" ", "\u3000"}, {"\t", ""}, {"", "Store 1"}, {"Store 1", "Store 1"},
		{"Guangdong", "Shenzhen"}, {"", "Beijing"}, {"GD", ""}, {"", "SZ"}, {"110000", "110100"}, {"", "xian"}}
	for _, c := range cases {
		if r, ok := ByName(c[0], c[1]); ok {
			t.Errorf("ByName(%q, %q) = %v, want not found", c[0], c[1], r)
		}
	}
	if parses != 0 {
		t.Errorf("ByName of ASCII names parsed the code list %d times", parses)
	}
	tb, err := get()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if r, ok := tb.byName(cleanName(c[0]), cleanName(c[1])); ok {
			t.Errorf("the table's lookup of (%q, %q) = %v, want not found", c[0], c[1], r)
		}
	}
	for _, r := range tb.regions {
		for _, n := range []string{r.Name, provinceShort(r.Name), cityShort(r.Name)} {
			if n == "" || n[0] < utf8.RuneSelf {
				t.Errorf("region %s: name %q does not begin with a non-ASCII rune", r.Code, n)
			}
		}
	}
	if r, ok := ByName("广东", "深圳"); !ok || r.Code != "440300" {
		t.Errorf("ByName(广东, 深圳) = %v %v, want 440300", r, ok)
	}
	if parses != 1 {
		t.Errorf("ByName(广东, 深圳): %d parses, want 1", parses)
	}
}
