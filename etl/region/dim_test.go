package region

import (
	"context"
	"database/sql"
	"testing"

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
