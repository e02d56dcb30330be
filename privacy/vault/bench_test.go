package vault

import (
	"fmt"
	"testing"

	"github.com/ckm-dev/ckm/privacy"
)

// The vault's per-value costs, which a protected load pays once per
// distinct key (Token), sealed pair (Seal), new customer and ledger text:
// go test ./privacy/vault/ -run NONE -bench . -benchmem

func benchVault(b *testing.B) *Vault {
	k, err := ParseKEK(NewKEK())
	if err != nil {
		b.Fatal(err)
	}
	v, _, err := NewDataKey(k)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

func BenchmarkToken(b *testing.B) {
	v := benchVault(b)
	for i := 0; b.Loop(); i++ {
		v.Token(privacy.Mobile, fmt.Sprintf("+86138%08d", i%100000))
	}
}

func BenchmarkSeal(b *testing.B) {
	v := benchVault(b)
	const customers = 3000
	wrapped := make([][]byte, customers)
	for i := range wrapped {
		wrapped[i] = v.NewCustomerKey(int64(i))
	}
	for i := 0; b.Loop(); i++ {
		c := i % customers
		if _, err := v.Seal(int64(c), wrapped[c], "tmo_abcdefghijklmnopqrstuvwx", "+8613800138000"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewCustomerKey(b *testing.B) {
	v := benchVault(b)
	for i := 0; b.Loop(); i++ {
		v.NewCustomerKey(int64(i))
	}
}

func BenchmarkSealText(b *testing.B) {
	v := benchVault(b)
	for b.Loop() {
		v.SealText("line 3: 110101199003077777,张三,+8613800138000,some more of the record text here")
	}
}
