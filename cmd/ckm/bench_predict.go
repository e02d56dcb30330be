package main

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
	"github.com/ckm-dev/ckm/mining/tree"
)

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchPredictCmd(a, nil) })
}

// benchPredictOptions are what ckm bench predict's flags resolve to.
type benchPredictOptions struct {
	app         *app
	repeat      int    // checked: at least 1
	customers   int    // checked: 0 (skip) or at least 1000
	weka        string // the Weka jar; a missing one skips J48 with a note
	java        string
	python      string // the python with scikit-learn; a missing one skips it with a note
	j48Large    bool   // also run J48 on the generated table (about half an hour at 1M)
	peerTimeout int    // seconds; checked: > 0
}

// newBenchPredictCmd builds ckm bench predict; runF, when not nil, runs
// instead of benchPredictRun with the parsed options.
func newBenchPredictCmd(a *app, runF func(context.Context, *benchPredictOptions) error) *cobra.Command {
	opts := &benchPredictOptions{app: a}
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Time C4.5 against Weka J48 and scikit-learn on Telco, and SQL CASE scoring of a generated million",
		Long: `Decision trees on the built-in Telco churn data (committed 70/30 split):
  tree_seconds, tree_accuracy   ckm's C4.5 build (median of --repeat) and test accuracy (%)
  j48_seconds, j48_accuracy     Weka J48 -C 0.25 -M 2 on the same ARFF split: Weka's own
                                "Time taken to build model" (JVM start-up excluded), median
  tree_ratio                    tree_seconds / j48_seconds (goal <= 1)
  sklearn_*                     scikit-learn DecisionTreeClassifier(entropy, min_samples_leaf=2)
                                on the one-hot split (fit time only)
and on a generated churn feature table of --customers rows (tree.GenerateChurn):
  generated_tree_seconds        C4.5 build; accuracy on 200,000 other generated customers
  case_score_seconds            scoring every row in DuckDB (median of 3) with the SQL CASE of a tree learnt on
                                20,000 of them (goal < 1 s) in its query form, as ckm mine score runs
                                a stored tree (tree.ScoreQuery, params score_query: class and
                                probability; rows with a missing value gathered apart), classes
                                checked against Go's Predict; case_expr_seconds the same with the CASE
                                as one expression over every row (params score_sql);
                                case_plan_seconds is DuckDB planning that expression;
                                case_query_bytes and case_sql_bytes the sizes of the two
  generated_j48_*               J48 on the same table, only with --j48-large (slow).
Peers missing from the machine are skipped with a note. Timings on a shared machine are
noisy: the load average is reported before and after.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.repeat < 1:
				return usageErrorf("--repeat %d: want at least 1", opts.repeat)
			case opts.customers != 0 && opts.customers < 1000:
				return usageErrorf("--customers %d: want 0 (skip) or at least 1000", opts.customers)
			case opts.peerTimeout <= 0:
				return usageErrorf("--peer-timeout %d: want a positive number of seconds", opts.peerTimeout)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchPredictRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.repeat, "repeat", 5, "timed builds on Telco, for ckm and J48 (the median counts)")
	f.IntVar(&opts.customers, "customers", 1000000, "rows of the generated feature table (0: skip it)")
	f.StringVar(&opts.weka, "weka", "/usr/share/java/weka.jar", "the Weka jar (the Debian package's by default)")
	f.StringVar(&opts.java, "java", "java", "the java command for Weka")
	f.StringVar(&opts.python, "python", "/usr/bin/python3", "the python with scikit-learn (Debian python3-sklearn)")
	f.BoolVar(&opts.j48Large, "j48-large", false, "also run J48 on the generated table (about 30 minutes at 1M rows)")
	f.IntVar(&opts.peerTimeout, "peer-timeout", 3600, "stop a peer after this many seconds")
	return cmd
}

func benchPredictRun(ctx context.Context, o *benchPredictOptions) error {
	a := o.app
	dir, err := os.MkdirTemp("", "ckm-bench-predict-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := map[string]any{"load_average_before": loadAverage()}
	var notes []string
	train, test, _, err := mining.TelcoSplit()
	if err != nil {
		return err
	}
	var times []float64
	var tr *tree.Tree
	for i := 0; i < o.repeat; i++ {
		start := time.Now()
		if tr, err = tree.C45(ctx, train, tree.C45Options{}); err != nil {
			return fmt.Errorf("bench predict: %w", err)
		}
		times = append(times, time.Since(start).Seconds())
	}
	acc, _, err := tr.Accuracy(test)
	if err != nil {
		return err
	}
	out["telco_train_rows"], out["telco_test_rows"] = train.Rows(), test.Rows()
	out["tree_seconds"], out["tree_seconds_runs"], out["tree_accuracy"], out["tree_size"] = medianFloat(times), times, 100*acc, tr.Size()
	a.logf("ckm C4.5 on Telco: %.4fs (median of %d), %.2f %% test accuracy, %d nodes", medianFloat(times), o.repeat, 100*acc, tr.Size())

	pctx, cancel := context.WithTimeout(ctx, time.Duration(o.peerTimeout)*time.Second)
	defer cancel()
	if note := o.wekaAvailable(); note != "" {
		notes = append(notes, note)
	} else {
		var j48 []float64
		for i := 0; i < o.repeat; i++ {
			res, err := tree.RunJ48(pctx, o.java, o.weka, "", dir, train, test)
			if err != nil {
				notes = append(notes, "J48 on Telco failed: "+firstLine(err.Error()))
				break
			}
			j48 = append(j48, res.BuildSeconds)
			out["j48_accuracy"], out["j48_size"] = res.TestAccuracy, res.Size
		}
		if len(j48) > 0 {
			out["j48_seconds"], out["j48_seconds_runs"] = medianFloat(j48), j48
			if medianFloat(j48) > 0 {
				out["tree_ratio"] = medianFloat(times) / medianFloat(j48)
			} else {
				notes = append(notes, "J48 reported 0 s to build (Weka rounds to 0.01 s): no tree_ratio")
			}
			a.logf("Weka J48 on Telco: %.2fs (its own build time, median of %d), %.4f %% test accuracy, %d nodes",
				medianFloat(j48), len(j48), out["j48_accuracy"], out["j48_size"])
		}
	}
	if note := o.sklearn(pctx, dir, "sklearn", train, test, out); note != "" {
		notes = append(notes, note)
	}
	if o.customers > 0 {
		notes = append(notes, o.generated(ctx, pctx, dir, out)...)
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

// wekaAvailable returns a note when J48 cannot run.
func (o *benchPredictOptions) wekaAvailable() string {
	if _, err := os.Stat(o.weka); err != nil {
		return fmt.Sprintf("Weka skipped: %s not found (apt-get install weka)", o.weka)
	}
	if _, err := exec.LookPath(o.java); err != nil {
		return fmt.Sprintf("Weka skipped: %s not found", o.java)
	}
	return ""
}

// generated times C4.5 and the SQL CASE on the generated table.
func (o *benchPredictOptions) generated(ctx, pctx context.Context, dir string, out map[string]any) []string {
	a := o.app
	var notes []string
	train, err := tree.GenerateChurn(o.customers, 1)
	if err != nil {
		return []string{"generated table: " + err.Error()}
	}
	test, err := tree.GenerateChurn(200000, 2)
	if err != nil {
		return []string{"generated table: " + err.Error()}
	}
	start := time.Now()
	tr, err := tree.C45(ctx, train, tree.C45Options{})
	if err != nil {
		return []string{"generated C4.5: " + err.Error()}
	}
	secs := time.Since(start).Seconds()
	acc, _, err := tr.Accuracy(test)
	if err != nil {
		return []string{"generated accuracy: " + err.Error()}
	}
	out["generated_customers"], out["generated_tree_seconds"], out["generated_tree_accuracy"], out["generated_tree_size"] = o.customers, secs, 100*acc, tr.Size()
	a.logf("ckm C4.5 on %d generated customers: %.2fs, %.4f %% accuracy on 200,000 others, %d nodes", o.customers, secs, 100*acc, tr.Size())
	// The CASE deployed for scoring is learnt on a sample: DuckDB plans the
	// CASE of a tree of tens of thousands of nodes (the full table's) in
	// minutes, and of one of about a thousand in seconds (both measured).
	sample := train.Subset(firstRows(min(caseSampleRows, train.Rows())))
	scorer, err := tree.C45(ctx, sample, tree.C45Options{})
	if err != nil {
		return []string{"CASE tree: " + err.Error()}
	}
	out["case_tree_rows"], out["case_tree_size"] = sample.Rows(), scorer.Size()
	if err := benchCaseScore(ctx, train, scorer, out); err != nil {
		notes = append(notes, "CASE scoring: "+err.Error())
	} else {
		a.logf("SQL CASE scoring of %d rows in DuckDB (tree of %d nodes from %d rows): %.3fs as a query (%.3fs as one expression, of which planning the CASE about %.3fs)",
			o.customers, scorer.Size(), sample.Rows(), out["case_score_seconds"], out["case_expr_seconds"], out["case_plan_seconds"])
	}
	if note := o.sklearn(pctx, dir, "generated_sklearn", train, test, out); note != "" {
		notes = append(notes, note)
	}
	if !o.j48Large {
		notes = append(notes, "generated J48 skipped (--j48-large: about 30 minutes at 1M rows; committed figures in mining/tree/testdata/generated_j48.json)")
		return notes
	}
	if note := o.wekaAvailable(); note != "" {
		return append(notes, note)
	}
	res, err := tree.RunJ48(pctx, o.java, o.weka, "8g", dir, train, test)
	if err != nil {
		return append(notes, "generated J48 failed: "+firstLine(err.Error()))
	}
	out["generated_j48_seconds"], out["generated_j48_accuracy"], out["generated_j48_size"] = res.BuildSeconds, res.TestAccuracy, res.Size
	if res.BuildSeconds > 0 {
		out["generated_tree_ratio"] = secs / res.BuildSeconds
	}
	return notes
}

// caseSampleRows is how many generated customers the scoring tree learns from.
const caseSampleRows = 20000

func firstRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// benchCaseScore loads the table into an in-memory DuckDB, scores every
// row with the tree's CASE (timed) and checks the classes against Go's
// Predict, row for row.
func benchCaseScore(ctx context.Context, ds *tree.Dataset, tr *tree.Tree, out map[string]any) error {
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		return err
	}
	defer w.Close()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	want, err := loadBenchFeatures(ctx, conn, ds, tr)
	if err != nil {
		return err
	}
	names := make([]string, len(ds.Attrs))
	for i, at := range ds.Attrs {
		names[i] = at.Name
	}
	caseSQL, err := tr.CaseSQL(names)
	if err != nil {
		return err
	}
	// Scored as ckm mine score runs a stored tree's score_query: the
	// class and the positive class's probability of every row.
	sq, err := tr.ScoreQuery(names, tr.Classes[len(tr.Classes)-1])
	if err != nil {
		return err
	}
	query := "WITH ckm_rows AS (SELECT * FROM bench_features)\nSELECT row_id, prediction AS class, probability FROM (\n" + sq + "\n) AS src"
	out["case_query_bytes"] = len(sq)
	return scoreAndCompare(ctx, conn, caseSQL, query, want, out)
}

// loadBenchFeatures appends ds to the temp table bench_features (row_id,
// then the attributes) and returns the class tr predicts for each row.
func loadBenchFeatures(ctx context.Context, conn *sql.Conn, ds *tree.Dataset, tr *tree.Tree) ([]string, error) {
	cols := []string{"row_id BIGINT"}
	for _, at := range ds.Attrs {
		t := "VARCHAR"
		if at.Numeric {
			t = "DOUBLE"
		}
		cols = append(cols, engine.QuoteIdent(at.Name)+" "+t)
	}
	if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE bench_features ("+strings.Join(cols, ", ")+")"); err != nil {
		return nil, err
	}
	app, err := engine.Appender(conn, "bench_features")
	if err != nil {
		return nil, err
	}
	want := make([]string, ds.Rows())
	row := make([]driver.Value, len(ds.Attrs)+1)
	for i := 0; i < ds.Rows(); i++ {
		row[0] = int64(i)
		for a, at := range ds.Attrs {
			switch {
			case at.Numeric && math.IsNaN(ds.Numeric[a][i]):
				row[a+1] = nil
			case at.Numeric:
				row[a+1] = ds.Numeric[a][i]
			case ds.Nominal[a][i] < 0:
				row[a+1] = nil
			default:
				row[a+1] = at.Values[ds.Nominal[a][i]]
			}
		}
		if err := app.AppendRow(row...); err != nil {
			app.Close()
			return nil, err
		}
		c, err := tr.Predict(tree.RowOf(ds, i))
		if err != nil {
			app.Close()
			return nil, err
		}
		want[i] = tr.Classes[c]
	}
	if err := app.Close(); err != nil {
		return nil, err
	}
	return want, nil
}

// scoreAndCompare scores bench_features with the tree's CASE expression
// (case_expr_seconds) and then with its query form, tree.ScoreQuery
// (case_score_seconds: the rows with a missing value gathered before their
// fractional sums), each checked against Go's class on every row.
func scoreAndCompare(ctx context.Context, conn *sql.Conn, caseSQL, query string, want []string, out map[string]any) error {
	score := "SELECT row_id, " + caseSQL + " AS class FROM bench_features"
	start := time.Now()
	if _, err := conn.ExecContext(ctx, "EXPLAIN "+score); err != nil {
		return err
	}
	plan := time.Since(start).Seconds()
	start = time.Now()
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE bench_scores AS "+score); err != nil {
		return err
	}
	out["case_expr_seconds"], out["case_plan_seconds"], out["case_sql_bytes"] = time.Since(start).Seconds(), plan, len(caseSQL)
	if err := compareScores(ctx, conn, "the SQL CASE", want, out); err != nil {
		return err
	}
	var runs []float64
	for r := 0; r < caseScoreRuns; r++ {
		start = time.Now()
		if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE bench_scores AS "+query); err != nil {
			return err
		}
		runs = append(runs, time.Since(start).Seconds())
		if err := compareScores(ctx, conn, "the CASE query", want, out); err != nil {
			return err
		}
	}
	out["case_score_seconds"], out["case_score_seconds_runs"] = medianFloat(runs), runs
	return nil
}

// caseScoreRuns is how many times the scoring query is timed (the median counts).
const caseScoreRuns = 3

// compareScores checks bench_scores(row_id, class) against want.
func compareScores(ctx context.Context, conn *sql.Conn, what string, want []string, out map[string]any) error {
	rows, err := conn.QueryContext(ctx, "SELECT row_id, class FROM bench_scores")
	if err != nil {
		return err
	}
	defer rows.Close()
	agree, n := 0, 0
	for rows.Next() {
		var id int64
		var c string
		if err := rows.Scan(&id, &c); err != nil {
			return err
		}
		n++
		if want[id] == c {
			agree++
		}
	}
	out["case_rows"], out["case_agree_with_go"] = n, agree
	if n != len(want) || agree != n {
		return fmt.Errorf("%s gave Go's class on %d of %d rows (%d scored)", what, agree, len(want), n)
	}
	return rows.Err()
}

// benchTreeSklearn fits scikit-learn's decision tree on one-hot matrices
// written by writeMatrix; it prints the fit time and test accuracy.
const benchTreeSklearn = `import json, os, sys, time
import numpy as np
from sklearn.tree import DecisionTreeClassifier
d = sys.argv[1]
meta = json.load(open(os.path.join(d, "meta.json")))
def load(name, rows):
    X = np.fromfile(os.path.join(d, name + ".x"), dtype="<f8").reshape(rows, meta["cols"])
    y = np.fromfile(os.path.join(d, name + ".y"), dtype="<i1")
    return X, y
X, y = load("train", meta["train"])
Xt, yt = load("test", meta["test"])
clf = DecisionTreeClassifier(criterion="entropy", min_samples_leaf=2, random_state=0)
t0 = time.perf_counter()
clf.fit(X, y)
fit = time.perf_counter() - t0
acc = float((clf.predict(Xt) == yt).mean())
print(json.dumps({"fit_seconds": fit, "accuracy": 100 * acc, "nodes": int(clf.tree_.node_count)}))
`

// sklearn runs the scikit-learn peer on train/test, adding prefix_* keys.
func (o *benchPredictOptions) sklearn(ctx context.Context, dir, prefix string, train, test *tree.Dataset, out map[string]any) string {
	if _, err := exec.LookPath(o.python); err != nil {
		return fmt.Sprintf("scikit-learn skipped: %s not found (apt-get install python3-sklearn)", o.python)
	}
	if err := exec.CommandContext(ctx, o.python, "-c", "import sklearn").Run(); err != nil {
		return fmt.Sprintf("scikit-learn skipped: %s has no sklearn (apt-get install python3-sklearn)", o.python)
	}
	sd := filepath.Join(dir, prefix)
	if err := os.MkdirAll(sd, 0o700); err != nil {
		return prefix + ": " + err.Error()
	}
	cols := oneHotCols(train)
	for name, ds := range map[string]*tree.Dataset{"train": train, "test": test} {
		if err := writeMatrix(filepath.Join(sd, name), ds, cols); err != nil {
			return prefix + ": " + err.Error()
		}
	}
	meta, _ := json.Marshal(map[string]int{"cols": cols, "train": train.Rows(), "test": test.Rows()})
	script := filepath.Join(sd, "tree.py")
	if err := os.WriteFile(filepath.Join(sd, "meta.json"), meta, 0o600); err != nil {
		return prefix + ": " + err.Error()
	}
	if err := os.WriteFile(script, []byte(benchTreeSklearn), 0o600); err != nil {
		return prefix + ": " + err.Error()
	}
	b, err := exec.CommandContext(ctx, o.python, script, sd).Output()
	if err != nil {
		return prefix + " failed: " + firstLine(err.Error())
	}
	var res struct {
		Fit      float64 `json:"fit_seconds"`
		Accuracy float64 `json:"accuracy"`
		Nodes    int     `json:"nodes"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return prefix + " output: " + err.Error()
	}
	out[prefix+"_seconds"], out[prefix+"_accuracy"], out[prefix+"_nodes"] = res.Fit, res.Accuracy, res.Nodes
	o.app.logf("scikit-learn tree (%s): fit %.3fs, %.2f %% accuracy, %d nodes", prefix, res.Fit, res.Accuracy, res.Nodes)
	return ""
}

