package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/serve"
)

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchServeCmd(a, nil) })
}

// benchServeOptions are what ckm bench serve's flags resolve to.
type benchServeOptions struct {
	app       *app
	customers int // checked: at least 10
	queries   int // checked: at least 10
}

// newBenchServeCmd builds ckm bench serve; runF, when not nil, runs instead
// of benchServeRun.
func newBenchServeCmd(a *app, runF func(context.Context, *benchServeOptions) error) *cobra.Command {
	opts := &benchServeOptions{app: a}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Time a small query over the PostgreSQL protocol against the same query in process",
		Long: `Generate exports for --customers customers, load them into a scratch
warehouse and serve it on a free loopback port. Then run the same small
parameterised query (count and sum of fact_sales above a quantity) --queries
times each way on one connection each, the three ways taking turns query
by query (so the machine's other work falls on each alike):
  in_process   database/sql on the warehouse, no server
  wire_extended pgx over the PostgreSQL protocol, prepared (extended protocol)
  wire_simple  pgx with the simple protocol
and report queries/s (from the sum of latencies), p50/p99 latency and the
wire/in-process ratios of time and of p50.
Every answer over the wire must equal the in-process one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.customers < 10 {
				return usageErrorf("--customers %d: want at least 10", opts.customers)
			}
			if opts.queries < 10 {
				return usageErrorf("--queries %d: want at least 10", opts.queries)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchServeRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.customers, "customers", 1000, "customers in the generated exports")
	cmd.Flags().IntVar(&opts.queries, "queries", 2000, "queries timed each way")
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
	verifier, err := serve.HashPassword("bench")
	if err != nil {
		return err
	}
	srv, err := serve.New(w, serve.Config{Listen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: serve.Auth{Users: map[string]serve.User{"bench": {Name: "bench", Role: privacy.Admin, Verifier: verifier}}}})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx) }()
	defer func() { stop(); <-done }()

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
	wire := func(mode pgx.QueryExecMode) (func(int) (answer, error), func(), error) {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://bench:bench@%s/ckm?sslmode=disable", srv.Addr()))
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
	names := []string{"in_process", "wire_extended", "wire_simple"}
	runs := []func(int) (answer, error){inProc}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		run, closeConn, err := wire(mode)
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
	var lines int64
	w.DB.QueryRowContext(ctx, "SELECT count(*) FROM fact_sales").Scan(&lines)
	out := map[string]any{
		"query": benchServeQuery, "fact_sales_lines": lines, "queries": o.queries, "cpus": runtime.NumCPU(), "sides": sides,
		"wire_extended_ratio":     sides[0].QueriesPerSec / sides[1].QueriesPerSec,
		"wire_simple_ratio":       sides[0].QueriesPerSec / sides[2].QueriesPerSec,
		"wire_extended_p50_ratio": sides[1].P50ms / sides[0].P50ms,
		"wire_simple_p50_ratio":   sides[2].P50ms / sides[0].P50ms,
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
	return nil
}
