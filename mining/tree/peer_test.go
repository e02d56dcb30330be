package tree

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestGeneratedAgainstJ48 is the issue #13 benchmark on the generated
// feature table, behind CKM_LONG=1 (it needs Debian's weka): 1 million
// generated customers to train on and 200,000 to test, written as ARFF for
// J48 (-C 0.25 -M 2) and built by ckm's C4.5. It logs both build times
// (J48's own "Time taken to build model", JVM start-up excluded), tree_ratio,
// both test accuracies and tree sizes, and asserts the accuracies within 1
// point.
//
//	CKM_LONG=1 go test ./mining/tree -run TestGeneratedAgainstJ48 -count=1 -v -timeout 30m
func TestGeneratedAgainstJ48(t *testing.T) {
	if os.Getenv("CKM_LONG") == "" {
		t.Skip("set CKM_LONG=1 to run C4.5 against Weka J48 on 1 million generated customers")
	}
	const jar = "/usr/share/java/weka.jar"
	if _, err := os.Stat(jar); err != nil {
		t.Skip("no " + jar + " (Debian weka)")
	}
	train, err := GenerateChurn(1_000_000, 1)
	if err != nil {
		t.Fatal(err)
	}
	test, err := GenerateChurn(200_000, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, ds := range map[string]*Dataset{"train": train, "test": test} {
		f, err := os.Create(filepath.Join(dir, name+".arff"))
		if err != nil {
			t.Fatal(err)
		}
		if err := ds.WriteARFF(f, "churn-"+name); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	start := time.Now()
	tr, err := C45(context.Background(), train, C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	ckmBuild := time.Since(start)
	acc, _, _ := tr.Accuracy(test)
	out, err := exec.Command("java", "-Xmx8g", "-cp", jar, "weka.classifiers.trees.J48", "-C", "0.25", "-M", "2",
		"-t", filepath.Join(dir, "train.arff"), "-T", filepath.Join(dir, "test.arff"), "-no-cv").CombinedOutput()
	if err != nil {
		t.Fatalf("J48: %v\n%s", err, out)
	}
	j48Build := firstFloat(t, out, `Time taken to build model: ([0-9.]+) seconds`)
	j48Acc := lastFloat(t, out, `Correctly Classified Instances\s+\d+\s+([0-9.]+) %`)
	j48Size := firstFloat(t, out, `Size of the tree :\s+(\d+)`)
	j48Leaves := firstFloat(t, out, `Number of Leaves\s+:\s+(\d+)`)
	t.Logf("ckm C4.5: build %.2f s, test accuracy %.4f %%, size %d, leaves %d", ckmBuild.Seconds(), 100*acc, tr.Size(), tr.Leaves())
	t.Logf("Weka J48: build %.2f s, test accuracy %.4f %%, size %.0f, leaves %.0f", j48Build, j48Acc, j48Size, j48Leaves)
	t.Logf("tree_ratio %.3f", ckmBuild.Seconds()/j48Build)
	if math.Abs(100*acc-j48Acc) > 1 {
		t.Errorf("test accuracy %.4f %%, J48 %.4f %%", 100*acc, j48Acc)
	}
}

func firstFloat(t *testing.T, out []byte, re string) float64 {
	t.Helper()
	m := regexp.MustCompile(re).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in J48's output:\n%s", re, out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func lastFloat(t *testing.T, out []byte, re string) float64 {
	t.Helper()
	ms := regexp.MustCompile(re).FindAllSubmatch(out, -1)
	if ms == nil {
		t.Fatalf("no %q in J48's output:\n%s", re, out)
	}
	v, _ := strconv.ParseFloat(string(ms[len(ms)-1][1]), 64)
	return v
}
