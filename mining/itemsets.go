package mining

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// baskets are transactions of item codes in compressed rows: the items of
// basket b are items[start[b]:start[b+1]], ascending and without repeats.
// Codes run from 0 to numItems−1; the association operator numbers items by
// descending frequency, which keeps FP-trees small.
type baskets struct {
	start    []int32
	items    []int32
	numItems int
}

func (b *baskets) len() int             { return len(b.start) - 1 }
func (b *baskets) basket(i int) []int32 { return b.items[b.start[i]:b.start[i+1]] }

// itemKey is a map key for a list of item codes.
func itemKey(items []int32) string {
	buf := make([]byte, 0, 4*len(items))
	for _, it := range items {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(it))
	}
	return string(buf)
}

// itemset is a frequent itemset: its item codes ascending and the number
// of baskets holding all of them.
type itemset struct {
	items []int32
	count int
}

func (s itemset) key() string { return itemKey(s.items) }

// ErrTooManyItemsets is returned (wrapped) when mining would hold more
// frequent itemsets than allowed.
var ErrTooManyItemsets = errors.New("too many frequent itemsets")

func tooManyItemsets(limit int) error {
	return fmt.Errorf("%w: more than %d at these thresholds: raise the min support or lower the max length", ErrTooManyItemsets, limit)
}

// checkCtx lets long mining loops stop when the context is cancelled.
func checkCtx(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mining stopped: %w", err)
	}
	return nil
}

// fpGrowth returns every itemset of at most maxLen items held by at least
// minCount baskets (Han, Pei & Yin 2000): one FP-tree of the baskets, then
// conditional trees mined recursively, least frequent item first. The
// items of the first tree are mined on up to GOMAXPROCS goroutines (each
// item's conditional tree is its own; the first tree is only read), their
// itemsets joined in the sequential order.
func fpGrowth(ctx context.Context, b *baskets, minCount, maxLen, limit int) ([]itemset, error) {
	tree := newFPTree(b.numItems, len(b.items))
	for i := 0; i < b.len(); i++ {
		tree.insert(b.basket(i), 1)
	}
	emitted := new(atomic.Int64)
	outs := make([][]itemset, b.numItems)
	next := new(atomic.Int64)
	next.Store(int64(b.numItems))
	workers := min(runtime.GOMAXPROCS(0), 4, max(b.numItems, 1))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				it := int(next.Add(-1))
				if it < 0 {
					return
				}
				m := &fpMiner{ctx: ctx, minCount: minCount, maxLen: maxLen, limit: limit, emitted: emitted}
				if err := m.mineItem(tree, nil, it); err != nil {
					errs[w] = err
					next.Store(-1)
					return
				}
				outs[it] = m.out
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	var out []itemset
	for it := b.numItems - 1; it >= 0; it-- {
		out = append(out, outs[it]...)
	}
	return out, nil
}

// fpTree is an FP-tree in flat arrays; node 0 is the root. Paths are kept
// in ascending item code order. A node's child of an item is found through
// one hash map (a node can have thousands of children: the root has one
// per item).
type fpTree struct {
	item, parent, next []int32
	count              []int
	children           map[uint64]int32 // parent node << 32 | item → child node
	head               []int32          // first node of each item, −1 if none
	total              []int            // count of each item in the tree
}

// newFPTree makes an empty tree with room for about nodes nodes (a hint:
// a conditional tree's paths hold many fewer nodes than their sum, and
// allocating for the sum costs more than growing).
func newFPTree(numItems, nodes int) *fpTree {
	t := &fpTree{head: make([]int32, numItems), total: make([]int, numItems), children: make(map[uint64]int32, nodes),
		item: make([]int32, 0, nodes+1), parent: make([]int32, 0, nodes+1), next: make([]int32, 0, nodes+1), count: make([]int, 0, nodes+1)}
	for i := range t.head {
		t.head[i] = -1
	}
	t.newNode(-1, -1)
	return t
}

func (t *fpTree) newNode(item, parent int32) int32 {
	id := int32(len(t.item))
	t.item = append(t.item, item)
	t.parent = append(t.parent, parent)
	t.count = append(t.count, 0)
	next := int32(-1)
	if item >= 0 {
		next = t.head[item]
		t.head[item] = id
	}
	t.next = append(t.next, next)
	return id
}

