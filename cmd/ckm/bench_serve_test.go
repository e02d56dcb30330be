package main

import (
	"encoding/json"
	"testing"
)

// TestBenchServeConcurrency runs ckm bench serve small and checks the
// keys the README documents and that the figures hold together: the
// levels are 1, 8 and 32 clients, each ran queries, p50 ≤ p99, queries/s
// is queries over seconds, and the under-load run saw the load's rows.
func TestBenchServeConcurrency(t *testing.T) {
	out, errOut, code := runCkm(t, "", "--format", "json", "bench", "serve", "--customers", "30", "--queries", "20", "--duration", "300ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var doc struct {
		Concurrency []concurrencyResult `json:"concurrency"`
		UnderLoad   struct {
			Clients  int     `json:"clients"`
			LoadRows int64   `json:"load_rows"`
			Queries  int     `json:"queries"`
			P50      float64 `json:"p50_ms"`
			P99      float64 `json:"p99_ms"`
			IdleP99  float64 `json:"idle_p99_ms"`
			P99Ratio float64 `json:"p99_ratio"`
			LoadSecs float64 `json:"load_seconds"`
		} `json:"under_load"`
		Loadavg map[string]any `json:"loadavg"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(doc.Concurrency) != 3 {
		t.Fatalf("concurrency levels %+v, want 1, 8, 32 clients", doc.Concurrency)
	}
	for i, n := range []int{1, 8, 32} {
		c := doc.Concurrency[i]
		if c.Clients != n || c.Queries < n || c.P50ms <= 0 || c.P50ms > c.P99ms || c.Seconds < 0.3 {
			t.Errorf("level %d: %+v", i, c)
		}
		if got := float64(c.Queries) / c.Seconds; got/c.QueriesPerSec < 0.999 || got/c.QueriesPerSec > 1.001 {
			t.Errorf("level %d: queries_per_sec %.1f, want queries/seconds %.1f", i, c.QueriesPerSec, got)
		}
	}
	u := doc.UnderLoad
	if u.Clients != 8 || u.LoadRows <= 0 || u.LoadSecs <= 0 || u.IdleP99 != doc.Concurrency[1].P99ms {
		t.Errorf("under_load %+v", u)
	}
	if u.Queries > 0 && (u.P99/u.IdleP99 < u.P99Ratio*0.999 || u.P99/u.IdleP99 > u.P99Ratio*1.001) {
		t.Errorf("under_load p99_ratio %.3f, want %.3f", u.P99Ratio, u.P99/u.IdleP99)
	}
	if _, ok := doc.Loadavg["before"]; !ok {
		t.Errorf("no loadavg: %v", doc.Loadavg)
	}
}
