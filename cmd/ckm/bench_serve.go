package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/fixtures/ssb"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/serve"
)

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchServeCmd(a, nil) })
}

// benchServeOptions are what ckm bench serve's flags resolve to.
type benchServeOptions struct {
	app       *app
	customers int           // checked: at least 10
	queries   int           // checked: at least 10
	duration  time.Duration // each concurrency level's timed run; checked: positive
	ssbSF     float64       // checked: positive and finite
	ssbRounds int           // checked: at least 1
}

// newBenchServeCmd builds ckm bench serve; runF, when not nil, runs instead
// of benchServeRun.
func newBenchServeCmd(a *app, runF func(context.Context, *benchServeOptions) error) *cobra.Command {
	opts := &benchServeOptions{app: a}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Time a small query and the 13 SSB queries over the PostgreSQL protocol against the same in process",
		Long: `Generate exports for --customers customers, load them into a scratch
warehouse and serve it on a free loopback port. Then run the same small
parameterised query (count and sum of fact_sales above a quantity) --queries
times each way on one connection each, the four ways taking turns query
by query (so the machine's other work falls on each alike):
  in_process   database/sql on the warehouse, no server
  wire_extended pgx over the PostgreSQL protocol, prepared (extended protocol)
  wire_simple  pgx with the simple protocol
  wire_simple_analyst  the simple protocol as an analyst: every statement
               is parsed again and passes the analyst sandbox, as psql's
               and many BI tools' statements do
and report queries/s (from the sum of latencies), p50/p99 latency, the
wire/in-process ratios of time and of p50, and analyst_p50_ratio (the
analyst's p50 over wire_simple's: what the sandbox adds to a query).
Every answer over the wire must equal the in-process one.

Then the 13 SSB queries (those of ckm bench olap) on SSB generated into
the same warehouse at --ssb-sf, the same three ways on one persistent
connection each, --ssb-rounds rounds after a warm-up, the ways taking
turns query by query with the first rotating; every answer over the wire
must equal the in-process one row for row, else the bench fails.
wire_overhead_ratio = the sum of the extended protocol's per-query
medians / the sum of the in-process ones (goal: at most 1.10 at SF 1).

Then the same small query from 1, 8 and 32 clients at once (a connection each,
extended protocol, each client querying again as soon as answered) for
--duration each: queries/s (queries over the wall time), p50 and p99.
Last, 8 clients again while a load of 30 more days of exports commits:
p99 of the queries started during the load against the idle p99 at 8
clients (goal: at most 3 times). JSON keys:
  sides[]        name, queries_per_sec, p50_ms, p99_ms (the small query)
  analyst_p50_ratio
  wire_overhead_ratio
  ssb            sf, lineorder_rows, generate_seconds, rounds,
                 in_process_ms, wire_extended_ms, wire_simple_ms (sums of
                 medians), wire_overhead_ratio, wire_simple_ratio, loadavg,
                 queries[] (name, rows, in_process_ms, wire_extended_ms,
                 wire_simple_ms, extended_ratio, simple_ratio)
  concurrency[]  clients, queries, seconds, queries_per_sec, p50_ms, p99_ms
  under_load     clients, load_rows, load_seconds, queries, p50_ms, p99_ms,
                 idle_p99_ms, p99_ratio (p99_ms / idle_p99_ms)
  loadavg        the 1-minute load average before and after`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.customers < 10 {
				return usageErrorf("--customers %d: want at least 10", opts.customers)
			}
			if opts.queries < 10 {
				return usageErrorf("--queries %d: want at least 10", opts.queries)
			}
			if opts.duration <= 0 {
				return usageErrorf("--duration %v: want a positive duration, e.g. 5s", opts.duration)
			}
			if !(opts.ssbSF > 0) || math.IsInf(opts.ssbSF, 0) {
				return usageErrorf("--ssb-sf %v: want a positive scale factor, e.g. 0.01 or 1", opts.ssbSF)
			}
			if opts.ssbRounds < 1 {
				return usageErrorf("--ssb-rounds %d: want at least 1", opts.ssbRounds)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchServeRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.customers, "customers", 1000, "customers in the generated exports")
	cmd.Flags().IntVar(&opts.queries, "queries", 2000, "queries timed each way")
	cmd.Flags().DurationVar(&opts.duration, "duration", 5*time.Second, "how long each concurrency level (1, 8, 32 clients) runs")
	cmd.Flags().Float64Var(&opts.ssbSF, "ssb-sf", 1, "scale factor of the SSB tables the 13 SSB queries run on (1 = 6 million lineorder rows)")
	cmd.Flags().IntVar(&opts.ssbRounds, "ssb-rounds", 5, "timed rounds of the 13 SSB queries (the median of each is reported)")
	return cmd
}

