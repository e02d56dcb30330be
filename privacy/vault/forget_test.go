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

// TestNamedBirth: a record is the customer's by name only with their birth
// date standing alone — not a day that merely starts with it, not the date
// inside an ID number, not the name alone.
func TestNamedBirth(t *testing.T) {
	n := namedBirth{names: []string{"张三"}, births: []string{"1990-01-02", "1990-1-2", "19900102", "1990年1月2日"}}
	for _, c := range []struct {
		record string
		want   bool
	}{
		{`,张三,,,,F,1990-1-2`, true},
		{`,张三,,,,F,1990年1月2日,北京`, true},
		{`crm,张三,19900102`, true},
		{`,张三,,,,F,1990-1-23`, false},
		{`,张三,,,,F,1990-1-20,`, false},
		{`crm,张三,110105199001021234`, false},
		{`,张三,,,,F,1991-01-02`, false},
		{`,李四,,,,F,1990-01-02`, false},
		{`,张三,,,,F,`, false},
	} {
		if got := n.holds(c.record); got != c.want {
			t.Errorf("%s: the customer's = %v, want %v", c.record, got, c.want)
		}
	}
}
