package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures/ssb"
	"github.com/ckm-dev/ckm/olap"
)

func init() { registerBenchCommand(func(a *app) *cobra.Command { return newBenchOLAPCmd(a, nil) }) }

// benchOLAPOptions are what ckm bench olap's flags resolve to.
type benchOLAPOptions struct {
	app       *app
	sf        float64 // checked: positive and finite
	runs      int     // checked: at least 1
	warehouse string
	reuse     bool
	from      string // a directory of ssb-dbgen .tbl files to load instead of generating; not with --sf or --reuse
}

// newBenchOLAPCmd builds ckm bench olap; runF, when not nil, runs instead
// of benchOLAPRun with the parsed options.
func newBenchOLAPCmd(a *app, runF func(context.Context, *benchOLAPOptions) error) *cobra.Command {
	o := &benchOLAPOptions{app: a}
	cmd := &cobra.Command{
		Use:   "olap [--sf N | --from DIR]",
		Short: "Time the 13 SSB queries as cube queries against hand-written SQL, and rollup routing",
		Long: `Load SSB at scale factor N into a fresh warehouse (in memory unless --bench-warehouse),
or with --from DIR the .tbl files that the public generator ssb-dbgen wrote into DIR,
then in the same run time each of the 13 SSB queries (Q1.1–Q4.3) as a cube query
(compile + execute over the base tables) and as the standard hand-written SQL,
both in each run, which one first alternating, median of --runs runs (the two
must return the same rows, else the benchmark fails); ratio = median cube /
median hand-written, pair_ratio = the median of each run's cube / hand-written
(the steadier figure on a busy machine). Then materialize
the ssb cube's rollups and time coarse drill-downs with and without them
(checking every cell is the same); rollup_speedup is the median raw / rollup.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkScaleFactor(o.sf); err != nil {
				return err
			}
			if o.runs < 1 {
				return usageErrorf("--runs %d: want at least 1", o.runs)
			}
			if o.from != "" && cmd.Flags().Changed("sf") {
				return usageErrorf("--sf %v with --from %s: the scale factor is the one the files were generated at; give one of them", o.sf, o.from)
			}
			if o.from != "" && o.reuse {
				return usageErrorf("--reuse with --from %s: --from always loads its files; give one of them", o.from)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return benchOLAPRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.sf, "sf", 1, "SSB scale factor (1 = 6 million lineorder rows)")
	f.IntVar(&o.runs, "runs", 5, "timed runs per query (the median is reported)")
	f.StringVar(&o.warehouse, "bench-warehouse", "", "warehouse file to build SSB in (default: in memory)")
	f.BoolVar(&o.reuse, "reuse", false, "with --bench-warehouse: reuse SSB tables already there at this scale factor")
	f.StringVar(&o.from, "from", "", "load the .tbl files of the public generator ssb-dbgen from this directory instead of generating")
	return cmd
}

// benchSSBQueries are the hand-written SSB queries the cube queries race; a
// variable so a test can make the two sides disagree.
var benchSSBQueries = ssb.Queries

type benchQuery struct {
	Name      string  `json:"name"`
	CubeMS    float64 `json:"cube_ms"`
	HandMS    float64 `json:"hand_ms"`
	Ratio     float64 `json:"ratio"`
	BestRatio float64 `json:"best_ratio"` // fastest cube run / fastest hand-written run
	PairRatio float64 `json:"pair_ratio"` // median over runs of cube / hand-written in the same run
	CompileUS float64 `json:"compile_us"`
	Rows      int     `json:"rows"`
}

type benchDrill struct {
	Name     string  `json:"name"`
	RawMS    float64 `json:"raw_ms"`
	RollupMS float64 `json:"rollup_ms"`
	Speedup  float64 `json:"speedup"`
	Rollup   string  `json:"rollup"`
}

// ssbDrillDowns are coarse drill-downs an analyst starts from.
var ssbDrillDowns = []struct {
	name string
	q    olap.Query
}{
	{"revenue by year", olap.Query{Measures: []string{"revenue"}, Rows: []string{"date.year"}}},
	{"revenue by year and customer region", olap.Query{Measures: []string{"revenue", "lines"}, Rows: []string{"date.year", "customer.region"}}},
	{"drill ASIA into nations", olap.Query{Measures: []string{"revenue"}, Rows: []string{"customer.region"}, Drill: &olap.Drill{Level: "customer.region", Member: "ASIA"}}},
	{"drill 1997 into months", olap.Query{Measures: []string{"profit"}, Rows: []string{"date.year"}, Drill: &olap.Drill{Level: "date.year", Member: 1997}}},
	{"mfgr > category with subtotals", olap.Query{Measures: []string{"revenue", "avg_discount"}, Rows: []string{"part.mfgr", "part.category"}, Totals: true}},
	{"supplier region by year pivot", olap.Query{Measures: []string{"discount_revenue"}, Rows: []string{"supplier.region"}, Cols: []string{"date.year"}, Totals: true}},
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func medianFloat(x []float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func minDuration(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func benchOLAPRun(ctx context.Context, o *benchOLAPOptions) error {
	a := o.app
	w, err := engine.Open(ctx, o.warehouse, engine.Options{})
	if err != nil {
		return err
	}
	defer w.Close()
	lines, genTime, err := benchSSBData(ctx, o, w)
	if err != nil {
		return err
	}
	m, err := a.cubeModel()
	if err != nil {
		return err
	}
	cube, err := m.Cube("ssb")
	if err != nil {
		return err
	}
	if err := olap.Validate(ctx, w.DB, cube); err != nil {
		return err
	}
	queries, err := benchCubeQueries(ctx, o, w, cube)
	if err != nil {
		return err
	}
	buildTime, drills, err := benchDrillDowns(ctx, o, w, cube)
	if err != nil {
		return err
	}
	summary := benchOLAPSummary(o, lines, genTime, buildTime, queries, drills)
	if a.format() == formatJSON {
		return writeJSON(a, summary)
	}
	return printBenchOLAP(a, summary, queries, drills)
}

// benchSSBData fills w with SSB: the ssb-dbgen files of --from, the tables
// already there (--reuse at the same scale factor), or generated at --sf.
// It returns the lineorder rows and the time it took.
func benchSSBData(ctx context.Context, o *benchOLAPOptions, w *engine.Warehouse) (int64, time.Duration, error) {
	a := o.app
	start := time.Now()
	var lines, orders int64
	switch {
	case o.from != "":
		a.logf("loading the ssb-dbgen files of %s …", o.from)
		if err := loadSSBFiles(ctx, w.DB, o.from); err != nil {
			return 0, 0, err
		}
	case o.reuse:
		// A missing table is fine: it just means generating.
		_ = w.DB.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT lo_orderkey) FROM lineorder`).Scan(&lines, &orders)
		if orders == ssb.SizesFor(o.sf).Orders {
			a.logf("reusing the SSB tables of %s", o.warehouse)
			break
		}
		fallthrough
	default:
		a.logf("generating SSB at SF %v …", o.sf)
		if err := ssb.Generate(ctx, w.DB, o.sf); err != nil {
			return 0, 0, err
		}
	}
	took := time.Since(start)
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM lineorder`).Scan(&lines); err != nil {
		return 0, 0, err
	}
	a.logf("%d lineorder rows ready in %v", lines, took.Round(time.Millisecond))
	return lines, took, nil
}

// benchCubeQueries times each SSB query as a cube query (compile and run)
// and as the hand-written SQL, alternating, after one untimed run of each;
// it fails when the two answers differ.
func benchCubeQueries(ctx context.Context, o *benchOLAPOptions, w *engine.Warehouse, cube *olap.Cube) ([]benchQuery, error) {
	var queries []benchQuery
	for i, sq := range olap.SSBQueries {
		hand := benchSSBQueries[i]
		q := sq.Query
		q.NoRollups = true
		compile, err := compileTime(cube, q)
		if err != nil {
			return nil, err
		}
		planned, err := olap.Plan(cube, q, nil)
		if err != nil {
			return nil, err
		}
		order, err := handColumnOrder(ctx, w, planned.Columns, hand.SQL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sq.Name, err)
		}
		var cubeT, handT []time.Duration
		var n int
		runCube := func() ([][]any, time.Duration, error) {
			t0 := time.Now()
			text, args, err := olap.Compile(cube, q)
			if err != nil {
				return nil, 0, err
			}
			rows, err := olap.Run(ctx, w, text, args)
			if err != nil {
				return nil, 0, fmt.Errorf("%s cube: %w", sq.Name, err)
			}
			return rows, time.Since(t0), nil
		}
		runHand := func() ([][]any, time.Duration, error) {
			t0 := time.Now()
			rows, err := olap.Run(ctx, w, hand.SQL, nil)
			if err != nil {
				return nil, 0, fmt.Errorf("%s hand-written: %w", sq.Name, err)
			}
			return rows, time.Since(t0), nil
		}
		var pairs []float64
		for k := -1; k < o.runs; k++ {
			// Each run times both, the cube first on even runs and the
			// hand-written SQL first on odd ones, so neither always runs
			// on the other's warm caches.
			var rows, hrows [][]any
			var d, hd time.Duration
			var err error
			if k%2 == 0 {
				if rows, d, err = runCube(); err == nil {
					hrows, hd, err = runHand()
				}
			} else if hrows, hd, err = runHand(); err == nil {
				rows, d, err = runCube()
			}
			if err != nil {
				return nil, err
			}
			if diff := answerDiff(rows, hrows, order); diff != "" {
				// The timings of two queries that disagree compare nothing.
				return nil, fmt.Errorf("bench olap: %s: the cube and the hand-written SQL disagree: %s", sq.Name, diff)
			}
			n = len(rows)
			if k >= 0 {
				cubeT, handT = append(cubeT, d), append(handT, hd)
				pairs = append(pairs, float64(d)/float64(hd))
			}
		}
		bq := benchQuery{Name: sq.Name, CubeMS: ms(median(cubeT)), HandMS: ms(median(handT)), CompileUS: float64(compile.Nanoseconds()) / 1000, Rows: n}
		bq.Ratio = bq.CubeMS / bq.HandMS
		bq.BestRatio = float64(minDuration(cubeT)) / float64(minDuration(handT))
		bq.PairRatio = medianFloat(pairs)
		queries = append(queries, bq)
		o.app.logf("%s cube %.1f ms, hand %.1f ms, ratio %.3f, pair ratio %.3f, compile %.0f µs", bq.Name, bq.CubeMS, bq.HandMS, bq.Ratio, bq.PairRatio, bq.CompileUS)
	}
	return queries, nil
}

// compileTime is the median time of many compilations of q.
func compileTime(cube *olap.Cube, q olap.Query) (time.Duration, error) {
	const compiles = 200
	var ct []time.Duration
	for k := 0; k < compiles; k++ {
		t0 := time.Now()
		if _, _, err := olap.Compile(cube, q); err != nil {
			return 0, err
		}
		ct = append(ct, time.Since(t0))
	}
	return median(ct), nil
}

// benchDrillDowns materializes the cube's rollups, then times each coarse
// drill-down from the base tables and from its rollup, alternating; it
// fails when the two answers differ. It returns the rollups' build time.
func benchDrillDowns(ctx context.Context, o *benchOLAPOptions, w *engine.Warehouse, cube *olap.Cube) (time.Duration, []benchDrill, error) {
	t0 := time.Now()
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, nil, err
	}
	if err := olap.RefreshCubeRollups(ctx, tx, cube, nil); err != nil {
		tx.Rollback()
		return 0, nil, err
	}
	if err := tx.Commit(); err != nil {
		return 0, nil, err
	}
	buildTime := time.Since(t0)
	version, err := w.DataVersion(ctx)
	if err != nil {
		return 0, nil, err
	}
	avail, err := olap.AvailableRollups(ctx, w.DB, cube, version)
	if err != nil {
		return 0, nil, err
	}
	var drills []benchDrill
	for _, dd := range ssbDrillDowns {
		q := dd.q
		q.Cube = "ssb"
		raw := q
		raw.NoRollups = true
		var rawT, rollT []time.Duration
		var chosen string
		for k := -1; k < o.runs; k++ {
			t0 := time.Now()
			pr, err := olap.Plan(cube, raw, avail)
			if err != nil {
				return 0, nil, err
			}
			rawRows, err := olap.Run(ctx, w, pr.SQL, pr.Args)
			if err != nil {
				return 0, nil, err
			}
			rd := time.Since(t0)
			t0 = time.Now()
			pp, err := olap.Plan(cube, q, avail)
			if err != nil {
				return 0, nil, err
			}
			rolled, err := olap.Run(ctx, w, pp.SQL, pp.Args)
			if err != nil {
				return 0, nil, err
			}
			rl := time.Since(t0)
			chosen = pp.Rollup
			if fmt.Sprint(rawRows) != fmt.Sprint(rolled) {
				return 0, nil, fmt.Errorf("%s: the rollup answer differs from the base tables", dd.name)
			}
			if k >= 0 {
				rawT, rollT = append(rawT, rd), append(rollT, rl)
			}
		}
		bd := benchDrill{Name: dd.name, RawMS: ms(median(rawT)), RollupMS: ms(median(rollT)), Rollup: chosen}
		bd.Speedup = bd.RawMS / bd.RollupMS
		drills = append(drills, bd)
		o.app.logf("%s: raw %.1f ms, rollup %s %.2f ms, speedup %.1f", bd.Name, bd.RawMS, bd.Rollup, bd.RollupMS, bd.Speedup)
	}
	return buildTime, drills, nil
}

// benchOLAPSummary is the record of a run: its inputs, the worst ratios
// and compile time, and the median rollup speedup.
func benchOLAPSummary(o *benchOLAPOptions, lines int64, genTime, buildTime time.Duration, queries []benchQuery, drills []benchDrill) map[string]any {
	maxRatio, maxBest, maxPair, maxCompile := 0.0, 0.0, 0.0, 0.0
	for _, q := range queries {
		maxRatio = max(maxRatio, q.Ratio)
		maxPair = max(maxPair, q.PairRatio)
		maxBest = max(maxBest, q.BestRatio)
		maxCompile = max(maxCompile, q.CompileUS)
	}
	var speedups []float64
	for _, d := range drills {
		speedups = append(speedups, d.Speedup)
	}
	rollupSpeedup := medianFloat(speedups)
	data := fmt.Sprintf("generator at SF %v", o.sf)
	if o.from != "" {
		data = "ssb-dbgen files of " + o.from
	}
	return map[string]any{
		"sf": o.sf, "data": data, "runs": o.runs, "lineorder_rows": lines, "generate_s": genTime.Seconds(),
		"max_ratio": maxRatio, "max_best_ratio": maxBest, "max_pair_ratio": maxPair, "max_compile_us": maxCompile, "rollup_build_s": buildTime.Seconds(),
		"rollup_speedup": rollupSpeedup, "queries": queries, "drilldowns": drills,
	}
}

func printBenchOLAP(a *app, summary map[string]any, queries []benchQuery, drills []benchDrill) error {
	var rows [][]any
	for _, q := range queries {
		rows = append(rows, []any{q.Name, fmt.Sprintf("%.1f", q.CubeMS), fmt.Sprintf("%.1f", q.HandMS), fmt.Sprintf("%.3f", q.Ratio), fmt.Sprintf("%.3f", q.BestRatio), fmt.Sprintf("%.3f", q.PairRatio), fmt.Sprintf("%.0f", q.CompileUS), q.Rows})
	}
	if err := a.printTable([]string{"query", "cube_ms", "hand_ms", "ratio", "best_ratio", "pair_ratio", "compile_us", "rows"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	rows = nil
	for _, d := range drills {
		rows = append(rows, []any{d.Name, fmt.Sprintf("%.1f", d.RawMS), fmt.Sprintf("%.2f", d.RollupMS), d.Rollup, fmt.Sprintf("%.1f", d.Speedup)})
	}
	if err := a.printTable([]string{"drill-down", "raw_ms", "rollup_ms", "rollup", "speedup"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	return a.printRecord(summary, []string{"data", "lineorder_rows", "generate_s", "max_ratio", "max_best_ratio", "max_pair_ratio", "max_compile_us", "rollup_build_s", "rollup_speedup"})
}
