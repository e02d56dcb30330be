package mining

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var rfmSales = []sale{
	{1, "2024-12-30", 100, 60}, {1, "2024-12-01", 50, 30}, {1, "2024-11-01", 50, 30},
	{2, "2024-12-30", 40, 20}, {2, "2024-12-30", 10, 5}, // two orders on one day: one purchase
	{3, "2024-06-01", 300, 100}, {3, "2024-07-01", 100, 50}, {3, "2024-07-15", -100, -50}, // a returns-only day
	{4, "2024-03-01", 20, 10},
	{5, "2023-06-01", 500, 200}, {5, "2024-10-01", 80, 40}, // the first is outside a 365-day window
	{6, "2025-01-05", 999, 1},   // after the as-of date
	{-1, "2024-12-31", 70, 1},   // the unknown customer
	{7, "2024-12-31", -30, -10}, // returns only: no purchase
}

type rfmRow struct {
	recency, frequency int
	monetary           float64
	r, f, m, fm, rfm   int
	segment            string
}

func TestRFMHandComputed(t *testing.T) {
	ctx := context.Background()
	w := handWarehouse(t, rfmSales)
	asOf := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	res, err := RFM(ctx, w, RFMOptions{AsOf: asOf, WindowDays: 365})
	if err != nil {
		t.Fatal(err)
	}
	// Worked by hand: recency ranks (descending) 4:305, 3:183, 5:91, {1,2}:1;
	// frequency ranks {2,4,5}:1, 3:2, 1:3; monetary 4:20, 2:50, 5:80, 1:200, 3:300.
	want := map[int64]rfmRow{
		1: {1, 3, 200, 4, 5, 4, 5, 454, "loyal"},
		2: {1, 1, 50, 4, 1, 2, 2, 412, "potential loyalists"},
		3: {183, 2, 300, 2, 4, 5, 5, 245, "can't lose"},
		4: {305, 1, 20, 1, 1, 1, 1, 111, "lost"},
		5: {91, 1, 80, 3, 1, 3, 2, 313, "about to sleep"},
	}
	if res.Customers != 5 {
		t.Errorf("%d customers, want 5", res.Customers)
	}
	got := map[int64]rfmRow{}
	rows, err := w.DB.QueryContext(ctx, `SELECT customer_id,
            max(value) FILTER (WHERE metric = 'recency'), max(value) FILTER (WHERE metric = 'frequency'),
            max(value) FILTER (WHERE metric = 'monetary'), max(value) FILTER (WHERE metric = 'r_score'),
            max(value) FILTER (WHERE metric = 'f_score'), max(value) FILTER (WHERE metric = 'm_score'),
            max(value) FILTER (WHERE metric = 'rfm_score'), max(label) FILTER (WHERE metric = 'segment')
        FROM kb_customer_score WHERE model_id = ? GROUP BY customer_id`, res.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var rec, freq, mon, r, f, m, rfm float64
		var seg string
		if err := rows.Scan(&id, &rec, &freq, &mon, &r, &f, &m, &rfm, &seg); err != nil {
			t.Fatal(err)
		}
		// fm is not stored; the segment checks it.
		got[id] = rfmRow{int(rec), int(freq), mon, int(r), int(f), int(m), want[id].fm, int(rfm), seg}
	}
	for id, wr := range want {
		if got[id] != wr {
			t.Errorf("customer %d: got %+v, want %+v", id, got[id], wr)
		}
	}
	if len(got) != len(want) {
		t.Errorf("scored customers %v, want 1..5", got)
	}
	var runs string
	var version int64
	if err := w.DB.QueryRow(`SELECT etl_runs, data_version FROM kb_model WHERE model_id = ?`, res.ModelID).Scan(&runs, &version); err != nil {
		t.Fatal(err)
	}
	if runs != "1" || version != 1 {
		t.Errorf("lineage runs %q version %d, want 1 and 1", runs, version)
	}

	// All history: customer 5's 2023 purchase counts too.
	all, err := RFM(ctx, w, RFMOptions{AsOf: asOf, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if all.Customers != 5 || all.ModelID != 0 {
		t.Errorf("all history: %+v", all)
	}
}

func TestSegmentGridComplete(t *testing.T) {
	for r := 1; r <= 5; r++ {
		for fm := 1; fm <= 5; fm++ {
			n := 0
			for _, s := range SegmentRules {
				if r >= s.RMin && r <= s.RMax && fm >= s.FMMin && fm <= s.FMMax {
					n++
				}
			}
			if n != 1 {
				t.Errorf("cell R=%d FM=%d is in %d rules, want 1", r, fm, n)
			}
		}
	}
	for _, c := range []struct {
		r, fm int
		want  string
	}{{5, 5, "champions"}, {1, 1, "lost"}, {2, 5, "can't lose"}, {5, 1, "new customers"}, {1, 2, "hibernating"}} {
		if got := Segment(c.r, c.fm); got != c.want {
			t.Errorf("Segment(%d, %d) = %q, want %q", c.r, c.fm, got, c.want)
		}
	}
}

func TestRFMRejectsBadParameters(t *testing.T) {
	ctx := context.Background()
	w := handWarehouse(t, rfmSales)
	for _, c := range []struct {
		name string
		o    RFMOptions
		want string
	}{
		{"unknown column", RFMOptions{Source: Source{Amount: "amt"}}, `unknown amount column "amt"`},
		{"as-of before first purchase", RFMOptions{AsOf: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, "first purchase in the source table fact_sales is on 2023-06-01"},
		{"negative window", RFMOptions{WindowDays: -1}, "must not be negative"},
		{"empty window", RFMOptions{AsOf: time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC), WindowDays: 30}, "no purchases"},
		{"not a table", RFMOptions{Source: Source{Table: "nope"}}, "nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := RFM(ctx, w, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	empty := handWarehouse(t, nil)
	if _, err := RFM(ctx, empty, RFMOptions{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty warehouse: %v, want ErrEmpty", err)
	}
	var n int
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM kb_model) + (SELECT count(*) FROM kb_customer_score)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("failed runs left %d knowledge rows (%v)", n, err)
	}
}