// serveBenchSide is the timing of one way of running the query.
type serveBenchSide struct {
	Name          string  `json:"name"`
	QueriesPerSec float64 `json:"queries_per_sec"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
}

const benchServeQuery = "SELECT count(*), sum(quantity) FROM fact_sales WHERE quantity > $1"

func benchServeRun(ctx context.Context, o *benchServeOptions) error {
	a := o.app
	dir, err := os.MkdirTemp("", "ckm-bench-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exports := filepath.Join(dir, "exports")
	if _, err := fixtures.Generate(ctx, fixtures.Options{Out: exports, Customers: o.customers, Days: 90, Seed: 1}); err != nil {
		return err
	}
	w, err := engine.Open(ctx, filepath.Join(dir, "bench.duckdb"), engine.Options{})
	if err != nil {
		return err
	}
	defer w.Close()
	if _, err := etl.Load(ctx, w, []string{exports}, etl.Options{}); err != nil {
		return err
	}
	a.logf("generating SSB at SF %v …", o.ssbSF)
	t0 := time.Now()
	if err := ssb.Generate(ctx, w.DB, o.ssbSF); err != nil {
		return err
	}
	ssbGen := time.Since(t0)
	var ssbLines int64
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM lineorder`).Scan(&ssbLines); err != nil {
		return err
	}
	a.logf("%d lineorder rows in %v", ssbLines, ssbGen.Round(time.Millisecond))
	srv, stopServer, err := benchServeStart(ctx, w)
	if err != nil {
		return err
	}
	defer stopServer()

	type answer struct{ n, qty int64 }
	want := map[int]answer{}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	inProc := func(q int) (answer, error) {
		var r answer
		err := conn.QueryRowContext(ctx, "SELECT count(*), sum(quantity) FROM fact_sales WHERE quantity > ?", q).Scan(&r.n, &r.qty)
		return r, err
	}
	for q := range 4 {
		if want[q], err = inProc(q); err != nil {
			return err
		}
	}
	wire := func(user string, mode pgx.QueryExecMode) (func(int) (answer, error), func(), error) {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s:bench@%s/ckm?sslmode=disable", user, srv.Addr()))
		if err != nil {
			return nil, nil, err
		}
		cfg.DefaultQueryExecMode = mode
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return func(q int) (answer, error) {
			var r answer
			err := c.QueryRow(ctx, benchServeQuery, q).Scan(&r.n, &r.qty)
			return r, err
		}, func() { c.Close(ctx) }, nil
	}
	names := []string{"in_process", "wire_extended", "wire_simple", "wire_simple_analyst"}
	runs := []func(int) (answer, error){inProc}
	for _, way := range []struct {
		user string
		mode pgx.QueryExecMode
	}{{"bench", pgx.QueryExecModeCacheStatement}, {"bench", pgx.QueryExecModeSimpleProtocol}, {"analyst", pgx.QueryExecModeSimpleProtocol}} {
		run, closeConn, err := wire(way.user, way.mode)
		if err != nil {
			return err
		}
		defer closeConn()
		runs = append(runs, run)
	}
	// The sides take turns, query by query, so the other work of the
	// machine falls on each alike; each side's time is the sum of its
	// latencies.
	lat := make([][]time.Duration, len(runs))
	for i := -20; i < o.queries; i++ { // 20 to warm up
		q := (i + 20) % 4
		for s, run := range runs {
			t0 := time.Now()
			got, err := run(q)
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("%s: %w", names[s], err)
			}
			if got != want[q] {
				return fmt.Errorf("%s: quantity > %d answered %+v, in process %+v", names[s], q, got, want[q])
			}
			if i >= 0 {
				lat[s] = append(lat[s], d)
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	sides := make([]serveBenchSide, len(runs))
	for s := range runs {
		var total time.Duration
		for _, d := range lat[s] {
			total += d
		}
		l := lat[s]
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		sides[s] = serveBenchSide{Name: names[s], QueriesPerSec: float64(len(l)) / total.Seconds(), P50ms: ms(l[len(l)/2]), P99ms: ms(l[len(l)*99/100])}
	}
	ssbLoad0 := loadAverage()
	ssbQueries, err := benchServeSSB(ctx, conn, srv.Addr().String(), ssb.Queries, o.ssbRounds)
	if err != nil {
		return err
	}
	ssbRes := ssbWireSummary(o.ssbSF, ssbLines, ssbGen, o.ssbRounds, ssbQueries)
	ssbRes.Loadavg = map[string]any{"before": ssbLoad0, "after": loadAverage()}
	var lines int64
	w.DB.QueryRowContext(ctx, "SELECT count(*) FROM fact_sales").Scan(&lines)
	load0 := loadAverage()
	check := func(q int, n, qty int64) error {
		if r := want[q]; r.n != n || r.qty != qty {
			return fmt.Errorf("quantity > %d answered %d, %d; in process %+v", q, n, qty, r)
		}
		return nil
	}
	var levels []concurrencyResult
	for _, n := range []int{1, 8, 32} {
		r, err := benchClients(ctx, srv.Addr().String(), n, check, func(stop chan struct{}) error {
			time.Sleep(o.duration)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%d clients: %w", n, err)
		}
		levels = append(levels, r.concurrencyResult)
	}
	// 8 clients while a load commits: the next 30 days of the same shop.
	more := filepath.Join(dir, "more")
	if _, err := fixtures.Generate(ctx, fixtures.Options{Out: more, Customers: o.customers, Days: 30, Seed: 1,
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 90)}); err != nil {
		return err
	}
	var loadRep *etl.Report
	var loadStart, loadEnd time.Time
	busy, err := benchClients(ctx, srv.Addr().String(), 8, nil, func(stop chan struct{}) error {
		time.Sleep(200 * time.Millisecond) // the clients at full speed first
		loadStart = time.Now()
		rep, err := etl.Load(ctx, w, []string{more}, etl.Options{})
		loadEnd = time.Now()
		loadRep = rep
		return err
	})
	if err != nil {
		return fmt.Errorf("8 clients during a load: %w", err)
	}
	during := busy.between(loadStart, loadEnd)
	underLoad := map[string]any{"clients": 8, "load_rows": loadRep.Loaded, "load_seconds": loadEnd.Sub(loadStart).Seconds(),
		"queries": len(during), "p50_ms": ms(quantile(during, 0.50)), "p99_ms": ms(quantile(during, 0.99)),
		"idle_p99_ms": levels[1].P99ms, "p99_ratio": ms(quantile(during, 0.99)) / levels[1].P99ms}
	load1 := loadAverage()
	out := map[string]any{
		"query": benchServeQuery, "fact_sales_lines": lines, "queries": o.queries, "cpus": runtime.NumCPU(), "sides": sides,
		"wire_extended_ratio":     sides[0].QueriesPerSec / sides[1].QueriesPerSec,
		"wire_simple_ratio":       sides[0].QueriesPerSec / sides[2].QueriesPerSec,
		"wire_extended_p50_ratio": sides[1].P50ms / sides[0].P50ms,
		"wire_simple_p50_ratio":   sides[2].P50ms / sides[0].P50ms,
		"analyst_p50_ratio":       sides[3].P50ms / sides[2].P50ms,
		"ssb":                     ssbRes, "wire_overhead_ratio": ssbRes.WireOverheadRatio,
		"concurrency": levels, "under_load": underLoad,
		"loadavg": map[string]any{"before": load0, "after": load1},
	}
	if a.format() == formatJSON {
		return writeJSON(a, out)
	}
	var rows [][]any
	for _, s := range sides {
		rows = append(rows, []any{s.Name, fmt.Sprintf("%.0f", s.QueriesPerSec), fmt.Sprintf("%.3f", s.P50ms), fmt.Sprintf("%.3f", s.P99ms),
			fmt.Sprintf("%.2f", sides[0].QueriesPerSec/s.QueriesPerSec)})
	}
	if err := a.printTable([]string{"side", "queries_per_sec", "p50_ms", "p99_ms", "time_ratio_vs_in_process"}, rows); err != nil {
		return err
	}
	a.logf("%d queries each way, taking turns, on %d fact_sales lines; one connection each, one query at a time", o.queries, lines)
	rows = nil
	for _, q := range ssbRes.Queries {
		rows = append(rows, []any{q.Name, q.Rows, fmt.Sprintf("%.1f", q.InProcessMS), fmt.Sprintf("%.1f", q.WireExtendedMS), fmt.Sprintf("%.1f", q.WireSimpleMS),
			fmt.Sprintf("%.3f", q.ExtendedRatio), fmt.Sprintf("%.3f", q.SimpleRatio)})
	}
	rows = append(rows, []any{"all 13", "", fmt.Sprintf("%.1f", ssbRes.InProcessMS), fmt.Sprintf("%.1f", ssbRes.WireExtendedMS), fmt.Sprintf("%.1f", ssbRes.WireSimpleMS),
		fmt.Sprintf("%.3f", ssbRes.WireOverheadRatio), fmt.Sprintf("%.3f", ssbRes.WireSimpleRatio)})
	if err := a.printTable([]string{"ssb_query", "rows", "in_process_ms", "wire_extended_ms", "wire_simple_ms", "extended_ratio", "simple_ratio"}, rows); err != nil {
		return err
	}
	a.logf("SSB at SF %v (%d lineorder rows), median of %d rounds each way; wire_overhead_ratio %.3f (goal ≤ 1.10 at SF 1)", ssbRes.SF, ssbRes.LineorderRows, ssbRes.Rounds, ssbRes.WireOverheadRatio)
	rows = nil
	for _, l := range levels {
		rows = append(rows, []any{l.Clients, "idle", l.Queries, fmt.Sprintf("%.0f", l.QueriesPerSec), fmt.Sprintf("%.3f", l.P50ms), fmt.Sprintf("%.3f", l.P99ms)})
	}
	rows = append(rows, []any{8, fmt.Sprintf("load of %d rows, %.1fs", loadRep.Loaded, loadEnd.Sub(loadStart).Seconds()), len(during), "",
		fmt.Sprintf("%.3f", underLoad["p50_ms"]), fmt.Sprintf("%.3f", underLoad["p99_ms"])})
	if err := a.printTable([]string{"clients", "while", "queries", "queries_per_sec", "p50_ms", "p99_ms"}, rows); err != nil {
		return err
	}
	a.logf("p99 at 8 clients during the load: %.2f× idle (goal ≤ 3); load average %v before, %v after", underLoad["p99_ratio"], load0, load1)
	return nil
}

// benchServeStart serves w on a free loopback port to the admin user bench
// and the analyst user analyst (password bench each) until the returned
// stop is called.
func benchServeStart(ctx context.Context, w *engine.Warehouse) (*serve.Server, func(), error) {
	verifier, err := serve.HashPassword("bench")
	if err != nil {
		return nil, nil, err
	}
	srv, err := serve.New(w, serve.Config{Listen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: serve.Auth{Users: map[string]serve.User{"bench": {Name: "bench", Role: privacy.Admin, Verifier: verifier},
			"analyst": {Name: "analyst", Role: privacy.Analyst, Verifier: verifier}}}})
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Listen(); err != nil {
		return nil, nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx) }()
	return srv, func() { stop(); <-done }, nil
}