// oneHotCols is the width of the one-hot matrix: a numeric attribute is one
// column, a nominal one a column per value.
func oneHotCols(ds *tree.Dataset) int {
	n := 0
	for _, at := range ds.Attrs {
		if at.Numeric {
			n++
		} else {
			n += len(at.Values)
		}
	}
	return n
}

// writeMatrix writes ds as little-endian float64 rows (base.x: numeric
// values, missing as −1, which scikit-learn 1.2 needs; nominal values one
// hot, missing all 0) and int8 classes (base.y).
func writeMatrix(base string, ds *tree.Dataset, cols int) error {
	fx, err := os.Create(base + ".x")
	if err != nil {
		return err
	}
	defer fx.Close()
	bw := bufio.NewWriterSize(fx, 1<<20)
	row := make([]float64, cols)
	for i := 0; i < ds.Rows(); i++ {
		k := 0
		for a, at := range ds.Attrs {
			if at.Numeric {
				v := ds.Numeric[a][i]
				if math.IsNaN(v) {
					v = -1
				}
				row[k] = v
				k++
				continue
			}
			for j := range at.Values {
				row[k+j] = 0
			}
			if v := ds.Nominal[a][i]; v >= 0 {
				row[k+v] = 1
			}
			k += len(at.Values)
		}
		if err := binary.Write(bw, binary.LittleEndian, row); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := fx.Close(); err != nil {
		return err
	}
	y := make([]int8, ds.Rows())
	for i, c := range ds.Class {
		y[i] = int8(c)
	}
	fy, err := os.Create(base + ".y")
	if err != nil {
		return err
	}
	defer fy.Close()
	if err := binary.Write(fy, binary.LittleEndian, y); err != nil {
		return err
	}
	return fy.Close()
}
