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
times, one after another, on one connection each way:
  in_process   database/sql on the warehouse, no server
  wire_extended pgx over the PostgreSQL protocol, prepared (extended protocol)
  wire_simple  pgx with the simple protocol
and report queries/s, p50/p99 latency and wire/in-process time ratios.
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
	timeSide := func(name string, run func(q int) (answer, error)) (serveBenchSide, error) {
		for i := range 20 { // warm up
			if _, err := run(i % 4); err != nil {
				return serveBenchSide{}, err
			}
		}
		lat := make([]time.Duration, o.queries)
		start := time.Now()
		for i := range o.queries {
			t0 := time.Now()
			got, err := run(i % 4)
			lat[i] = time.Since(t0)
			if err != nil {
				return serveBenchSide{}, fmt.Errorf("%s: %w", name, err)
			}
			if got != want[i%4] {
				return serveBenchSide{}, fmt.Errorf("%s: quantity > %d answered %+v, in process %+v", name, i%4, got, want[i%4])
			}
		}
		total := time.Since(start)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		return serveBenchSide{Name: name, QueriesPerSec: float64(o.queries) / total.Seconds(), P50ms: ms(lat[len(lat)/2]), P99ms: ms(lat[len(lat)*99/100])}, nil
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
	sides := []serveBenchSide{}
	s, err := timeSide("in_process", inProc)
	if err != nil {
		return err
	}
	sides = append(sides, s)
	for _, m := range []struct {
		name string
		mode pgx.QueryExecMode
	}{{"wire_extended", pgx.QueryExecModeCacheStatement}, {"wire_simple", pgx.QueryExecModeSimpleProtocol}} {
		run, closeConn, err := wire(m.mode)
		if err != nil {
			return err
		}
		s, err := timeSide(m.name, run)
		closeConn()
		if err != nil {
			return err
		}
		sides = append(sides, s)
	}
	var lines int64
	w.DB.QueryRowContext(ctx, "SELECT count(*) FROM fact_sales").Scan(&lines)
	out := map[string]any{
		"query": benchServeQuery, "fact_sales_lines": lines, "queries": o.queries, "cpus": runtime.NumCPU(), "sides": sides,
		"wire_extended_ratio": sides[0].QueriesPerSec / sides[1].QueriesPerSec,
		"wire_simple_ratio":   sides[0].QueriesPerSec / sides[2].QueriesPerSec,
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
	a.logf("%d queries each way on %d fact_sales lines, one connection, one query at a time", o.queries, lines)
	return nil
}
