package tree

import (
	"context"
	"math"
	"os"
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
	start := time.Now()
	tr, err := C45(context.Background(), train, C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	ckmBuild := time.Since(start)
	acc, _, _ := tr.Accuracy(test)
	j48, err := RunJ48(context.Background(), "java", jar, "8g", t.TempDir(), train, test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ckm C4.5: build %.2f s, test accuracy %.4f %%, size %d, leaves %d", ckmBuild.Seconds(), 100*acc, tr.Size(), tr.Leaves())
	t.Logf("Weka J48: build %.2f s, test accuracy %.4f %%, size %d, leaves %d", j48.BuildSeconds, j48.TestAccuracy, j48.Size, j48.Leaves)
	t.Logf("tree_ratio %.3f", ckmBuild.Seconds()/j48.BuildSeconds)
	if math.Abs(100*acc-j48.TestAccuracy) > 1 {
		t.Errorf("test accuracy %.4f %%, J48 %.4f %%", 100*acc, j48.TestAccuracy)
	}
}

// TestParseJ48 reads the committed Telco run's figures.
func TestParseJ48(t *testing.T) {
	b, err := os.ReadFile("testdata/telco_j48.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseJ48(string(b))
	if err != nil {
		t.Fatal(err)
	}
	ref := loadJ48(t)
	if r.TestCorrect != ref.TestCorrect || r.TestAccuracy != ref.TestAcc || r.Size != ref.Size || r.Leaves != ref.Leaves || r.BuildSeconds != 0.36 {
		t.Errorf("parsed %+v, want %+v (build 0.36 s)", r, ref)
	}
	if _, err := parseJ48("Exception in thread main"); err == nil {
		t.Error("output without figures: no error")
	}
}
