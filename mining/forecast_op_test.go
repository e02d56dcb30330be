package mining

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// The series of a forecast sums the rows of each period and counts the
// periods without rows between the first and the last as 0 (hand-made rows).
func TestForecastSeriesSQL(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.Exec(`CREATE TABLE s AS SELECT * FROM (VALUES
        (TIMESTAMP '2024-01-01 10:00', 1.5), (TIMESTAMP '2024-01-03 23:59', 2.25), (TIMESTAMP '2024-01-17', 4.0),
        (TIMESTAMP '2024-03-31', 8.0), (NULL, 100.0), (TIMESTAMP '2024-03-30', NULL)) AS t(ts, v)`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ grain, want string }{
		{GrainWeek, "2024-01-01 3.75, 2024-01-08 0, 2024-01-15 4, 2024-01-22 0, 2024-01-29 0, 2024-02-05 0, 2024-02-12 0, 2024-02-19 0, 2024-02-26 0, 2024-03-04 0, 2024-03-11 0, 2024-03-18 0, 2024-03-25 8"},
		{GrainMonth, "2024-01-01 7.75, 2024-02-01 0, 2024-03-01 8"},
	} {
		o := ForecastOptions{Source: Source{Table: "s", Time: "ts", Amount: "v"}, Grain: c.grain}
		days, x, err := readSeries(ctx, w.DB, o.SeriesSQL())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := range days {
			got = append(got, fmt.Sprintf("%s %v", days[i].Format(time.DateOnly), x[i]))
		}
		if strings.Join(got, ", ") != c.want {
			t.Errorf("%s series %s\nwant %s", c.grain, strings.Join(got, ", "), c.want)
		}
	}
	// Days: 2024-01-01 .. 2024-03-31 is 91 days.
	days, _, err := readSeries(ctx, w.DB, ForecastOptions{Source: Source{Table: "s", Time: "ts", Amount: "v"}, Grain: GrainDay}.SeriesSQL())
	if err != nil || len(days) != 91 {
		t.Errorf("day series: %d days, %v; want 91", len(days), err)
	}
}
