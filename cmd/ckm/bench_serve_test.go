package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures/ssb"
)

// TestBenchServeConcurrency runs ckm bench serve small and checks the
// keys the README documents and that the figures hold together: the
// levels are 1, 8 and 32 clients, each ran queries, p50 ≤ p99, queries/s
// is queries over seconds, and the under-load run saw the load's rows.
func TestBenchServeConcurrency(t *testing.T) {
	out, errOut, code := runCkm(t, "", "--format", "json", "bench", "serve", "--customers", "30", "--queries", "20", "--duration", "300ms", "--ssb-sf", "0.01", "--ssb-rounds", "1")
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
		Loadavg           map[string]any   `json:"loadavg"`
		SSB               ssbWireResult    `json:"ssb"`
		WireOverheadRatio float64          `json:"wire_overhead_ratio"`
		Sides             []serveBenchSide `json:"sides"`
		AnalystP50Ratio   float64          `json:"analyst_p50_ratio"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The small query four ways, the last as an analyst over the simple
	// protocol (its every statement vetted by the sandbox), each answering
	// as in process (the bench fails otherwise).
	if len(doc.Sides) != 4 {
		t.Fatalf("sides %+v, want four", doc.Sides)
	}
	for i, name := range []string{"in_process", "wire_extended", "wire_simple", "wire_simple_analyst"} {
		if s := doc.Sides[i]; s.Name != name || s.P50ms <= 0 || s.P50ms > s.P99ms || s.QueriesPerSec <= 0 {
			t.Errorf("side %d: %+v, want %s with times", i, s, name)
		}
	}
	if math.Abs(doc.AnalystP50Ratio-doc.Sides[3].P50ms/doc.Sides[2].P50ms) > 1e-9 {
		t.Errorf("analyst_p50_ratio %v, want %v", doc.AnalystP50Ratio, doc.Sides[3].P50ms/doc.Sides[2].P50ms)
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
	// The 13 SSB queries: each named as in fixtures/ssb, timed each way,
	// the ratios the quotients of the medians they sum.
	b := doc.SSB
	if b.SF != 0.01 || b.Rounds != 1 || b.LineorderRows < 50000 || len(b.Queries) != len(ssb.Queries) {
		t.Fatalf("ssb %+v", b)
	}
	var in, ext, simple float64
	for i, q := range b.Queries {
		if q.Name != ssb.Queries[i].Name || q.InProcessMS <= 0 || q.WireExtendedMS <= 0 || q.WireSimpleMS <= 0 {
			t.Errorf("ssb query %d: %+v", i, q)
		}
		if math.Abs(q.ExtendedRatio-q.WireExtendedMS/q.InProcessMS) > 1e-9 || math.Abs(q.SimpleRatio-q.WireSimpleMS/q.InProcessMS) > 1e-9 {
			t.Errorf("ssb query %s ratios %+v", q.Name, q)
		}
		in, ext, simple = in+q.InProcessMS, ext+q.WireExtendedMS, simple+q.WireSimpleMS
	}
	if math.Abs(b.InProcessMS-in) > 1e-6 || math.Abs(b.WireExtendedMS-ext) > 1e-6 || math.Abs(b.WireSimpleMS-simple) > 1e-6 {
		t.Errorf("ssb sums %v %v %v, want %v %v %v", b.InProcessMS, b.WireExtendedMS, b.WireSimpleMS, in, ext, simple)
	}
	if math.Abs(b.WireOverheadRatio-ext/in) > 1e-9 || doc.WireOverheadRatio != b.WireOverheadRatio || math.Abs(b.WireSimpleRatio-simple/in) > 1e-9 {
		t.Errorf("wire_overhead_ratio %v (ssb %v), want %v; simple %v, want %v", doc.WireOverheadRatio, b.WireOverheadRatio, ext/in, b.WireSimpleRatio, simple/in)
	}
	if _, ok := doc.Loadavg["before"]; !ok {
		t.Errorf("no loadavg: %v", doc.Loadavg)
	}
}

// TestBenchServeSSBAnswersOverTheWire generates SSB small, serves it and
// runs the 13 SSB queries in process and over pgx with the extended and
// the simple protocol: the rows agree one for one, the answers are not
// empty, and Q1.1's revenue over the wire is the sum a Go loop makes of
// the lineorder lines it covers.
func TestBenchServeSSBAnswersOverTheWire(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "ssb.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := ssb.Generate(ctx, w.DB, 0.01); err != nil {
		t.Fatal(err)
	}
	srv, stop, err := benchServeStart(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// The bench's analyst user is sandboxed, as its wire_simple_analyst
	// way claims: the identity map is refused (42501), a fact table reads.
	ac, err := pgx.Connect(ctx, "postgres://analyst:bench@"+srv.Addr().String()+"/ckm?sslmode=disable&default_query_exec_mode=simple_protocol")
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close(ctx)
	var pgErr *pgconn.PgError
	if _, err := ac.Exec(ctx, "SELECT key_value FROM etl_identity"); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("analyst reading etl_identity: %v, want refused with 42501", err)
	}
	var lines int64
	if err := ac.QueryRow(ctx, "SELECT count(*) FROM fact_sales").Scan(&lines); err != nil {
		t.Errorf("analyst counting fact_sales: %v", err)
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	inProc := ssbInProcess(conn)
	var wires []ssbRun
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		cfg, err := pgx.ParseConfig("postgres://bench:bench@" + srv.Addr().String() + "/ckm?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		cfg.DefaultQueryExecMode = mode
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		wires = append(wires, ssbWire(c))
	}
	total := 0
	for _, q := range ssb.Queries {
		want, err := inProc(ctx, q.SQL)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		total += len(want)
		for i, run := range wires {
			got, err := run(ctx, q.SQL)
			if err != nil {
				t.Fatalf("%s wire %d: %v", q.Name, i, err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s wire %d: %d rows, in process %d", q.Name, i, len(got), len(want))
			}
			for r := range want {
				for c := range want[r] {
					if got[r][c] != want[r][c] {
						t.Fatalf("%s wire %d row %d column %d: %s, in process %s", q.Name, i, r+1, c+1, got[r][c], want[r][c])
					}
				}
			}
		}
	}
	if total < 100 {
		t.Errorf("the 13 queries returned %d rows in all: too few to compare anything", total)
	}
	// Q1.1 by hand: the sum of extended price × discount over its lines.
	rows, err := w.DB.QueryContext(ctx, `SELECT lo_extendedprice, lo_discount, lo_quantity, d_year FROM lineorder JOIN "date" ON lo_orderdate = d_datekey`)
	if err != nil {
		t.Fatal(err)
	}
	sum := new(big.Int)
	for rows.Next() {
		var price, disc, qty, year int64
		if err := rows.Scan(&price, &disc, &qty, &year); err != nil {
			t.Fatal(err)
		}
		if year == 1993 && disc >= 1 && disc <= 3 && qty < 25 {
			sum.Add(sum, big.NewInt(price*disc))
		}
	}
	rows.Close()
	got, err := wires[0](ctx, ssb.Queries[0].SQL)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sign() <= 0 || len(got) != 1 || got[0][0] != sum.String() {
		t.Errorf("Q1.1 over the wire %v, by hand %s", got, sum)
	}
}

// TestExactCell: a value reads the same whichever type it arrived as.
func TestExactCell(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{int32(12), "12"},
		{int64(-12), "-12"},
		{big.NewInt(12), "12"},
		{pgtype.Numeric{Int: big.NewInt(12), Exp: 0, Valid: true}, "12"},
		{pgtype.Numeric{Int: big.NewInt(1200), Exp: -2, Valid: true}, "12"},
		{pgtype.Numeric{Int: big.NewInt(12), Exp: 2, Valid: true}, "1200"},
		{pgtype.Numeric{Int: big.NewInt(-12345), Exp: -2, Valid: true}, "-123.45"},
		{duckdb.Decimal{Value: big.NewInt(-12345), Scale: 2}, "-123.45"},
		{duckdb.Decimal{Value: big.NewInt(5), Scale: 3}, "0.005"},
		{pgtype.Numeric{Int: big.NewInt(5), Exp: -3, Valid: true}, "0.005"},
		{nil, "NULL"},
		{"MFGR#12", `"MFGR#12"`},
		{0.1, "0.1"},
	} {
		if got := exactCell(c.v); got != c.want {
			t.Errorf("exactCell(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
	if d := ssbRowsDiff([][]string{{"1", "2"}}, [][]string{{"1", "3"}}); d == "" {
		t.Error("rows that differ compared equal")
	}
	if d := ssbRowsDiff([][]string{{"1"}}, [][]string{{"1"}, {"2"}}); d == "" {
		t.Error("rows of different counts compared equal")
	}
}
