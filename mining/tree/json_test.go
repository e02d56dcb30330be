package tree

import (
	"context"
	"encoding/json"
	"testing"
)

// TestTreeJSONRoundTrip: a tree stored as JSON (as the knowledge base keeps
// it) and read back scores every Telco test row the same and emits the
// same SQL.
func TestTreeJSONRoundTrip(t *testing.T) {
	train, test, _ := loadTelco(t)
	tr, err := C45(context.Background(), train, C45Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var back Tree
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	cols := make([]string, len(tr.Attrs))
	for a, at := range tr.Attrs {
		cols[a] = at.Name
	}
	s1, _ := tr.CaseSQL(cols)
	s2, err := back.CaseSQL(cols)
	if err != nil || s1 != s2 || back.String() != tr.String() {
		t.Fatalf("SQL or printed tree changed through JSON (%v)", err)
	}
	for i := 0; i < test.Rows(); i++ {
		p1, _ := tr.Probabilities(RowOf(test, i))
		p2, _ := back.Probabilities(RowOf(test, i))
		if p1[0] != p2[0] || p1[1] != p2[1] {
			t.Fatalf("row %d: %v before, %v after", i, p1, p2)
		}
	}
}
