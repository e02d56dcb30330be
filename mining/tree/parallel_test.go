package tree

import (
	"context"
	"runtime"
	"testing"
)

// TestParallelBuildEqualsSequential: on 40,000 generated customers (large
// subtrees go to a spare goroutine) the tree equals the one built on a
// single thread, node for node.
func TestParallelBuildEqualsSequential(t *testing.T) {
	ds, err := GenerateChurn(40000, 3)
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	one, err := C45(context.Background(), ds, C45Options{})
	runtime.GOMAXPROCS(max(prev, 2))
	if err != nil {
		t.Fatal(err)
	}
	two, err := C45(context.Background(), ds, C45Options{})
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	if one.Size() < 50 || one.String() != two.String() {
		t.Errorf("one thread: %d nodes; two: %d nodes; printed trees equal: %v", one.Size(), two.Size(), one.String() == two.String())
	}
}
