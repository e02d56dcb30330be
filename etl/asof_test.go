package etl_test

import (
	"context"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
)

// TestLoadsWithinOneSecondKeepTheirVersions: three loads of changing CRM
// exports keep the same customer history whether they ran seconds or
// milliseconds apart. The default as-of is the load's start, and it was
// written into the SQL to the second, so two loads in one second wrote
// their changes at the same instant and the later overwrote the earlier's
// versions (TestServeCoexistence once found 60 dim_customer rows instead
// of 71 when two of its plain loads started in the same second).
func TestLoadsWithinOneSecondKeepTheirVersions(t *testing.T) {
	ctx := context.Background()
	var dirs []string
	for _, g := range []struct {
		start string
		days  int
	}{{"2024-01-01", 15}, {"2024-01-16", 6}, {"2024-01-22", 6}} {
		dir := t.TempDir()
		start, _ := time.Parse("2006-01-02", g.start)
		if _, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: 60, Days: g.days, Start: start, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 100_000_000, time.Local)
	history := func(gap time.Duration) (versions, instants int64) {
		w, err := engine.Open(ctx, "", engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for i, dir := range dirs {
			if _, err := etl.Load(ctx, w, []string{dir}, etl.Options{AsOf: t0.Add(time.Duration(i) * gap)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.DB.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT valid_from) FROM dim_customer`).Scan(&versions, &instants); err != nil {
			t.Fatal(err)
		}
		return versions, instants
	}
	apart, apartInstants := history(2 * time.Second)
	close, closeInstants := history(300 * time.Millisecond)
	if apart <= 60 {
		t.Fatalf("loads 2 s apart: %d customer versions; the exports' changes should give more than one per customer", apart)
	}
	if close != apart || closeInstants != apartInstants {
		t.Errorf("loads 300 ms apart: %d customer versions at %d instants, 2 s apart: %d at %d — the history must not depend on how fast the loads ran",
			close, closeInstants, apart, apartInstants)
	}
}