// insert adds a path of ascending items with the given count.
func (t *fpTree) insert(items []int32, count int) {
	node := int32(0)
	for _, it := range items {
		key := uint64(node)<<32 | uint64(uint32(it))
		c, ok := t.children[key]
		if !ok {
			c = t.newNode(it, node)
			t.children[key] = c
		}
		t.count[c] += count
		t.total[it] += count
		node = c
	}
}

type fpMiner struct {
	ctx      context.Context
	minCount int
	maxLen   int
	limit    int
	emitted  *atomic.Int64 // itemsets found by every miner of the run
	out      []itemset
	steps    int
}

// mine emits prefix ∪ {item} for every frequent item of the tree (built on
// the baskets holding prefix) and recurses into its conditional tree.
func (m *fpMiner) mine(t *fpTree, prefix []int32) error {
	for it := len(t.head) - 1; it >= 0; it-- {
		if err := m.mineItem(t, prefix, it); err != nil {
			return err
		}
	}
	return nil
}

// mineItem emits prefix ∪ {it} when it is frequent in t and mines its
// conditional tree.
func (m *fpMiner) mineItem(t *fpTree, prefix []int32, it int) error {
	if t.total[it] < m.minCount {
		return nil
	}
	if m.steps++; m.steps%1024 == 0 {
		if err := checkCtx(m.ctx); err != nil {
			return err
		}
	}
	set := append(append(make([]int32, 0, len(prefix)+1), prefix...), int32(it))
	items := append([]int32(nil), set...)
	slices.Sort(items)
	m.out = append(m.out, itemset{items: items, count: t.total[it]})
	if m.emitted.Add(1) > int64(m.limit) {
		return tooManyItemsets(m.limit)
	}
	if len(set) >= m.maxLen {
		return nil
	}
	// The conditional pattern base: the path above each node of it.
	counts := make([]int, it)
	nodes := 0
	for n := t.head[it]; n >= 0; n = t.next[n] {
		for p := t.parent[n]; p > 0; p = t.parent[p] {
			counts[t.item[p]] += t.count[n]
			nodes++
		}
	}
	if nodes == 0 {
		return nil
	}
	cond := newFPTree(it, 0)
	var path []int32
	for n := t.head[it]; n >= 0; n = t.next[n] {
		path = path[:0]
		for p := t.parent[n]; p > 0; p = t.parent[p] {
			if counts[t.item[p]] >= m.minCount {
				path = append(path, t.item[p])
			}
		}
		if len(path) == 0 {
			continue
		}
		for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
			path[i], path[j] = path[j], path[i]
		}
		cond.insert(path, t.count[n])
	}
	return m.mine(cond, set)
}

// apriori returns the same itemsets as fpGrowth level by level (Agrawal &
// Srikant 1994): candidates of k items join two frequent (k−1)-itemsets
// sharing their first k−2 items, are pruned unless every (k−1)-subset is
// frequent, and are counted by intersecting the basket lists of the two.
func apriori(ctx context.Context, b *baskets, minCount, maxLen, limit int) ([]itemset, error) {
	tids := make([][]int32, b.numItems)
	for i := 0; i < b.len(); i++ {
		for _, it := range b.basket(i) {
			tids[it] = append(tids[it], int32(i))
		}
	}
	type level struct {
		sets []itemset
		tids [][]int32
	}
	var cur level
	var out []itemset
	for it, t := range tids {
		if len(t) >= minCount {
			cur.sets = append(cur.sets, itemset{items: []int32{int32(it)}, count: len(t)})
			cur.tids = append(cur.tids, t)
		}
	}
	for k := 1; len(cur.sets) > 0; k++ {
		out = append(out, cur.sets...)
		if k >= maxLen {
			break
		}
		frequent := make(map[string]bool, len(cur.sets))
		for _, s := range cur.sets {
			frequent[s.key()] = true
		}
		var next level
		sub := make([]int32, k)
		for i := 0; i < len(cur.sets); i++ {
			if err := checkCtx(ctx); err != nil {
				return nil, err
			}
			a := cur.sets[i].items
			for j := i + 1; j < len(cur.sets); j++ {
				c := cur.sets[j].items
				if !samePrefix(a, c, k-1) {
					break // sets are sorted: no later set shares the prefix
				}
				cand := append(append(make([]int32, 0, k+1), a...), c[k-1])
				if !allSubsetsFrequent(cand, frequent, sub) {
					continue
				}
				t := intersect(cur.tids[i], cur.tids[j])
				if len(t) >= minCount {
					next.sets = append(next.sets, itemset{items: cand, count: len(t)})
					next.tids = append(next.tids, t)
					if len(out)+len(next.sets) > limit {
						return nil, tooManyItemsets(limit)
					}
				}
			}
		}
		cur = next
	}
	return out, nil
}

