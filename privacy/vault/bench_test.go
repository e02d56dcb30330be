package vault

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
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

// BenchmarkSeal seals for a few customers in turn (their ciphers stay
// cached) and for 50,000 in shuffled order, as a load's seal statement
// meets them (hash order: nearly every seal a different customer than the
// last 4,096), on DuckDB's threads at once.
func BenchmarkSeal(b *testing.B) {
	for _, c := range []struct {
		name      string
		customers int
		shuffle   bool
	}{{"3000inTurn", 3000, false}, {"50000shuffled", 50000, true}} {
		b.Run(c.name, func(b *testing.B) {
			v := benchVault(b)
			wrapped := make([][]byte, c.customers)
			for i := range wrapped {
				wrapped[i] = v.NewCustomerKey(int64(i))
			}
			order := make([]int, c.customers)
			for i := range order {
				order[i] = i
			}
			if c.shuffle {
				rand.New(rand.NewPCG(1, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := order[int(next.Add(1))%c.customers]
					if _, err := v.Seal(int64(i), wrapped[i], "tmo_abcdefghijklmnopqrstuvwx", "+8613800138000"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
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