// concurrencyResult is one concurrency level of ckm bench serve.
type concurrencyResult struct {
	Clients       int     `json:"clients"`
	Queries       int     `json:"queries"`
	Seconds       float64 `json:"seconds"`
	QueriesPerSec float64 `json:"queries_per_sec"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
}

// timedQuery is one query of a client: when it started and how long it took.
type timedQuery struct {
	start time.Time
	d     time.Duration
}

// clientsRun is what benchClients measured.
type clientsRun struct {
	concurrencyResult
	queries []timedQuery
}

// between are the latencies of the queries started in [from, to].
func (r clientsRun) between(from, to time.Time) []time.Duration {
	var out []time.Duration
	for _, q := range r.queries {
		if !q.start.Before(from) && !q.start.After(to) {
			out = append(out, q.d)
		}
	}
	return out
}

// benchClients runs n clients, each on its own connection querying
// benchServeQuery again as soon as it is answered, while during runs; then
// stops them. check, when set, checks every answer.
func benchClients(ctx context.Context, addr string, n int, check func(q int, count, qty int64) error, during func(stop chan struct{}) error) (clientsRun, error) {
	conns := make([]*pgx.Conn, n)
	for i := range conns {
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://bench:bench@%s/ckm?sslmode=disable", addr))
		if err != nil {
			return clientsRun{}, err
		}
		defer c.Close(ctx)
		conns[i] = c
	}
	stop := make(chan struct{})
	results := make([][]timedQuery, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				q := (i + k) % 4
				var count, qty int64
				start := time.Now()
				err := c.QueryRow(ctx, benchServeQuery, q).Scan(&count, &qty)
				d := time.Since(start)
				if err == nil && check != nil {
					err = check(q, count, qty)
				}
				if err != nil {
					errs[i] = err
					return
				}
				results[i] = append(results[i], timedQuery{start, d})
			}
		}()
	}
	derr := during(stop)
	close(stop)
	wg.Wait()
	wall := time.Since(t0)
	if derr != nil {
		return clientsRun{}, derr
	}
	for i, err := range errs {
		if err != nil {
			return clientsRun{}, fmt.Errorf("client %d: %w", i+1, err)
		}
	}
	var all []timedQuery
	var lat []time.Duration
	for _, r := range results {
		all = append(all, r...)
		for _, q := range r {
			lat = append(lat, q.d)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return clientsRun{concurrencyResult{Clients: n, Queries: len(lat), Seconds: wall.Seconds(), QueriesPerSec: float64(len(lat)) / wall.Seconds(),
		P50ms: ms(quantile(lat, 0.50)), P99ms: ms(quantile(lat, 0.99))}, all}, nil
}

// quantile is the q-quantile of ds (nearest rank; 0 for none).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