func samePrefix(a, b []int32, n int) bool {
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// allSubsetsFrequent checks the subsets of cand leaving out one of its
// first len−2 items (the two others are the joined sets).
func allSubsetsFrequent(cand []int32, frequent map[string]bool, sub []int32) bool {
	for skip := 0; skip < len(cand)-2; skip++ {
		sub = sub[:0]
		for i, it := range cand {
			if i != skip {
				sub = append(sub, it)
			}
		}
		if !frequent[itemKey(sub)] {
			return false
		}
	}
	return true
}

func intersect(a, b []int32) []int32 {
	out := make([]int32, 0, min(len(a), len(b)))
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// assocRule is one association rule with one item on the right, in codes.
type assocRule struct {
	antecedent      []int32
	consequent      int32
	count           int // baskets holding antecedent and consequent
	antecedentCount int
	consequentCount int
}

// ruleMeasures are the interest measures of a rule over n baskets.
type ruleMeasures struct {
	Support, Confidence, Lift, Leverage, Conviction float64
}

func (r assocRule) measures(n int) ruleMeasures {
	nf := float64(n)
	supp := float64(r.count) / nf
	conf := float64(r.count) / float64(r.antecedentCount)
	pc := float64(r.consequentCount) / nf
	conv := math.Inf(1)
	if r.count < r.antecedentCount {
		conv = (1 - pc) / (1 - conf)
	}
	return ruleMeasures{Support: supp, Confidence: conf, Lift: conf / pc,
		Leverage: supp - float64(r.antecedentCount)/nf*pc, Conviction: conv}
}

// makeRules turns frequent itemsets (closed under subsets, as both miners
// return them) into every rule X ⇒ {c} with minLen ≤ |X ∪ {c}| ≤ maxLen and
// count(X ∪ {c}) / count(X) ≥ minConfidence, as arules does; an empty X
// (minLen 1) stands for all n baskets.
func makeRules(ctx context.Context, sets []itemset, n, minLen, maxLen int, minConfidence float64) ([]assocRule, error) {
	counts := make(map[string]int, len(sets))
	single := map[int32]int{}
	for _, s := range sets {
		counts[s.key()] = s.count
		if len(s.items) == 1 {
			single[s.items[0]] = s.count
		}
	}
	var out []assocRule
	ante := make([]int32, 0, maxLen)
	for i, s := range sets {
		if i%4096 == 0 {
			if err := checkCtx(ctx); err != nil {
				return nil, err
			}
		}
		k := len(s.items)
		if k < minLen || k > maxLen {
			continue
		}
		for skip, c := range s.items {
			ante = ante[:0]
			for j, it := range s.items {
				if j != skip {
					ante = append(ante, it)
				}
			}
			aCount := n
			if len(ante) > 0 {
				var ok bool
				if aCount, ok = counts[itemKey(ante)]; !ok {
					return nil, fmt.Errorf("itemset %v has no frequent subset %v: the miner lost a set", s.items, ante)
				}
			}
			if !confident(s.count, aCount, minConfidence) {
				continue
			}
			out = append(out, assocRule{antecedent: append([]int32(nil), ante...), consequent: c,
				count: s.count, antecedentCount: aCount, consequentCount: single[c]})
		}
	}
	return out, nil
}

// confident reports count/antecedent ≥ min, where a ratio that equals min
// in exact arithmetic counts as equal (4/5 ≥ 0.8), as in arules.
func confident(count, antecedent int, min float64) bool {
	return float64(count) >= min*float64(antecedent)*(1-1e-12)
}
