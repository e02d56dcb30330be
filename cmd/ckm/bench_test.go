package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/fixtures/ssb"
)

// TestBenchValueFromAnyDirectory runs ckm bench value on a few customers
// outside the repository root: the CDNOW master file is built in.
func TestBenchValueFromAnyDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	out, stderr, code := runCkm(t, "", "bench", "value", "--customers", "200", "--repeat", "1", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		RFMEqual  bool `json:"rfm_equal"`
		CLVMaster struct {
			Customers int64 `json:"customers"`
		} `json:"clv_master"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !res.RFMEqual || res.CLVMaster.Customers != 23570 {
		t.Errorf("rfm_equal %v, CDNOW customers %d (want true, 23570)", res.RFMEqual, res.CLVMaster.Customers)
	}
}

// TestBenchValueFailsWhenRFMDisagrees: a hand-written RFM that differs from
// ckm's fails the benchmark (exit 1) naming the figure.
func TestBenchValueFailsWhenRFMDisagrees(t *testing.T) {
	saved := handRFMSQL
	t.Cleanup(func() { handRFMSQL = saved })
	handRFMSQL = strings.Replace(handRFMSQL, "ORDER BY recency_days DESC", "ORDER BY recency_days", 1)
	if handRFMSQL == saved {
		t.Fatal("the hand-written RFM has no recency ordering to break")
	}
	_, stderr, code := runCkm(t, "", "bench", "value", "--customers", "200", "--repeat", "1")
	if code != exitFailure || !strings.Contains(stderr, "rfm") {
		t.Errorf("exit %d (want %d naming rfm): %s", code, exitFailure, stderr)
	}
}

// TestBenchOLAPFailsWhenAnswersDisagree: a hand-written SSB query that
// returns as many rows as the cube but other values fails the benchmark
// (exit 1) naming the query; the real queries pass.
func TestBenchOLAPFailsWhenAnswersDisagree(t *testing.T) {
	if _, stderr, code := runCkm(t, "", "bench", "olap", "--sf", "0.01", "--runs", "1"); code != exitOK {
		t.Fatalf("bench olap: exit %d: %s", code, stderr)
	}
	saved := benchSSBQueries
	t.Cleanup(func() { benchSSBQueries = saved })
	benchSSBQueries = append([]ssb.Query(nil), saved...)
	benchSSBQueries[0].SQL = strings.Replace(saved[0].SQL, "d_year = 1993", "d_year = 1994", 1)
	_, stderr, code := runCkm(t, "", "bench", "olap", "--sf", "0.01", "--runs", "1")
	if code != exitFailure || !strings.Contains(stderr, "Q1.1") {
		t.Errorf("exit %d (want %d naming Q1.1): %s", code, exitFailure, stderr)
	}
}

// TestBenchOLAPFromDbgenFiles runs ckm bench olap on the committed sample
// of ssb-dbgen output from another directory: every cube answer equals
// the hand-written SQL's (else the bench fails), and the rows per query
// are those of the standard SQL run by DuckDB on the sample.
func TestBenchOLAPFromDbgenFiles(t *testing.T) {
	sample := dbgenSample(t)
	t.Chdir(t.TempDir())
	out, stderr, code := runCkm(t, "", "bench", "olap", "--from", sample, "--runs", "1", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Lines   int64  `json:"lineorder_rows"`
		Data    string `json:"data"`
		Queries []struct {
			Name string `json:"name"`
			Rows int    `json:"rows"`
		} `json:"queries"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res.Lines != 1021 || !strings.Contains(res.Data, sample) {
		t.Errorf("lineorder_rows %d, data %q; want 1021 from %s", res.Lines, res.Data, sample)
	}
	// Rows of each standard SSB query on the sample (DuckDB, count(*) over
	// the hand-written SQL of fixtures/ssb/queries.go).
	want := []int{1, 1, 1, 46, 26, 7, 57, 47, 19, 3, 32, 36, 45}
	if len(res.Queries) != len(want) {
		t.Fatalf("%d queries, want %d", len(res.Queries), len(want))
	}
	for i, q := range res.Queries {
		if q.Rows != want[i] {
			t.Errorf("%s: %d rows, want %d", q.Name, q.Rows, want[i])
		}
	}
}

// TestMedianFloat checks the median bench olap reports ratios with, on
// hand-computed cases: the middle value, or the mean of the two middle ones.
func TestMedianFloat(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{1.1}, 1.1}}
	for _, c := range cases {
		if got := medianFloat(c.in); got != c.want {
			t.Errorf("medianFloat(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
