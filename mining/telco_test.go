package mining

import (
	"context"
	"testing"

	"github.com/ckm-dev/ckm/mining/tree"
)

// The built-in Telco split is the one J48's committed figures were
// measured on (tree/testdata/telco_j48.json: 4,930 training and 2,113 test
// customers, 1,639 test rows right, 439 nodes).
func TestTelcoSplitBuiltIn(t *testing.T) {
	train, test, all, err := TelcoSplit()
	if err != nil {
		t.Fatal(err)
	}
	if train.Rows() != 4930 || test.Rows() != 2113 || len(all.Rows) != 7043 {
		t.Fatalf("%d/%d of %d rows", train.Rows(), test.Rows(), len(all.Rows))
	}
	tr, err := tree.C45(context.Background(), train, tree.C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, correct, err := tr.Accuracy(test)
	if err != nil || correct != 1639 || tr.Size() != 439 {
		t.Errorf("C4.5: %d right, %d nodes (%v); J48: 1639, 439", correct, tr.Size(), err)
	}
}
