package vault

import "testing"

// TestLedgerMatchesDirtyForms: forget finds a customer's values in raw
// ledger records however the source wrote them.
func TestLedgerMatchesDirtyForms(t *testing.T) {
	values := []string{"+8613912345678", "13912345678", "11010519491231002X", "110105491231002", "zhang.san@example.com"}
	for _, c := range []struct {
		record string
		want   bool
	}{
		{`{"mobile":"１３９１２３４５６７８"}`, true},
		{`S1,139 1234 5678,P001`, true},
		{`S1,139-1234-5678,P001`, true},
		{`{"email":"Zhang.San@Example.COM"}`, true},
		{`crm,110105491231002,张三`, true},
		{`crm,11010519491231002x,张三`, true},
		{`S1,13912345679,P001`, false},
		{`{"email":"zhang.si@example.com"}`, false},
	} {
		if got := holdsAny(digitsAndLetters(c.record), values); got != c.want {
			t.Errorf("%s: holds a value = %v, want %v", c.record, got, c.want)
		}
	}
}
