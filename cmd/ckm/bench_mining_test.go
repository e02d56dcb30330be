package main

import (
	"context"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/spf13/viper"

	"github.com/ckm-dev/ckm/mining/cluster"
)

// TestNewBenchMiningCmd checks what ckm bench mining parses its flags into.
func TestNewBenchMiningCmd(t *testing.T) {
	def := benchMiningOptions{repeat: 3, orders: 1000000, weka: "/usr/share/java/weka.jar", java: "java", wekaApriori: true, peerTimeout: 600,
		kmeansRows: 1000000, python: "/usr/bin/python3", threads: 2}
	every := benchMiningOptions{repeat: 1, orders: 0, weka: "w.jar", java: "/j", wekaApriori: false, peerTimeout: 60,
		kmeansRows: 0, python: "/p", threads: 1}
	cases := []parseCase[benchMiningOptions]{
		{name: "defaults", want: def},
		{name: "every flag", args: []string{"--repeat", "1", "--orders", "0", "--weka", "w.jar", "--java", "/j", "--weka-apriori=false", "--peer-timeout", "60",
			"--kmeans-rows", "0", "--python", "/p", "--threads", "1"}, want: every},
		{name: "repeat zero", args: []string{"--repeat", "0"}, err: "--repeat 0"},
		{name: "few orders", args: []string{"--orders", "10"}, err: "--orders 10"},
		{name: "timeout", args: []string{"--peer-timeout", "0"}, err: "--peer-timeout 0"},
		{name: "few k-means rows", args: []string{"--kmeans-rows", "999"}, err: "--kmeans-rows 999"},
		{name: "threads", args: []string{"--threads", "0"}, err: "--threads 0"},
	}
	checkParse(t, []string{"bench"}, newBenchMiningCmd, []string{"bench", "mining"}, func(o *benchMiningOptions) { o.app = nil }, cases)
}

// The ARFF files Weka reads hold the Groceries baskets: 169 attributes and
// 9,835 data lines, "cream cheese " with its space, and one dense line per
// basket with as many t as distinct items.
func TestGroceriesARFF(t *testing.T) {
	dir := t.TempDir()
	sparse, dense := dir+"/s.arff", dir+"/d.arff"
	if err := writeGroceriesARFF(sparse, dense); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{sparse, dense} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		attrs := strings.Count(s, "@attribute ")
		data := strings.Split(strings.TrimSpace(s[strings.Index(s, "@data\n")+6:]), "\n")
		if attrs != 169 || len(data) != 9835 || !strings.Contains(s, "@attribute 'cream cheese ' ") {
			t.Errorf("%s: %d attributes, %d baskets", f, attrs, len(data))
		}
		if f == dense && strings.Count(data[0], "t") != 4 {
			t.Errorf("first basket (citrus fruit, semi-finished bread, margarine, ready soups): %s", data[0])
		}
		if f == sparse && strings.Count(data[0], " t") != 4 {
			t.Errorf("first basket sparse: %s", data[0])
		}
	}
}

// runWeka's counting of rule lines, on the two output formats (FPGrowth:
// [a=t]: 12 ==> [b=t]: 12 <conf:(1)>; Apriori: a=t 17 ==> b=t c=t 17 conf:(1)).
func TestWekaRuleCount(t *testing.T) {
	out := `FPGrowth found 2 rules (displaying top 2)

  1. [sugar=t, rice=t]: 12 ==> [whole milk=t]: 12   <conf:(1)> lift:(3.91) lev:(0) conv:(8.93)
  2. [a=t]: 12 ==> [whole milk=t, cream cheese =t]: 12   <conf:(1)> lift:(3.91) lev:(0) conv:(8.93)
Apriori
     1. flour=t root vegetables=t whipped/sour cream=t 17 ==> whole milk=t 17    conf:(1)
    10. citrus fruit=t 12 ==> whole milk=t cream cheese =t 12    conf:(1)
`
	if rules, single := countWekaRules(out); rules != 4 || single != 2 {
		t.Errorf("%d rules, %d with one item on the right; want 4 and 2", rules, single)
	}
}

// The k-means part of ckm bench mining on 20,000 rows: its inertia and
// iteration count are those of a Lloyd run without bounds (the test's own
// cluster.KMeans call); without Python the peer is skipped with a note and
// no ratio; with Debian's scikit-learn (when installed) the peer's inertia
// is within 0.1 % and its iteration count equal, and kmeans_ratio is the
// ratio of the two median fit times.
func TestBenchKMeans(t *testing.T) {
	ctx := context.Background()
	p, err := cluster.NewBenchProblem(20000, 8, 8, benchKMeansSeed)
	if err != nil {
		t.Fatal(err)
	}
	lloyd, err := cluster.KMeans(ctx, p.X, cluster.Options{K: 8, Init: p.Init, Tol: p.Tol, MaxIter: p.MaxIter, Algorithm: cluster.Lloyd, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cfg: viper.New(), stdout: io.Discard, stderr: io.Discard}
	pythons := []string{"/nonexistent/python3"}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		pythons = append(pythons, "/usr/bin/python3")
	}
	for _, python := range pythons {
		o := &benchMiningOptions{app: a, repeat: 1, kmeansRows: 20000, python: python, threads: 2, peerTimeout: 120}
		out := map[string]any{}
		notes, err := benchKMeans(ctx, o, t.TempDir(), out)
		if err != nil {
			t.Fatal(err)
		}
		if out["kmeans_iterations"] != lloyd.Iterations || math.Abs(out["kmeans_inertia"].(float64)-lloyd.Inertia) > 1e-9*lloyd.Inertia {
			t.Errorf("%s: inertia %v in %v iterations, Lloyd %v in %d", python, out["kmeans_inertia"], out["kmeans_iterations"], lloyd.Inertia, lloyd.Iterations)
		}
		skipped := len(notes) > 0 && strings.HasPrefix(notes[0], "scikit-learn skipped")
		if python == pythons[0] {
			if !skipped || out["kmeans_ratio"] != nil {
				t.Errorf("no python: notes %q, kmeans_ratio %v", notes, out["kmeans_ratio"])
			}
			continue
		}
		if skipped {
			t.Logf("%s has no scikit-learn: %s", python, notes[0])
			continue
		}
		ratio := out["kmeans_seconds"].(float64) / out["kmeans_sklearn_seconds"].(float64)
		if out["kmeans_sklearn_iterations"] != lloyd.Iterations || out["kmeans_inertia_rel_diff"].(float64) > 1e-3 || out["kmeans_ratio"] != ratio {
			t.Errorf("scikit-learn: %v", out)
		}
	}
}
