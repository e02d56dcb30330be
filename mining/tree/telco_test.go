package tree

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

const (
	telcoCSV   = "../testdata/telco/Telco-Customer-Churn.csv"
	telcoSplit = "../testdata/telco/split_70_30.csv"
)

// telcoSchema reads the Telco columns as telco_arff.py writes them for Weka.
var telcoSchema = Schema{
	Class:   "Churn",
	Numeric: []string{"SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"},
	Ignore:  []string{"customerID"},
}

func readCSV(t testing.TB, path string) Table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return Table{Header: recs[0], Rows: recs[1:]}
}

// loadTelco returns the committed split's train and test sets (value orders
// from the whole file, as in the ARFF files) and the test rows' positions
// in the file.
func loadTelco(t testing.TB) (train, test *Dataset, testRows []int) {
	t.Helper()
	all := readCSV(t, telcoCSV)
	split := readCSV(t, telcoSplit)
	set := map[string]string{}
	for _, r := range split.Rows {
		set[r[0]] = r[1]
	}
	ds, err := FromTable(all, telcoSchema)
	if err != nil {
		t.Fatal(err)
	}
	var tr []int
	for i, r := range all.Rows {
		switch set[r[0]] {
		case "train":
			tr = append(tr, i)
		case "test":
			testRows = append(testRows, i)
		default:
			t.Fatalf("customer %s is in no set", r[0])
		}
	}
	return ds.Subset(tr), ds.Subset(testRows), testRows
}

type j48Ref struct {
	TrainRows   int     `json:"train_rows"`
	TestRows    int     `json:"test_rows"`
	TestCorrect int     `json:"test_correct"`
	TestAcc     float64 `json:"test_accuracy_pct"`
	TrainAcc    float64 `json:"train_accuracy_pct"`
	Leaves      int     `json:"leaves"`
	Size        int     `json:"tree_size"`
	BuildMedian float64 `json:"build_seconds_median"`
}

func loadJ48(t testing.TB) j48Ref {
	b, err := os.ReadFile("testdata/telco_j48.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref j48Ref
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestTelcoAgainstJ48 builds C4.5 on the committed 70/30 Telco split and
// asserts its test accuracy within 1 point of Weka J48's (committed with the
// command in testdata/README.md) — in fact the same tree: size, leaves,
// correct test rows and the printed tree equal J48's line for line.
func TestTelcoAgainstJ48(t *testing.T) {
	ref := loadJ48(t)
	train, test, _ := loadTelco(t)
	if train.Rows() != ref.TrainRows || test.Rows() != ref.TestRows {
		t.Fatalf("%d/%d rows, J48 saw %d/%d", train.Rows(), test.Rows(), ref.TrainRows, ref.TestRows)
	}
	tr, err := C45(context.Background(), train, C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc, right, err := tr.Accuracy(test)
	if err != nil {
		t.Fatal(err)
	}
	trainAcc, _, _ := tr.Accuracy(train)
	t.Logf("C4.5: test %.4f %% (%d/%d), train %.3f %%, size %d, leaves %d; J48: test %.4f %% (%d), train %.3f %%, size %d, leaves %d",
		100*acc, right, test.Rows(), 100*trainAcc, tr.Size(), tr.Leaves(), ref.TestAcc, ref.TestCorrect, ref.TrainAcc, ref.Size, ref.Leaves)
	if math.Abs(100*acc-ref.TestAcc) > 1 {
		t.Errorf("test accuracy %.4f %%, J48 %.4f %%: more than 1 point apart", 100*acc, ref.TestAcc)
	}
	if tr.Size() != ref.Size || tr.Leaves() != ref.Leaves || right != ref.TestCorrect {
		t.Errorf("size %d leaves %d correct %d, J48 %d %d %d", tr.Size(), tr.Leaves(), right, ref.Size, ref.Leaves, ref.TestCorrect)
	}
	if got, want := tr.String(), j48Tree(t); got != want {
		t.Errorf("printed tree differs from J48's:\n%s", firstDiff(got, want))
	}
}

// j48Tree is the pruned tree J48 printed in testdata/telco_j48.txt.
func j48Tree(t *testing.T) string {
	b, err := os.ReadFile("testdata/telco_j48.txt")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "------------------\n\n")
	end := strings.Index(s, "\n\nNumber of Leaves")
	if start < 0 || end < start {
		t.Fatal("no tree in testdata/telco_j48.txt")
	}
	return s[start+len("------------------\n\n"):end] + "\n"
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d: got %q, J48 %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, J48 %d", len(g), len(w))
}
