package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
	"github.com/ckm-dev/ckm/mining/cluster"
)

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchMiningCmd(a, nil) })
}

// benchMiningOptions are what ckm bench mining's flags resolve to.
type benchMiningOptions struct {
	app         *app
	repeat      int    // checked: at least 1
	orders      int    // checked: 0 (skip) or at least 1000
	weka        string // the Weka jar; a missing one skips the Weka peers with a note
	java        string // the java command
	wekaApriori bool   // run Weka Apriori (about a minute on Groceries)
	peerTimeout int    // seconds; checked: > 0
	kmeansRows  int    // checked: 0 (skip) or at least 1000
	python      string // Debian's python3 with python3-sklearn; missing: the peer is skipped with a note
	threads     int    // threads of both k-means sides; checked: at least 1
}

// newBenchMiningCmd builds ckm bench mining; runF, when not nil, runs
// instead of benchMiningRun with the parsed options.
func newBenchMiningCmd(a *app, runF func(context.Context, *benchMiningOptions) error) *cobra.Command {
	opts := &benchMiningOptions{app: a}
	cmd := &cobra.Command{
		Use:   "mining",
		Short: "Time association rules on Groceries against Weka, and on generated orders",
		Long: `Association rules on the built-in Groceries data (9,835 baskets) at support
0.001 / confidence 0.8, where arules finds exactly 410 rules:
  rules_seconds      a whole ` + "`ckm mine rules`" + ` command (process start, warehouse,
                     mining, knowledge-base write), best of --repeat; it must
                     find rules_count = 410, else the benchmark fails;
  weka_*             Weka FPGrowth and Apriori on the same baskets (ARFF), with
                     the rules each finds; skipped with a note when java or the
                     jar is missing;
  rules_1m_*         FP-Growth in process on --orders generated orders;
  kmeans_*           k-means k = 8 on --kmeans-rows × 8 standardised rows against
                     scikit-learn KMeans (lloyd, n_init = 1, the same initial
                     centroids, tol 1e-4, max_iter 300, --threads threads both
                     sides), run alternately --repeat times: kmeans_ratio is
                     ckm's median fit time over scikit-learn's (data loading
                     excluded both sides), kmeans_cpu_ratio the same in process
                     CPU seconds, kmeans_inertia_rel_diff the inertias' relative
                     difference; scikit-learn is skipped with a note when
                     --python or its sklearn module is missing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchMiningRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.repeat, "repeat", 3, "timed runs of ckm mine rules (the best counts)")
	f.IntVar(&opts.orders, "orders", 1000000, "generated orders for the large rules run (0: skip it)")
	f.StringVar(&opts.weka, "weka", "/usr/share/java/weka.jar", "the Weka jar (the Debian package's by default)")
	f.StringVar(&opts.java, "java", "java", "the java command for Weka")
	f.BoolVar(&opts.wekaApriori, "weka-apriori", true, "also run Weka Apriori (about a minute)")
	f.IntVar(&opts.peerTimeout, "peer-timeout", 600, "stop a peer after this many seconds")
	f.IntVar(&opts.kmeansRows, "kmeans-rows", 1000000, "rows of the k-means run (0: skip it)")
	f.StringVar(&opts.python, "python", "/usr/bin/python3", "the Python with scikit-learn (Debian's python3-sklearn)")
	f.IntVar(&opts.threads, "threads", 2, "threads of ckm's and scikit-learn's k-means")
	return cmd
}

// check checks the flags: each bad value is a usage error naming its flag.
func (o *benchMiningOptions) check() error {
	if o.repeat < 1 {
		return usageErrorf("--repeat %d: want at least 1", o.repeat)
	}
	if o.orders != 0 && o.orders < 1000 {
		return usageErrorf("--orders %d: want 0 (skip) or at least 1000", o.orders)
	}
	if o.peerTimeout <= 0 {
		return usageErrorf("--peer-timeout %d: want a positive number of seconds", o.peerTimeout)
	}
	if o.kmeansRows != 0 && o.kmeansRows < 1000 {
		return usageErrorf("--kmeans-rows %d: want 0 (skip) or at least 1000", o.kmeansRows)
	}
	if o.threads < 1 {
		return usageErrorf("--threads %d: want at least 1", o.threads)
	}
	return nil
}

// benchRulesArgs is the Groceries command line the benchmark times.
var benchRulesArgs = []string{"mine", "rules", "--source", "groceries", "--basket-col", "basket", "--item-col", "item",
	"--min-support", "0.001", "--min-confidence", "0.8", "--top", "1", "--format", "json"}

// groceriesRules is the number of rules arules finds at 0.001 / 0.8.
const groceriesRules = 410

func benchMiningRun(ctx context.Context, o *benchMiningOptions) error {
	a := o.app
	dir, err := os.MkdirTemp("", "ckm-bench-mining-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := map[string]any{"load_average_before": loadAverage(), "groceries_baskets": 9835,
		"min_support": 0.001, "min_confidence": 0.8}
	var notes []string

	wh := filepath.Join(dir, "groceries.duckdb")
	if err := writeGroceriesWarehouse(ctx, wh); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var times []float64
	for i := 0; i < o.repeat; i++ {
		cmd := exec.CommandContext(ctx, self, append([]string{"--warehouse", wh}, benchRulesArgs...)...)
		cmd.Stderr = os.Stderr
		start := time.Now()
		stdout, err := cmd.Output()
		times = append(times, time.Since(start).Seconds())
		if err != nil {
			return fmt.Errorf("bench mining: ckm mine rules: %w", err)
		}
		var res struct {
			Rules int `json:"rules"`
		}
		if err := json.Unmarshal(stdout, &res); err != nil {
			return fmt.Errorf("bench mining: ckm mine rules output: %w", err)
		}
		out["rules_count"] = res.Rules
		if res.Rules != groceriesRules {
			return fmt.Errorf("bench mining: ckm mine rules found %d rules on Groceries at 0.001 / 0.8, arules %d", res.Rules, groceriesRules)
		}
	}
	sort.Float64s(times)
	out["rules_seconds"], out["rules_seconds_runs"] = times[0], times
	a.logf("ckm mine rules (whole command): %d rules in %.3fs (best of %d)", groceriesRules, times[0], o.repeat)

	notes = append(notes, o.wekaPeers(ctx, dir, out)...)
	if o.orders > 0 {
		if err := benchRulesGenerated(ctx, o, out); err != nil {
			return err
		}
	}
	if o.kmeansRows > 0 {
		more, err := benchKMeans(ctx, o, dir, out)
		if err != nil {
			return err
		}
		notes = append(notes, more...)
	}
	out["notes"] = notes
	out["load_average_after"] = loadAverage()
	if a.format() == formatJSON {
		return writeJSON(a, out)
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return a.printRecord(out, keys)
}

// writeGroceriesWarehouse creates a warehouse file holding the built-in
// Groceries baskets as groceries(basket, item).
func writeGroceriesWarehouse(ctx context.Context, path string) error {
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		return err
	}
	defer w.Close()
	return mining.LoadGroceries(ctx, w.DB, "", "groceries")
}

// wekaPeers times Weka FPGrowth (and Apriori) on Groceries, adding their
// figures to out; it returns notes on what was skipped or failed.
func (o *benchMiningOptions) wekaPeers(ctx context.Context, dir string, out map[string]any) []string {
	if _, err := os.Stat(o.weka); err != nil {
		return []string{fmt.Sprintf("Weka skipped: %s not found (apt-get install weka)", o.weka)}
	}
	if _, err := exec.LookPath(o.java); err != nil {
		return []string{fmt.Sprintf("Weka skipped: %s not found", o.java)}
	}
	sparse, dense := filepath.Join(dir, "groceries-sparse.arff"), filepath.Join(dir, "groceries-dense.arff")
	if err := writeGroceriesARFF(sparse, dense); err != nil {
		return []string{"Weka skipped: " + err.Error()}
	}
	var notes []string
	thresholds := []string{"-N", "100000", "-T", "0", "-C", "0.8", "-D", "0.05", "-U", "1.0", "-M", "0.001"}
	peers := []struct {
		key, class, arff string
		extra            []string
		run              bool
	}{
		// FPGrowth reads binary {f,t} attributes, t (value 2) the item.
		{"weka_fpgrowth", "weka.associations.FPGrowth", sparse, []string{"-P", "2", "-I", "-1"}, true},
		// Apriori counts t and ignores missing values.
		{"weka_apriori", "weka.associations.Apriori", dense, nil, o.wekaApriori},
	}
	for _, p := range peers {
		if !p.run {
			notes = append(notes, p.key+" skipped (--weka-apriori=false)")
			continue
		}
		args := append(append([]string{"-cp", o.weka, p.class, "-t", p.arff}, p.extra...), thresholds...)
		secs, rules, single, err := runWeka(ctx, o.java, args, time.Duration(o.peerTimeout)*time.Second)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s failed: %v", p.key, err))
			continue
		}
		out[p.key+"_seconds"], out[p.key+"_rules"], out[p.key+"_rules_one_consequent"] = secs, rules, single
		out[p.key+"_command"] = o.java + " " + strings.Join(args, " ")
		o.app.logf("%s: %d rules (%d with one item on the right) in %.2fs (whole java command)", p.key, rules, single, secs)
		if single != groceriesRules {
			notes = append(notes, fmt.Sprintf("%s finds %d rules with one item on the right, not %d (%d in all)", p.key, single, groceriesRules, rules))
		}
	}
	return notes
}

// wekaRule is a rule line of Weka's output; the consequent's items end in =t.
var wekaRule = regexp.MustCompile(`(?m)^\s*\d+\. .*==>(.*?)\s+(?:\d+\s+)?<?conf:`)

// runWeka runs one Weka associator and counts the rules it prints, in all
// and with one item on the right (Weka's Apriori also forms rules with more).
func runWeka(ctx context.Context, java string, args []string, timeout time.Duration) (secs float64, rules, single int, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	b, err := exec.CommandContext(ctx, java, args...).CombinedOutput()
	secs = time.Since(start).Seconds()
	if ctx.Err() != nil {
		return 0, 0, 0, fmt.Errorf("stopped after %s", timeout)
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w: %s", err, strings.TrimSpace(string(b[:min(len(b), 300)])))
	}
	rules, single = countWekaRules(string(b))
	if rules == 0 && !strings.Contains(string(b), "No large itemsets and rules found") && !strings.Contains(string(b), "found 0 rules") {
		return 0, 0, 0, errors.New("no rules in its output")
	}
	return secs, rules, single, nil
}

// countWekaRules counts the rule lines of Weka's output, in all and with
// one item on the right.
func countWekaRules(out string) (rules, single int) {
	for _, m := range wekaRule.FindAllStringSubmatch(out, -1) {
		rules++
		if strings.Count(m[1], "=t") == 1 {
			single++
		}
	}
	return rules, single
}

// writeGroceriesARFF writes the built-in baskets as a sparse ARFF of {f,t}
// attributes (for FPGrowth) and a dense one of {t} attributes with '?' for
// absent items (for Apriori, which skips missing values).
func writeGroceriesARFF(sparse, dense string) error {
	var baskets [][]string
	seen := map[string]bool{}
	var items []string
	sc := bufio.NewScanner(strings.NewReader(string(mining.GroceriesCSV())))
	for sc.Scan() {
		b := strings.Split(strings.TrimRight(sc.Text(), "\r"), ",")
		baskets = append(baskets, b)
		for _, it := range b {
			if !seen[it] {
				seen[it] = true
				items = append(items, it)
			}
		}
	}
	sort.Strings(items)
	index := map[string]int{}
	for i, it := range items {
		index[it] = i
	}
	write := func(path, values string, row func([]int) string) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		fmt.Fprintln(w, "@relation groceries")
		for _, it := range items {
			fmt.Fprintf(w, "@attribute '%s' %s\n", strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(it), values)
		}
		fmt.Fprintln(w, "@data")
		for _, b := range baskets {
			var idx []int
			for _, it := range b {
				idx = append(idx, index[it])
			}
			sort.Ints(idx)
			idx = dedupInts(idx)
			fmt.Fprintln(w, row(idx))
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	err := write(sparse, "{f,t}", func(idx []int) string {
		parts := make([]string, len(idx))
		for i, k := range idx {
			parts[i] = strconv.Itoa(k) + " t"
		}
		return "{" + strings.Join(parts, ",") + "}"
	})
	if err != nil {
		return err
	}
	return write(dense, "{t}", func(idx []int) string {
		cells := make([]string, len(items))
		for i := range cells {
			cells[i] = "?"
		}
		for _, k := range idx {
			cells[k] = "t"
		}
		return strings.Join(cells, ",")
	})
}

func dedupInts(s []int) []int {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// benchRulesGenerated mines rules in process on generated orders: 1 to 5
// lines each from 2,000 products of skewed popularity, with 20 planted
// companion pairs (the companion follows in 40 % of the orders holding the
// first).
func benchRulesGenerated(ctx context.Context, o *benchMiningOptions, out map[string]any) error {
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		return err
	}
	defer w.Close()
	start := time.Now()
	if _, err := w.DB.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE bench_lines AS
WITH orders AS (SELECT range AS o, 1 + CAST(hash(range, 'n') %% 5 AS INTEGER) AS n FROM range(%d)),
lines AS (SELECT o, unnest(range(n)) AS l FROM orders),
drawn AS (SELECT o, l, CAST(floor(2000 * pow((hash(o, l) %% 1000003) / 1000003.0, 2.5)) AS INTEGER) AS p FROM lines)
SELECT o, p AS product FROM drawn
UNION ALL
SELECT o, p + 1000 FROM drawn WHERE p < 20 AND hash(o, l, 'c') %% 10 < 4`, o.orders)); err != nil {
		return fmt.Errorf("bench mining: generate orders: %w", err)
	}
	var lines int64
	if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM bench_lines`).Scan(&lines); err != nil {
		return err
	}
	out["rules_1m_orders"], out["rules_1m_lines"], out["rules_1m_generate_seconds"] = o.orders, lines, time.Since(start).Seconds()
	start = time.Now()
	res, err := mining.MineRules(ctx, w, mining.RulesOptions{Source: mining.Source{Table: "bench_lines", Basket: "o", Item: "product"},
		MinSupport: 0.0005, MinConfidence: 0.3})
	if err != nil {
		return fmt.Errorf("bench mining: generated orders: %w", err)
	}
	out["rules_1m_seconds"], out["rules_1m_mine_seconds"], out["rules_1m_rules"] = time.Since(start).Seconds(), res.MineSeconds, res.RuleCount
	out["rules_1m_params"] = "support 0.0005, confidence 0.3, fpgrowth, with the knowledge-base write"
	o.app.logf("generated %d orders (%d lines): %d rules in %.2fs", o.orders, lines, res.RuleCount, time.Since(start).Seconds())
	return nil
}

// benchKMeansSeed fixes the benchmark's data and initial centroids (the
// seed of TestKMeansVersusScikitLearn).
const benchKMeansSeed = 20261201

// benchKMeans fits k-means k = 8 on o.kmeansRows × 8 standardised rows with
// ckm (the default algorithm) and scikit-learn, alternately o.repeat times
// each, and adds the median fit times, their ratio, the inertias and the
// iteration counts to out. It returns notes on what was skipped; a
// scikit-learn that runs but fails, or an inertia more than 0.1 % off, is
// an error.
func benchKMeans(ctx context.Context, o *benchMiningOptions, dir string, out map[string]any) ([]string, error) {
	p, err := cluster.NewBenchProblem(o.kmeansRows, 8, 8, benchKMeansSeed)
	if err != nil {
		return nil, err
	}
	out["kmeans_rows"], out["kmeans_k"], out["kmeans_threads"] = o.kmeansRows, 8, o.threads
	out["kmeans_params"] = fmt.Sprintf("lloyd iterations with %s bounds, n_init 1, fixed initial centroids, tol %g, max_iter %d", cluster.Hamerly, p.Tol, p.MaxIter)
	var notes []string
	script := ""
	if _, err := os.Stat(o.python); err != nil {
		notes = append(notes, fmt.Sprintf("scikit-learn skipped: %s not found (apt-get install python3-sklearn)", o.python))
	} else if b, err := exec.CommandContext(ctx, o.python, "-c", "import sklearn, threadpoolctl").CombinedOutput(); err != nil {
		notes = append(notes, fmt.Sprintf("scikit-learn skipped: %s has no sklearn (apt-get install python3-sklearn): %s", o.python, strings.TrimSpace(string(b))))
	} else {
		kdir := filepath.Join(dir, "kmeans")
		if err := os.MkdirAll(kdir, 0o755); err != nil {
			return nil, err
		}
		if script, err = p.WriteScikitLearn(kdir); err != nil {
			return nil, err
		}
	}
	var ckmWall, ckmCPU, skWall, skCPU []float64
	var res cluster.Result
	var peer cluster.PeerFit
	for i := 0; i < o.repeat; i++ {
		if script != "" {
			pctx, cancel := context.WithTimeout(ctx, time.Duration(o.peerTimeout)*time.Second)
			peer, err = cluster.RunScikitLearn(pctx, o.python, script, filepath.Dir(script), o.threads)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("bench mining: %w", err)
			}
			skWall, skCPU = append(skWall, peer.FitSeconds), append(skCPU, peer.CPUSeconds)
		}
		var clock cpuClock
		clock.mark()
		var took time.Duration
		if res, took, err = p.Fit(ctx, cluster.Hamerly, o.threads); err != nil {
			return nil, fmt.Errorf("bench mining: k-means: %w", err)
		}
		ckmWall = append(ckmWall, took.Seconds())
		if c, ok := clock.since().(float64); ok {
			ckmCPU = append(ckmCPU, c)
		}
	}
	out["kmeans_seconds"], out["kmeans_seconds_runs"], out["kmeans_inertia"], out["kmeans_iterations"] = medianFloat(ckmWall), ckmWall, res.Inertia, res.Iterations
	if len(ckmCPU) > 0 {
		out["kmeans_cpu_seconds"] = medianFloat(ckmCPU)
	}
	o.app.logf("ckm k-means: inertia %.6f in %d iterations, median fit %.3fs of %v", res.Inertia, res.Iterations, medianFloat(ckmWall), ckmWall)
	if script == "" {
		return notes, nil
	}
	diff := math.Abs(res.Inertia-peer.Inertia) / math.Abs(peer.Inertia)
	out["kmeans_sklearn_seconds"], out["kmeans_sklearn_seconds_runs"], out["kmeans_sklearn_cpu_seconds"] = medianFloat(skWall), skWall, medianFloat(skCPU)
	out["kmeans_sklearn_inertia"], out["kmeans_sklearn_iterations"], out["kmeans_inertia_rel_diff"] = peer.Inertia, peer.Iterations, diff
	out["kmeans_ratio"] = medianFloat(ckmWall) / medianFloat(skWall)
	if len(ckmCPU) > 0 && medianFloat(skCPU) > 0 {
		out["kmeans_cpu_ratio"] = medianFloat(ckmCPU) / medianFloat(skCPU)
	}
	o.app.logf("scikit-learn k-means: inertia %.6f in %d iterations, median fit %.3fs of %v; kmeans_ratio %.3f",
		peer.Inertia, peer.Iterations, medianFloat(skWall), skWall, out["kmeans_ratio"])
	if diff > 1e-3 {
		return nil, fmt.Errorf("bench mining: k-means inertia %v, scikit-learn %v: %.2g apart, more than 0.1 %%", res.Inertia, peer.Inertia, diff)
	}
	if res.Iterations != peer.Iterations {
		notes = append(notes, fmt.Sprintf("k-means took %d iterations, scikit-learn %d", res.Iterations, peer.Iterations))
	}
	return notes, nil
}
