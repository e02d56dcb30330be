package rough

import (
	"fmt"
	"math/bits"
)

// A reduct is a minimal set of condition attributes whose positive region
// equals that of all condition attributes (it decides every object the full
// table decides); the core is the set of attributes in every reduct, i.e.
// those whose removal from the full set shrinks the positive region.

func (t *Table) all() []int {
	js := make([]int, len(t.attrs))
	for j := range js {
		js[j] = j
	}
	return js
}

func (t *Table) names(js []int) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = t.attrs[j]
	}
	return out
}

// Core returns the core attributes in table order.
func (t *Table) Core() []string {
	full := len(t.positive(t.all()))
	var core []int
	for j := range t.attrs {
		if len(t.positive(without(t.all(), j))) < full {
			core = append(core, j)
		}
	}
	return t.names(core)
}

func without(js []int, drop int) []int {
	out := make([]int, 0, len(js))
	for _, j := range js {
		if j != drop {
			out = append(out, j)
		}
	}
	return out
}

// Reduct returns one reduct: starting from the core, it adds the attribute
// that grows the positive region most (ties: table order) until the region
// is that of the full set (QuickReduct), then drops every added attribute
// the region does not need, which makes the set minimal. Attributes come in
// table order. A table whose objects all share one decision has the empty
// reduct.
func (t *Table) Reduct() []string {
	full := len(t.positive(t.all()))
	in := make([]bool, len(t.attrs))
	coreSet := map[string]bool{}
	for _, a := range t.Core() {
		coreSet[a] = true
		in[t.byName[a]] = true
	}
	chosen := func() []int {
		var js []int
		for j, ok := range in {
			if ok {
				js = append(js, j)
			}
		}
		return js
	}
	var added []int
	for len(t.positive(chosen())) < full {
		best, bestPos := -1, -1
		for j := range t.attrs {
			if in[j] {
				continue
			}
			in[j] = true
			if p := len(t.positive(chosen())); p > bestPos {
				best, bestPos = j, p
			}
			in[j] = false
		}
		in[best] = true
		added = append(added, best)
	}
	for i := len(added) - 1; i >= 0; i-- {
		in[added[i]] = false
		if len(t.positive(chosen())) < full {
			in[added[i]] = true
		}
	}
	return t.names(chosen())
}

// MaxAllReductsAttributes bounds AllReducts, which tries subsets of the
// condition attributes (2^k of them at worst).
const MaxAllReductsAttributes = 16

// AllReducts returns every reduct, smallest first (then in table order of
// their attributes), by trying supersets of the core in order of size and
// skipping supersets of reducts already found. Tables with more than
// MaxAllReductsAttributes condition attributes are refused: use Reduct.
func (t *Table) AllReducts() ([][]string, error) {
	k := len(t.attrs)
	if k > MaxAllReductsAttributes {
		return nil, fmt.Errorf("%w: %d condition attributes; all reducts are enumerated for at most %d (use Reduct for one)",
			ErrInput, k, MaxAllReductsAttributes)
	}
	full := len(t.positive(t.all()))
	var core uint32
	for _, a := range t.Core() {
		core |= 1 << t.byName[a]
	}
	var found []uint32
	var out [][]string
	for size := bits.OnesCount32(core); size <= k; size++ {
		for mask := uint32(0); mask < 1<<k; mask++ {
			if bits.OnesCount32(mask) != size || mask&core != core {
				continue
			}
			super := false
			for _, r := range found {
				if mask&r == r {
					super = true
					break
				}
			}
			if super {
				continue
			}
			var js []int
			for j := 0; j < k; j++ {
				if mask&(1<<j) != 0 {
					js = append(js, j)
				}
			}
			if len(t.positive(js)) == full {
				found = append(found, mask)
				out = append(out, t.names(js))
			}
		}
	}
	return out, nil
}
