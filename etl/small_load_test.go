package etl

import "testing"

// TestReportSmall: only a load that committed a run and read at most
// SmallLoadBytes of files (new ones and joined ones read again, as Load
// counts them) is small — the one measure behind its memory settings,
// its threads and ckm load's kept WAL.
func TestReportSmall(t *testing.T) {
	for _, c := range []struct {
		name string
		rep  *Report
		want bool
	}{
		{"no report", nil, false},
		{"nothing committed", &Report{bytes: 10}, false},
		{"10 lines", &Report{RunID: 3, bytes: 930}, true},
		{"at the bound", &Report{RunID: 3, bytes: SmallLoadBytes}, true},
		{"over the bound", &Report{RunID: 3, bytes: SmallLoadBytes + 1}, false},
	} {
		if got := c.rep.Small(); got != c.want {
			t.Errorf("%s: Small = %v, want %v", c.name, got, c.want)
		}
	}
}
